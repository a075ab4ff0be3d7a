"""A province and a district in no seed, declared only in a test season file (seasons/2025zj.yaml):
Zhejiang's own basic-filing / advanced-recognition track over a three-level chain, and Yuhang's own
designation call with its kinds, thresholds and a 7-working-day notice. The same one door, guards and
lifecycle as Tianjin and Qingpu; nothing here or in the product names Zhejiang or Yuhang in code."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlmodel import Session

from models.enums import Role
from models.errors import DeadlinePassed, MaterialsIncomplete, NotEligible, TransitionRefused
from models.settings import get_settings
from models.tables import Application, Enterprise
from programmes.application_file import example
from programmes.tracks import notice_milestone
from states.lifecycle import table_key
from states.service import transition
from tests.programmes.conftest import actor, applicant, make_application, make_enterprise, sh_time

pytestmark = pytest.mark.sqlite_only  # no backend-specific SQL here (see tests/conftest.py)

SEASON = "2025zj"
ZJ_FILES = {"application_form": "浙江省智能工厂申报书.pdf", "maturity_self_assessment": "自评估报告.pdf"}
YH_FILES = {"application_form": "余杭区申报书.pdf", "business_licence": "营业执照.pdf",
            "investment_summary": "投资.pdf"}  # fmt: skip
YH_BLOCK = {"investment_cny": 3_500_000, "built_on": "2025-05-31", "key_links": ["生产作业", "生产管理"],
            "new_it_scenarios": ["工业互联网"], "smart_lines": 3, "no_major_incident_2y": True}  # fmt: skip


@pytest.fixture(autouse=True)
def _test_seasons(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("FACTORY_REVIEW_SEASON_DIRS", str(Path(__file__).resolve().parent / "seasons"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def zj_enterprise(session: Session, **kw: Any) -> Enterprise:
    fields: dict[str, Any] = {"province": "zj", "city": "zj.hangzhou", "district": "zj.hangzhou.xihu",
                              "division": "330106", "recognitions": []}  # fmt: skip
    return make_enterprise(session, **{**fields, **kw})


def zj_application(session: Session, enterprise: Enterprise, name: str, **kw: Any) -> Application:
    return make_application(session, enterprise, name, season=SEASON, materials=ZJ_FILES, **kw)


def yh_enterprise(session: Session, **kw: Any) -> Enterprise:
    fields: dict[str, Any] = {"province": "zj", "city": "zj.hangzhou", "district": "zj.hangzhou.yuhang",
                              "division": "330110", "tax_district": "zj.hangzhou.yuhang",
                              "recognitions": []}  # fmt: skip
    return make_enterprise(session, **{**fields, **kw})


def yh_application(session: Session, enterprise: Enterprise, kind: str = "digital_workshop", **block: Any) -> Any:
    return make_application(session, enterprise, "qingpu-factory", season=SEASON, tier=kind, materials=YH_FILES,
                            qingpu={**YH_BLOCK, **block}, pledge={**example("qingpu-factory")["pledge"]})  # fmt: skip


def fire(session: Session, app: Application, event: str, who: Any, at: str, **kw: Any) -> str:
    return transition(session, app.id, event, actor=who, at=sh_time(at), **kw).to_state  # type: ignore[arg-type]


def test_zhejiang_basic_goes_up_district_city_province_and_is_filed_ZJ_3(session: Session) -> None:
    enterprise = zj_enterprise(session)
    app = zj_application(session, enterprise, "basic-tianjin")
    assert app.chain == ["zj.hangzhou.xihu", "zj.hangzhou", "zj"]
    assert table_key(app.season, app.track, enterprise.jurisdiction) == "2025zj/provincial/zj"
    assert fire(session, app, "submit", applicant(session, enterprise), "2025-09-15 23:00") == "submitted"
    district = actor(session, Role.LOCAL_OFFICER, "zj.hangzhou.xihu")
    assert fire(session, app, "recommend", district, "2025-09-30 10:00") == "local_review"
    city = actor(session, Role.LOCAL_OFFICER, "zj.hangzhou")
    with pytest.raises(TransitionRefused):  # the city is not the last level: it recommends, the province files
        fire(session, app, "file", city, "2025-10-10 10:00")
    assert fire(session, app, "recommend", city, "2025-10-20 10:00") == "local_review"
    assert fire(session, app, "file", actor(session, Role.LOCAL_OFFICER, "zj"), "2025-11-01 10:00") == "filed"


def test_zhejiang_advanced_needs_the_provinces_own_basic_filing_and_checklist_ZJ_2(session: Session) -> None:
    full = {**ZJ_FILES, "benefit_report": "效益报告.pdf"}
    elsewhere = zj_enterprise(session, recognitions=[{"tier": "basic", "by": "tj", "year": 2025}])
    no_basic_here = make_application(session, elsewhere, "advanced-tianjin", season=SEASON, materials=full)
    with pytest.raises(NotEligible) as err:
        fire(session, no_basic_here, "submit", applicant(session, elsewhere), "2025-09-01 10:00")
    assert err.value.rule == "prerequisite-tier" and err.value.source.startswith("ZJ §2(二)")
    enterprise = zj_enterprise(session, recognitions=[{"tier": "basic", "by": "zj", "year": 2024}])
    with pytest.raises(MaterialsIncomplete) as missing:  # advanced lists a benefit report (附件3)
        fire(session, zj_application(session, enterprise, "advanced-tianjin"), "submit", applicant(session, enterprise),
             "2025-09-01 10:00")  # fmt: skip
    assert "benefit_report" in missing.value.message and missing.value.source == "ZJ §3(一) 附件3"
    app = make_application(session, enterprise, "advanced-tianjin", season=SEASON, materials=full)
    fire(session, app, "submit", applicant(session, enterprise), "2025-09-01 10:00")
    fire(session, app, "recommend", actor(session, Role.LOCAL_OFFICER, "zj.hangzhou.xihu"), "2025-09-02 10:00")
    fire(session, app, "recommend", actor(session, Role.LOCAL_OFFICER, "zj.hangzhou"), "2025-09-03 10:00")
    province = actor(session, Role.LOCAL_OFFICER, "zj")
    with pytest.raises(TransitionRefused):  # advanced is reviewed by experts, not filed
        fire(session, app, "file", province, "2025-09-04 10:00")
    assert fire(session, app, "open_expert_review", province, "2025-09-04 10:00") == "expert_review"
    assert fire(session, app, "designate", province, "2025-10-04 10:00") == "designated"


def test_zhejiang_deadlines_and_registration_cite_their_own_clauses(session: Session) -> None:
    enterprise = zj_enterprise(session)
    with pytest.raises(DeadlinePassed) as late:
        fire(session, zj_application(session, enterprise, "basic-tianjin"), "submit", applicant(session, enterprise),
             "2025-09-16 00:00")  # fmt: skip
    assert late.value.source == "ZJ §3(二)1"
    app = zj_application(session, enterprise, "basic-tianjin")
    fire(session, app, "submit", applicant(session, enterprise), "2025-09-10 10:00")
    with pytest.raises(DeadlinePassed) as district_late:
        fire(session, app, "recommend", actor(session, Role.LOCAL_OFFICER, "zj.hangzhou.xihu"), "2025-10-01 09:00")
    assert district_late.value.source == "ZJ §3(二)2"
    outsider = zj_enterprise(session, division="120116")  # a Tianjin credit code in a Zhejiang district
    with pytest.raises(NotEligible) as err:
        fire(session, zj_application(session, outsider, "basic-tianjin"), "submit", applicant(session, outsider),
             "2025-09-10 10:00")  # fmt: skip
    assert err.value.rule == "registered-in-jurisdiction" and err.value.source.startswith("ZJ §2(一)")


def test_yuhang_digital_workshop_designated_after_a_7_working_day_notice_YH_4(session: Session) -> None:
    enterprise = yh_enterprise(session)
    app = yh_application(session, enterprise)
    assert app.chain == ["zj.hangzhou.yuhang"]
    officer = actor(session, Role.LOCAL_OFFICER, "zj.hangzhou.yuhang")
    fire(session, app, "submit", applicant(session, enterprise), "2025-10-31 23:59")
    fire(session, app, "pass_first_check", officer, "2025-11-03 10:00")
    with pytest.raises(TransitionRefused) as short:  # Qingpu's five days are not Yuhang's seven
        fire(session, app, "pass_expert_review", officer, "2025-11-10 10:00", data=notice_milestone(date(2025, 11, 10)))
    assert short.value.source.startswith("YH §4(二)")
    fire(session, app, "pass_expert_review", officer, "2025-11-10 10:00", data=notice_milestone(date(2025, 11, 10), 7))
    session.refresh(app)
    assert app.milestones["notice_closes_on"] == "2025-11-19"
    fire(session, app, "raise_objection", officer, "2025-11-12 10:00", reason="投资额存疑")
    fire(session, app, "dismiss_objection", officer, "2025-11-13 10:00", reason="核实无误")
    with pytest.raises(TransitionRefused):  # still within the notice
        fire(session, app, "designate", officer, "2025-11-19 23:59")
    assert fire(session, app, "designate", officer, "2025-11-20 09:00") == "designated"


@pytest.mark.parametrize(
    ("kind", "block", "enterprise_fields", "rule", "clause"),
    [
        ("digital_workshop", {"investment_cny": 2_999_999}, {}, "investment-threshold", "YH §1(二), §3"),
        ("digital_workshop", {"smart_lines": 2}, {}, "smart-lines", "YH §1(二)"),
        ("digital_workshop", {"built_on": "2025-07-01"}, {}, "built-by", "YH §3"),  # blocks here, warns in Qingpu
        ("digital_workshop", {}, {"tax_district": "zj.hangzhou.xihu"}, "taxed-in-district", "YH §2(一)"),
        (
            "smart_factory",
            {"investment_cny": 9_000_000, "new_it_scenarios": ["5G"]},
            {},
            "new-it-scenario",
            "YH §1(一)",
        ),
        (
            "digital_workshop",
            {},
            {"recognitions": [{"tier": "smart_factory", "by": "zj.hangzhou.yuhang"}]},
            "upgrade-path",
            "YH §1",
        ),
    ],
)
def test_yuhang_call_thresholds_and_clauses_are_its_own_YH(
    session: Session, kind: str, block: dict[str, Any], enterprise_fields: dict[str, Any], rule: str, clause: str
) -> None:
    enterprise = yh_enterprise(session, **enterprise_fields)
    app = yh_application(session, enterprise, kind, **block)
    with pytest.raises(NotEligible) as err:
        fire(session, app, "submit", applicant(session, enterprise), "2025-10-01 10:00")
    assert err.value.rule == rule and err.value.source.startswith(clause)


def test_yuhang_kinds_are_the_calls_own(session: Session) -> None:
    enterprise = yh_enterprise(session)
    with pytest.raises(ValidationError, match="digital_workshop"):  # Qingpu's smart_line is not a Yuhang kind
        yh_application(session, enterprise, "smart_line")
