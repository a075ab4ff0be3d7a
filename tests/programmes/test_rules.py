"""Eligibility, materials and deadline guards, each test citing the clause it enforces.

Submission goes through the one door (`states.service.transition`), so a refusal is the guard's typed
error and changes nothing.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import Session

from models.errors import DeadlinePassed, MaterialsIncomplete, NotEligible
from models.tables import Application, Enterprise
from programmes.application_file import ApplicationFile
from programmes.rules import check_ai_ratio, check_eligibility
from programmes.season import get_season
from states.service import transition
from tests.programmes.conftest import T0, applicant, content_for, make_application, make_enterprise, sh_time

pytestmark = pytest.mark.sqlite_only  # no backend-specific SQL here (see tests/conftest.py)

S = get_season("2025")


def submit(session: Session, application: Application, at=T0):  # type: ignore[no-untyped-def]
    enterprise_actor = applicant(session, session.get_one(Enterprise, application.enterprise_id))
    return transition(session, application.id, "submit", actor=enterprise_actor, at=at)  # type: ignore[arg-type]


def test_valid_excellent_example_submits(session: Session) -> None:
    app = make_application(session, make_enterprise(session))
    result = submit(session, app)
    assert result.to_state == "submitted"


@pytest.mark.parametrize(("level", "ok"), [(2, False), (3, True)])
def test_excellent_maturity_minimum_3_要素_一_5(session: Session, level: int, ok: bool) -> None:
    """要素 一.5: 卓越级 maturity level 3 or higher — level 2 refused, level 3 accepted."""
    app = make_application(session, make_enterprise(session), maturity_level=level)
    if ok:
        assert submit(session, app).to_state == "submitted"
    else:
        with pytest.raises(NotEligible) as err:
            submit(session, app)
        assert err.value.rule == "maturity" and "要素 一.5" in err.value.source
        session.refresh(app)
        assert app.state == "draft"


@pytest.mark.parametrize(("ratio", "ok"), [("19.9", False), ("20", True), ("20.0", True)])
def test_excellent_ai_ratio_at_least_20_percent_要素_四_二_1(ratio: str, ok: bool) -> None:
    """要素 四(二)1: 应用人工智能技术场景比例不低于20%, compared exactly (19.9 fails)."""
    if ok:
        check_ai_ratio(S, "excellent", Decimal(ratio))
    else:
        with pytest.raises(NotEligible, match="at least 20"):
            check_ai_ratio(S, "excellent", Decimal(ratio))


@pytest.mark.parametrize(("ratio", "ok"), [("59.99", False), ("60", True)])
def test_leading_ai_ratio_at_least_60_percent_要素_五_二_1(ratio: str, ok: bool) -> None:
    if ok:
        check_ai_ratio(S, "leading", Decimal(ratio))
    else:
        with pytest.raises(NotEligible):
            check_ai_ratio(S, "leading", Decimal(ratio))


def test_ai_ratio_float_input_compared_exactly(session: Session) -> None:
    """19.9 given as a YAML float stays 19.9 (Decimal), never rounds up to 20."""
    app = make_application(session, make_enterprise(session), ai_scenario_ratio=19.9)
    with pytest.raises(NotEligible) as err:
        submit(session, app)
    assert err.value.rule == "ai-scenario-ratio"


def test_excellent_missing_segment_is_a_warning_not_a_block_要素_四_一(session: Session) -> None:
    """要素 四(一): 原则上应覆盖全部五个环节 — recorded for reviewers, submission goes through."""
    scenarios = [s for s in content_for(make_enterprise(session))["scenarios"] if not s.startswith("工厂建设")]
    app = make_application(session, make_enterprise(session), scenarios=scenarios, segments=[])
    result = submit(session, app)
    assert result.to_state == "submitted"
    session.refresh(app)
    assert [w["rule"] for w in app.warnings] == ["segments-in-principle"]
    assert "要素 四(一)" in app.warnings[0]["source"] and "工厂建设" in app.warnings[0]["message"]


def test_leading_must_cover_all_five_segments_要素_五_一(session: Session) -> None:
    enterprise = make_enterprise(session, district="sh.pudong", division="310115",
                                 recognitions=[{"tier": "excellent", "year": 2024, "by": "miit"}])  # fmt: skip
    scenarios = [s for s in content_for(enterprise, "leading")["scenarios"] if not s.startswith("工厂建设")]
    app = make_application(session, enterprise, "leading", scenarios=scenarios, segments=[])
    with pytest.raises(NotEligible) as err:
        submit(session, app)
    assert err.value.rule == "segments" and "须覆盖" in err.value.source


def _check(session: Session, name: str = "excellent", enterprise_fields: dict | None = None, **content) -> None:  # type: ignore[type-arg]
    enterprise = make_enterprise(session, **(enterprise_fields or {}))
    form = ApplicationFile.model_validate(content_for(enterprise, name, **content))
    check_eligibility(get_season(form.season), enterprise, form)


def test_excellent_needs_advanced_first_251_2_1_2(session: Session) -> None:
    """251 §2(一)2: 须已获评先进级智能工厂."""
    with pytest.raises(NotEligible) as err:
        _check(session, enterprise_fields={"recognitions": []})
    assert err.value.rule == "prerequisite-tier" and "251 §2(一)2" in err.value.source


def test_leading_needs_excellent_first_251_3_1_3(session: Session) -> None:
    with pytest.raises(NotEligible, match="prior recognition") as err:
        _check(session, "leading", {"district": "sh.pudong", "division": "310115"})
    assert "251 §3(一)3" in err.value.source


def test_tianjin_leading_needs_2024_miit_excellent_TJ_1_1_3(session: Session) -> None:
    """TJ §1(一)3: 须已获评2024年国家工信部公示的卓越级智能工厂 — a 2023 one doesn't count."""
    tj = {"province": "tj", "district": "tj.binhai", "division": "120116"}
    with pytest.raises(NotEligible) as err:
        _check(session, "leading", {**tj, "recognitions": [{"tier": "excellent", "year": 2023, "by": "miit"}]})
    assert "TJ §1(一)3" in err.value.source
    _check(session, "leading", {**tj, "recognitions": [{"tier": "excellent", "year": 2024, "by": "miit"}]})


@pytest.mark.parametrize(
    ("held", "ok"),
    [
        ({"tier": "advanced", "year": 2024, "by": "tj"}, True),
        ({"tier": "advanced", "year": 2025, "by": "tj", "batch": 1}, True),
        ({"tier": "advanced", "year": 2025, "by": "tj", "batch": 2}, False),
        ({"tier": "advanced", "year": 2023, "by": "tj"}, False),
    ],
)
def test_tianjin_excellent_needs_tianjin_advanced_2024_or_2025_first_batch_TJ_2_1_2(
    session: Session,
    held: dict,
    ok: bool,  # type: ignore[type-arg]
) -> None:
    tj = {"province": "tj", "district": "tj.binhai", "division": "120116", "recognitions": [held]}
    if ok:
        _check(session, enterprise_fields=tj)
    else:
        with pytest.raises(NotEligible, match="prior recognition"):
            _check(session, enterprise_fields=tj)


def test_branch_only_in_petrochemical_or_nonferrous_251_2_1_1(session: Session) -> None:
    """251 §2(一)1: 独立法人资格（石油石化、有色金属等…允许法人的分支机构申报）."""
    with pytest.raises(NotEligible) as err:
        _check(session, enterprise_fields={"is_branch": True, "industry": "汽车零部件"})
    assert err.value.rule == "independent-legal-person"
    _check(session, enterprise_fields={"is_branch": True, "industry": "石油石化"})


def test_registered_in_shanghai_for_430_1_1_1(session: Session) -> None:
    """430 §1(一)1: 申报主体在上海市注册 — a Beijing credit code applying through Shanghai is refused."""
    with pytest.raises(NotEligible) as err:
        _check(session, enterprise_fields={"division": "110105"})
    assert err.value.rule == "registered-in-jurisdiction" and "430" in err.value.source


@pytest.mark.parametrize(
    ("field", "rule", "source"),
    [
        ("above_designated_size", "above-designated-size", "要素 一.1"),
        ("clean_record_3y", "clean-record-3y", "要素 一.2"),
        ("security_controllable", "security-controllable", "要素 一.3"),
        ("has_smart_factory_org", "smart-factory-organisation", "要素 一.4"),
    ],
)
def test_basic_requirements_要素_一(session: Session, field: str, rule: str, source: str) -> None:
    with pytest.raises(NotEligible) as err:
        _check(session, enterprise_fields={field: False})
    assert err.value.rule == rule and err.value.source == source


def test_leading_applicant_must_be_industry_leader_251_3_1_2(session: Session) -> None:
    fields = {"district": "sh.pudong", "division": "310115", "recognitions": [{"tier": "excellent", "by": "miit"}]}
    with pytest.raises(NotEligible, match="leading enterprise"):
        _check(session, "leading", fields, industry_leader=False)


@pytest.mark.parametrize("missing", ["applicant_basics", "factory_basics", "scenario_construction", "results"])
def test_excellent_materials_4_items_附件2(session: Session, missing: str) -> None:
    enterprise = make_enterprise(session)
    materials = {k: v for k, v in content_for(enterprise)["materials"].items() if k != missing}
    app = make_application(session, enterprise, materials=materials)
    with pytest.raises(MaterialsIncomplete) as err:
        submit(session, app)
    assert missing in err.value.message and "附件2" in err.value.source


def test_leading_materials_include_cultivation_plan_附件4(session: Session) -> None:
    enterprise = make_enterprise(session, district="sh.pudong", division="310115",
                                 recognitions=[{"tier": "excellent", "year": 2024, "by": "miit"}])  # fmt: skip
    materials = {k: v for k, v in content_for(enterprise, "leading")["materials"].items() if k != "cultivation_plan"}
    app = make_application(session, enterprise, "leading", materials=materials)
    with pytest.raises(MaterialsIncomplete, match="cultivation_plan") as err:
        submit(session, app)
    assert "附件4" in err.value.source


def test_scenario_must_be_in_the_guide() -> None:
    """附件3: 环节—场景—实例, 环节 and 场景 from the scenario guide."""
    from pydantic import ValidationError

    from programmes.application_file import parse_scenario

    assert parse_scenario("生产作业—人机协同作业—多机协同的发动机壳体柔性加工与检测").segment == "生产作业"
    with pytest.raises(ValueError, match="not a scenario of 生产作业"):
        parse_scenario("生产作业—量子纠缠作业—x")
    with pytest.raises(ValidationError):
        ApplicationFile.model_validate({**content_for_dummy(), "scenarios": ["生产作业—人机协同作业"]})


def content_for_dummy() -> dict:  # type: ignore[type-arg]
    from programmes.application_file import example

    return example("excellent")


# ---- deadlines (end of day, Asia/Shanghai) -----------------------------------------------------


@pytest.mark.parametrize(("at", "ok"), [("2025-07-11 23:59", True), ("2025-07-12 00:00", False)])
def test_shanghai_submission_deadline_end_of_0711_430_1_2_1(session: Session, at: str, ok: bool) -> None:
    """430 §1(二)1: 于2025年7月11日前完成线上申报 — 23:59 Shanghai time is in, 00:00 next day is out."""
    app = make_application(session, make_enterprise(session))
    if ok:
        assert submit(session, app, sh_time(at)).to_state == "submitted"
    else:
        with pytest.raises(DeadlinePassed) as err:
            submit(session, app, sh_time(at))
        assert err.value.rule == "deadline:submit" and "430 §1(二)1" in err.value.source
        assert "2025-07-11" in err.value.message


def test_national_submission_deadline_0718_for_other_provinces_251_2_2_1(session: Session) -> None:
    enterprise = make_enterprise(session, province="gd", city="gd.shenzhen", district=None, division="440300",
                                 recognitions=[{"tier": "advanced", "year": 2024, "by": "gd"}])  # fmt: skip
    app = make_application(session, enterprise)
    assert submit(session, app, sh_time("2025-07-18 23:59")).to_state == "submitted"
