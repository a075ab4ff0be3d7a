"""The application form per tier and track over HTTP (issue 14 item 2): the Qingpu district designation
(its kinds, its own `qingpu` section, its checklist and deadline from the season data), and the leading
(national) and Tianjin advanced (provincial) forms, each rendered from the season data and submitted."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.tables import Application
from programmes.season import get_season
from tests import factories
from tests.web.conftest import PASSWORD, World, csrf_of
from tests.web.test_enterprise import (
    PDF,
    Registered,
    excellent_form,
    new_application,
    register_and_confirm,
    snapshot,
    submit,
    upload,
    web_app,  # noqa: F401  (the fixture that keeps attachments under tmp_path)
)
from web.demo_accounts import grant

pytestmark = pytest.mark.sqlite_only  # no backend-specific SQL here (see tests/conftest.py)

QINGPU_ANSWERS = {"qingpu_investment_cny": "2500000", "qingpu_built_on": "2024-10-31",
                  "qingpu_key_links:生产作业": "on", "qingpu_key_links:生产管理": "on",
                  "qingpu_new_it_scenarios:人工智能": "on", "qingpu_smart_lines": "2",
                  "qingpu_no_major_incident_2y": "on", "title": "电驱壳体智能车间"}  # fmt: skip


def upload_checklist(reg: Registered, app_id: int, tier: str, track: str, unit: str) -> None:
    """One file for every required item of the application's checklist, as the season lists it."""
    from programmes.rules import material_items

    for item in material_items(get_season(), tier, track, unit)[0]:
        if item.required:
            page = upload(reg.client, app_id, item.key, f"{item.key}.pdf", PDF + item.key.encode())
            assert page.status_code == 200, page.text[:800]


def post_form(reg: Registered, app_id: int, answers: dict[str, str]) -> Any:
    """Post the form with these answers (`action` among them: save, or submit)."""
    page = reg.client.get(f"/enterprise/applications/{app_id}")
    return reg.client.post(f"/enterprise/applications/{app_id}", data=excellent_form(page.text, **answers))


def applications_of(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(Application)) or 0)


# ---- the Qingpu district designation --------------------------------------------------------------


def test_qingpu_enterprise_is_offered_the_call_and_gets_its_section(client_for: Any) -> None:
    reg = register_and_confirm(client_for)
    home = reg.client.get("/enterprise")
    call = get_season().district_call("sh.qingpu")
    assert call is not None
    for kind in call.kinds:  # every kind of the call, from the season data
        assert f'value="{kind.kind}/district"' in home.text and kind.label in home.text
    app_id = new_application(reg, "smart_workshop/district")
    page = reg.client.get(f"/enterprise/applications/{app_id}")
    assert page.status_code == 200 and "智能车间申报书" in page.text
    assert "线上申报截止：2025-08-31" in page.text and "QP §5(一)" in page.text
    for f in (f for section in call.form for f in section.fields):  # the call's own questions, with clauses
        assert f.label in page.text and f.source in page.text
    assert "智能车间：不低于2,000,000" in page.text  # the kind's threshold beside the question
    for item in call.materials:  # the call's checklist (QP §4), one upload each
        assert item.name_zh in page.text and f'value="{item.key}"' in page.text
    assert "关键设备数控化率" not in page.text  # 要素 KPIs are not a question of the district call


@pytest.mark.parametrize(("answers", "field", "message"), [
    ({"qingpu_investment_cny": "两百万"}, "qingpu_investment_cny", "累计软硬件总投资（元）：Input should be a valid"),
    ({"qingpu_smart_lines": "-1"}, "qingpu_smart_lines", "智能生产线数量（条）：Input should be greater than"),
    ({"qingpu_built_on": "", "action": "submit"}, "qingpu_built_on", "请填写或勾选：建成投产日期"),
])  # fmt: skip
def test_bad_qingpu_answer_gets_the_form_back_unchanged(client_for: Any, engine: Engine, answers: dict[str, str],
                                                        field: str, message: str) -> None:  # fmt: skip
    reg = register_and_confirm(client_for)
    app_id = new_application(reg, "smart_workshop/district")
    saved = post_form(reg, app_id, QINGPU_ANSWERS)
    assert saved.status_code == 200 and "草稿已保存" in saved.text
    before = snapshot(engine, app_id)
    page = post_form(reg, app_id, {**QINGPU_ANSWERS, **answers})
    assert page.status_code == 422 and message in page.text, page.text[:3000]
    assert f'href="#f-{field}"' in page.text and 'id="e-' + field + '"' in page.text  # the message beside it
    assert "电驱壳体智能车间" in page.text  # the answers are kept
    assert snapshot(engine, app_id) == before


def test_qingpu_enterprise_submits_before_the_call_deadline(client_for: Any, engine: Engine) -> None:
    reg = register_and_confirm(client_for)  # 财税户管地 defaults to the district registered in
    app_id = new_application(reg, "smart_workshop/district")
    upload_checklist(reg, app_id, "smart_workshop", "district", "sh.qingpu")
    done = submit(reg.client, app_id, **QINGPU_ANSWERS)
    assert done.status_code == 200 and "已提交" in done.text, done.text[:3000]
    state, content, pledge, frozen, *_ = snapshot(engine, app_id)
    assert state == "submitted" and frozen and frozen in done.text and pledge["signed_by"] == "王法人"
    assert content["tier"] == "smart_workshop" and content["track"] == "district"
    assert content["qingpu"] == {"investment_cny": 2500000, "built_on": "2024-10-31",
                                 "key_links": ["生产作业", "生产管理"], "new_it_scenarios": ["人工智能"],
                                 "smart_lines": 2, "no_major_incident_2y": True}  # fmt: skip
    page = reg.client.get(f"/enterprise/applications/{app_id}")
    assert 'name="qingpu_key_links:生产作业" checked' in page.text  # the stored block shown back


def test_qingpu_rule_refusal_names_its_clause(client_for: Any, engine: Engine) -> None:
    reg = register_and_confirm(client_for)
    app_id = new_application(reg, "smart_workshop/district")
    upload_checklist(reg, app_id, "smart_workshop", "district", "sh.qingpu")
    before = snapshot(engine, app_id)
    page = submit(reg.client, app_id, **{**QINGPU_ANSWERS, "qingpu_smart_lines": "1"})
    assert page.status_code == 409 and "at least 2 smart production lines" in page.text and "QP §1(二)" in page.text
    assert snapshot(engine, app_id) == before


def test_enterprise_outside_qingpu_is_not_offered_the_call(client_for: Any, engine: Engine) -> None:
    other = client_for("other_enterprise")  # an enterprise of 闵行区
    home = other.get("/enterprise")
    assert home.status_code == 200 and "excellent/national" in home.text
    assert "/district" not in home.text
    before = applications_of(engine)
    forged = other.post("/enterprise/applications", data={"choice": "smart_workshop/district",
                                                          "csrf_token": csrf_of(home.text)})  # fmt: skip
    assert forged.status_code == 409 and "no recommendation chain for sh.minhang (district" in forged.text
    assert 'action="/enterprise/applications"' in forged.text  # the form back
    assert applications_of(engine) == before


# ---- the leading (national) and Tianjin advanced (provincial) forms --------------------------------------

LEADING = {"title": "整车领航级智能工厂", "maturity_level": "4", "ai_scenario_ratio": "66.7", "industry_leader": "on",
           "scenarios": "工厂建设—数字孪生工厂构建—全厂数字孪生\n产品研发—产品数字化设计—整车正向设计\n"
                        "生产作业—人机协同作业—多机协同的车身焊装\n生产管理—车间智能排产—总装智能排产\n"
                        "运营管理—智能经营决策—经营驾驶舱",
           "future_modes": "研发模式创新-创成式设计\n生产方式创新-可重构柔性制造"}  # fmt: skip


def test_leading_form_renders_from_the_season_and_submits(client_for: Any, engine: Engine) -> None:
    reg = register_and_confirm(client_for, held_tier="excellent", held_year="2024")
    app_id = new_application(reg, "leading/national")
    page = reg.client.get(f"/enterprise/applications/{app_id}")
    rule = get_season().tier_rule("leading")
    assert "领航级智能工厂申报书" in page.text and "四、领航级智能工厂培育方案" in page.text
    assert f"不低于{rule.ai_ratio_min}%" in page.text and f"须达到{rule.min_maturity}级及以上" in page.text
    assert "领航级智能工厂培育方案" in page.text and 'value="cultivation_plan"' in page.text  # 附件4 item 4
    upload_checklist(reg, app_id, "leading", "national", "sh.qingpu")
    done = submit(reg.client, app_id, **LEADING)
    assert done.status_code == 200 and "已提交" in done.text, done.text[:3000]
    state, content, *_ = snapshot(engine, app_id)
    assert state == "submitted" and content["future_modes"] == LEADING["future_modes"].split("\n")


def test_leading_without_the_excellent_tier_is_refused_with_the_rule(client_for: Any, engine: Engine) -> None:
    reg = register_and_confirm(client_for)  # holds the advanced tier only
    app_id = new_application(reg, "leading/national")
    upload_checklist(reg, app_id, "leading", "national", "sh.qingpu")
    before = snapshot(engine, app_id)
    page = submit(reg.client, app_id, **LEADING)
    assert page.status_code == 409 and "251 §3(一)3" in page.text and "prerequisite" in page.text, page.text[:3000]
    assert snapshot(engine, app_id) == before


def test_tianjin_advanced_form_renders_from_the_season_and_submits(client_for: Any, engine: Engine,
                                                                  world: World) -> None:  # fmt: skip
    with Session(engine) as session:
        world.emails["binhai"] = "binhai.officer@web.example.cn"
        grant(session, email=world.emails["binhai"], password=PASSWORD, role="local_officer", unit="tj.binhai",
              display_name="滨海新区", at=factories.at("2025-06-01"))  # fmt: skip
        session.commit()
    n = 900_000 + world.minhang_app
    reg = register_and_confirm(client_for, "binhai", district="tj.binhai", held_tier="basic",
                               credit_code=factories.credit_code_for("tj.binhai", n), name=f"天津测试企业{n}有限公司")
    home = reg.client.get("/enterprise")
    assert 'value="advanced/provincial"' in home.text and "/district" not in home.text
    app_id = new_application(reg, "advanced/provincial")
    page = reg.client.get(f"/enterprise/applications/{app_id}")
    checklist = get_season().checklist("advanced", "provincial", "tj.binhai")
    assert checklist is not None and "线上申报截止：2025-07-18" in page.text
    assert all(item.name_zh in page.text for item in checklist.items) and "先进级须达到2级及以上" in page.text
    upload_checklist(reg, app_id, "advanced", "provincial", "tj.binhai")
    done = submit(reg.client, app_id, title="天津先进级智能工厂", scenarios="生产作业—人机协同作业—协同装配\n"
                  "生产管理—车间智能排产—智能排产\n运营管理—智能经营决策—经营分析", ai_scenario_ratio="")  # fmt: skip
    assert done.status_code == 200 and "已提交" in done.text, done.text[:3000]
    assert snapshot(engine, app_id)[0] == "submitted"


def test_taxes_paid_in_another_district_are_refused_with_the_calls_clause(client_for: Any, engine: Engine) -> None:
    reg = register_and_confirm(client_for, tax_district="sh.songjiang")  # registered in 青浦, taxed in 松江
    app_id = new_application(reg, "smart_workshop/district")
    upload_checklist(reg, app_id, "smart_workshop", "district", "sh.qingpu")
    before = snapshot(engine, app_id)
    page = submit(reg.client, app_id, **QINGPU_ANSWERS)
    assert page.status_code == 409 and "taxed-in-district" in page.text and "财税户管地" in page.text
    assert snapshot(engine, app_id) == before
