"""Tianjin provincial track (TJ §3) and Qingpu district track (QP), and the official working-day calendar."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session

from models.enums import Role
from models.errors import CalendarNotCovered, DeadlinePassed, NotEligible, TransitionRefused
from programmes.tracks import notice_milestone
from programmes.workdays import add_working_days
from states.service import transition
from tests.programmes.conftest import actor, applicant, make_application, make_enterprise, sh_time

pytestmark = pytest.mark.sqlite_only  # no backend-specific SQL here (see tests/conftest.py)


def test_five_working_days_from_0926_end_1010_QP_5_2() -> None:
    """QP §5(二) 公示期限为5个工作日: 9/28 (adjusted Sunday), 9/29, 9/30, [National Day], 10/9, 10/10."""
    assert add_working_days(date(2025, 9, 26), 5) == date(2025, 10, 10)


def test_working_days_past_the_calendar_refused_loudly() -> None:
    with pytest.raises(CalendarNotCovered):
        add_working_days(date(2027, 3, 1), 5)
    with pytest.raises(CalendarNotCovered):
        add_working_days(date(2026, 12, 28), 5)  # reaches into 2027


def tj_enterprise(session: Session, district: str = "tj.binhai", division: str = "120116", **kw):  # type: ignore[no-untyped-def]
    return make_enterprise(session, province="tj", district=district, division=division, **kw)


def test_tianjin_basic_filed_by_city_after_district_review_TJ_3_2(session: Session) -> None:
    enterprise = tj_enterprise(session, recognitions=[])
    app = make_application(session, enterprise, "basic-tianjin")
    assert app.chain == ["tj.binhai", "tj"]
    at = sh_time("2025-07-18 10:00")
    transition(session, app.id, "submit", actor=applicant(session, enterprise), at=at)  # type: ignore[arg-type]
    transition(session, app.id, "recommend", actor=actor(session, Role.LOCAL_OFFICER, "tj.binhai"), at=at)  # type: ignore[arg-type]
    with pytest.raises(TransitionRefused):  # basic is filed, not reviewed by experts
        transition(session, app.id, "open_expert_review", actor=actor(session, Role.LOCAL_OFFICER, "tj"), at=at)  # type: ignore[arg-type]
    result = transition(session, app.id, "file", actor=actor(session, Role.LOCAL_OFFICER, "tj"), at=at)  # type: ignore[arg-type]
    assert result.to_state == "filed"


def test_tianjin_advanced_recognised_after_expert_review_and_needs_basic_TJ_3(session: Session) -> None:
    no_basic = tj_enterprise(session, district="tj.xiqing", division="120111", recognitions=[])
    with pytest.raises(NotEligible) as err:
        transition(session, make_application(session, no_basic, "advanced-tianjin").id, "submit",  # type: ignore[arg-type]
                   actor=applicant(session, no_basic), at=sh_time("2025-07-10 10:00"))  # fmt: skip
    assert "251 §1" in err.value.source
    enterprise = tj_enterprise(session, district="tj.xiqing", division="120111",
                               recognitions=[{"tier": "basic", "year": 2025, "by": "self"}])  # fmt: skip
    app = make_application(session, enterprise, "advanced-tianjin")
    at = sh_time("2025-07-20 23:59")
    transition(session, app.id, "submit", actor=applicant(session, enterprise), at=sh_time("2025-07-18 23:59"))  # type: ignore[arg-type]
    transition(session, app.id, "recommend", actor=actor(session, Role.LOCAL_OFFICER, "tj.xiqing"), at=at)  # type: ignore[arg-type]
    city = actor(session, Role.LOCAL_OFFICER, "tj")
    transition(session, app.id, "open_expert_review", actor=city, at=at)  # type: ignore[arg-type]
    assert transition(session, app.id, "designate", actor=city, at=at).to_state == "designated"  # type: ignore[arg-type]


def test_tianjin_submission_closes_0718_no_edits_after_TJ_3_2_1(session: Session) -> None:
    enterprise = tj_enterprise(session, recognitions=[])
    app = make_application(session, enterprise, "basic-tianjin")
    with pytest.raises(DeadlinePassed) as err:
        transition(session, app.id, "submit", actor=applicant(session, enterprise), at=sh_time("2025-07-19 00:00"))  # type: ignore[arg-type]
    assert "TJ §3(二)1" in err.value.source


def qingpu(session: Session, **kw):  # type: ignore[no-untyped-def]
    fields = {"tax_district": "sh.qingpu", "recognitions": []}
    fields.update(kw)
    return make_enterprise(session, **fields)


def test_qingpu_factory_designation_with_5_working_day_notice_QP_5(session: Session) -> None:
    enterprise = qingpu(session)
    app = make_application(session, enterprise, "qingpu-factory")
    assert app.chain == ["sh.qingpu"]
    officer = actor(session, Role.LOCAL_OFFICER, "sh.qingpu")
    transition(session, app.id, "submit", actor=applicant(session, enterprise), at=sh_time("2025-08-31 23:59"))  # type: ignore[arg-type]
    transition(session, app.id, "pass_first_check", actor=officer, at=sh_time("2025-09-10 10:00"))  # type: ignore[arg-type]
    with pytest.raises(TransitionRefused):  # a 4-day notice is refused
        transition(session, app.id, "pass_expert_review", actor=officer, at=sh_time("2025-09-26 10:00"),  # type: ignore[arg-type]
                   data={"milestone": {"notice_opens_on": "2025-09-26", "notice_closes_on": "2025-10-09"}})  # fmt: skip
    transition(session, app.id, "pass_expert_review", actor=officer, at=sh_time("2025-09-26 10:00"),  # type: ignore[arg-type]
               data=notice_milestone(date(2025, 9, 26)))  # fmt: skip
    session.refresh(app)
    assert app.milestones["notice_closes_on"] == "2025-10-10"
    transition(session, app.id, "raise_objection", actor=officer, at=sh_time("2025-10-09 10:00"), reason="投资额存疑")  # type: ignore[arg-type]
    transition(session, app.id, "dismiss_objection", actor=officer, at=sh_time("2025-10-10 10:00"), reason="核实无误")  # type: ignore[arg-type]
    with pytest.raises(TransitionRefused):  # still within the notice
        transition(session, app.id, "designate", actor=officer, at=sh_time("2025-10-10 23:59"))  # type: ignore[arg-type]
    assert (
        transition(session, app.id, "designate", actor=officer, at=sh_time("2025-10-11 09:00")).to_state == "designated"
    )  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "enterprise_fields", "rule"),
    [
        ({"investment_cny": 4_999_999}, {}, "investment-threshold"),  # QP §3(一) 智能工厂 ≥ 500万
        ({"key_links": ["生产作业"]}, {}, "key-links"),  # QP §3(二) 两个及以上重点环节
        ({"new_it_scenarios": []}, {}, "new-it-scenario"),  # QP §1(一)
        ({"no_major_incident_2y": False}, {}, "clean-record-2y"),  # QP §2(一)
        ({}, {"tax_district": "sh.songjiang"}, "taxed-in-district"),  # QP §2(一) 财税户管地
        ({}, {"recognitions": [{"tier": "smart_factory", "by": "sh.qingpu"}]}, "upgrade-path"),  # QP §1
    ],
)
def test_qingpu_eligibility_QP(session: Session, overrides: dict, enterprise_fields: dict, rule: str) -> None:  # type: ignore[type-arg]
    from programmes.application_file import example

    enterprise = qingpu(session, **enterprise_fields)
    block = {**example("qingpu-factory")["qingpu"], **overrides}
    app = make_application(session, enterprise, "qingpu-factory", qingpu=block)
    with pytest.raises(NotEligible) as err:
        transition(session, app.id, "submit", actor=applicant(session, enterprise), at=sh_time("2025-08-01 10:00"))  # type: ignore[arg-type]
    assert err.value.rule == rule and "QP" in err.value.source


def test_qingpu_built_after_2024_is_a_warning_in_principle_QP_3_1(session: Session) -> None:
    from programmes.application_file import example

    enterprise = qingpu(session)
    block = {**example("qingpu-factory")["qingpu"], "built_on": "2025-03-01"}
    app = make_application(session, enterprise, "qingpu-factory", qingpu=block)
    transition(session, app.id, "submit", actor=applicant(session, enterprise), at=sh_time("2025-08-01 10:00"))  # type: ignore[arg-type]
    session.refresh(app)
    assert app.warnings[0]["rule"] == "built-by-in-principle"


def test_qingpu_workshop_needs_two_smart_lines_QP_1_2(session: Session) -> None:
    from programmes.application_file import example

    enterprise = qingpu(session)
    block = {**example("qingpu-factory")["qingpu"], "smart_lines": 1, "investment_cny": 2_000_000}
    app = make_application(session, enterprise, "qingpu-factory", tier="smart_workshop", qingpu=block)
    with pytest.raises(NotEligible) as err:
        transition(session, app.id, "submit", actor=applicant(session, enterprise), at=sh_time("2025-08-01 10:00"))  # type: ignore[arg-type]
    assert err.value.rule == "smart-lines"
