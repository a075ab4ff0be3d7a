"""The scenario in a real browser (Debian's Chromium through pytest-playwright), located by role and label:

a Qingpu district officer signs in, finds the application in the inbox and returns it for revision; the
enterprise resubmits (through the service); the officer approves it in the district's ranked round
(within the district's quota of six); the city (上海市) ranks and recommends it within its quota; an
auditor reads the timeline and sees no decision button.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlmodel import Session

from models.tables import Application, ReviewAssignment
from programmes.season import get_season
from tests import factories
from tests.web.conftest import CHROMIUM, PASSWORD, RULE, Panelled, World

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"BROWSER TESTS SKIPPED: {CHROMIUM} is missing"),
    pytest.mark.sqlite_only,
]
expect: Any = None
if CHROMIUM.exists():
    from playwright.sync_api import expect


def _sign_in(browser: Any, base: str, email: str) -> Any:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(base + "/")
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    page.get_by_label("邮箱").fill(email)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    return page


def _state(engine: Any, application_id: int) -> str:
    with Session(engine) as session:
        row = session.get(Application, application_id)
        assert row is not None
        return row.state


@pytest.fixture
def city_quota(monkeypatch: pytest.MonkeyPatch) -> None:
    """Shanghai's excellent quota needs a statistic the seeds lack (251 §2(二)2); enter it, as an
    administrator would (statistics.entered_quota_excellent)."""
    stat = get_season("2025").statistics["entered_quota_excellent"]
    monkeypatch.setitem(stat.values, "sh", 40)


def test_officers_review_rank_recommend_and_auditor_reads(
    browser: Any, live_server: str, world: World, engine: Any, city_quota: None
) -> None:
    app_id = world.qingpu_app
    officer = _sign_in(browser, live_server, world.emails["qingpu"])
    expect(officer.get_by_role("heading", name="待本单位处理")).to_be_visible()
    officer.get_by_label("名称或信用代码").fill(world.qingpu_code)
    officer.get_by_role("button", name="筛选").click()
    officer.get_by_role("link", name=world.qingpu_name).click()
    officer.get_by_label("理由").fill("请补充典型场景实例的佐证材料")
    officer.get_by_role("button", name="退回修改").click()
    expect(officer.get_by_role("status")).to_contain_text("已办理")
    expect(officer.locator("#state")).to_have_text("退回修改")

    with Session(engine, expire_on_commit=False) as session:  # the enterprise resubmits through the service
        factories.fire(session, app_id, "resubmit", when=factories.at("2025-07-04"))
    assert _state(engine, app_id) == "submitted"

    officer.goto(live_server + "/rank?tier=excellent")
    expect(officer.get_by_role("region", name="推荐名额")).to_contain_text("上限 6")
    officer.get_by_role("button", name="按以上顺序一并推荐").click()
    expect(officer.get_by_role("status")).to_contain_text("已办理")
    assert _state(engine, app_id) == "local_review"

    city = _sign_in(browser, live_server, world.emails["city"])
    city.goto(live_server + "/rank?tier=excellent")
    expect(city.get_by_role("region", name="推荐名额")).to_contain_text("上限 40")
    city.get_by_label(re.compile("推荐顺序 " + re.escape(world.qingpu_name))).fill("1")
    city.get_by_role("button", name="按以上顺序一并推荐").click()
    expect(city.get_by_role("status")).to_contain_text("已办理")
    assert _state(engine, app_id) == "recommended"

    auditor = _sign_in(browser, live_server, world.emails["auditor"])
    auditor.goto(f"{live_server}/applications/{app_id}")
    expect(auditor.get_by_text("审计视图（只读）")).to_be_visible()
    timeline = auditor.get_by_role("table")
    for event in ("return_for_revision", "resubmit", "recommend"):
        expect(timeline.get_by_role("cell", name=event, exact=True).first).to_be_visible()
    expect(auditor.locator("#chain-status")).to_have_text("审计链校验通过")
    expect(auditor.get_by_role("button", name=re.compile("退回|推荐|不予|通过"))).to_have_count(0)
    expect(auditor.locator("form[method=post]:not([action='/logout'])")).to_have_count(0)


def test_an_expert_fills_the_review_form_by_its_labels(
    browser: Any, live_server: str, panelled: Panelled, engine: Any
) -> None:
    """The expert lands on 我的评审, opens the review, scores each criterion by its label, recommends and
    submits; the page then says the review is final."""
    expert = _sign_in(browser, live_server, panelled.experts["first"].email)
    expect(expert.get_by_role("heading", name="我的评审")).to_be_visible()
    expert.get_by_role("row").filter(has_text="材料评审").get_by_role("link").click()
    for criterion in RULE.criteria:
        expert.get_by_label(re.compile("^" + re.escape(criterion.label + "（"))).fill("80")
    expert.get_by_label("建议通过").check()
    expert.get_by_role("button", name="提交评审意见").click()
    expect(expert.get_by_role("status")).to_contain_text("已办理")
    expect(expert.locator("#final")).to_contain_text("评审意见已提交，不可修改")
    with Session(engine) as session:
        review = session.get(ReviewAssignment, panelled.reviews["first"])
        assert review is not None and review.status == "submitted" and review.recommendation == "pass"
