"""The enterprise's scenario in a real browser (Debian's Chromium, the session's browser), by role and label:

an enterprise registers, the Qingpu district confirms it, the enterprise fills the excellent form over two
sign-ins, uploads its PDFs, is refused a submit after the deadline with the rule's message, submits in
time and downloads its 申报书 PDF, whose text holds its name and the frozen hash.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.tables import Application
from tests import factories
from tests.web.conftest import CHROMIUM, NOW, PASSWORD, World

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"BROWSER TESTS SKIPPED: {CHROMIUM} is missing"),
    pytest.mark.sqlite_only,
]
expect: Any = None
if CHROMIUM.exists():
    from playwright.sync_api import expect

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
MATERIALS = ("申报单位基本信息", "智能工厂基本情况", "智能工厂场景建设情况", "智能工厂建设成效")


@pytest.fixture
def web_app(engine: Engine, world: World, tmp_path: Path) -> Any:
    from web.app import create_app

    app = create_app(engine=engine)
    app.state.attachment_root = tmp_path / "attachments"
    return app


def _page(browser: Any) -> Any:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900}, accept_downloads=True)
    return context.new_page()


def _sign_in(browser: Any, base: str, email: str) -> Any:
    page = _page(browser)
    page.goto(base + "/login")
    page.get_by_label("邮箱").fill(email)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    return page


def _register(browser: Any, base: str, name: str, email: str) -> None:
    page = _page(browser)
    page.goto(base + "/login")
    page.get_by_role("link", name="企业注册").click()
    page.get_by_label("统一社会信用代码（18位）").fill(factories.credit_code_for("sh.qingpu", 990_001).lower())
    page.get_by_label("企业名称").fill(name)
    page.get_by_label("所在区（县）").select_option("sh.qingpu")
    page.get_by_label("已获评的智能工厂梯度").select_option("advanced")
    page.get_by_label("获评年份").fill("2024")
    page.get_by_label("联系人", exact=True).fill("王工")
    page.get_by_label("联系电话（手机号）").fill("13800000009")
    page.get_by_label("登录邮箱").fill(email)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="注册").click()
    expect(page.get_by_role("heading", name="注册已提交")).to_be_visible()
    page.context.close()


def _first_sitting(page: Any) -> None:
    """Create the draft, type the project's basics, save, sign out."""
    page.get_by_label("申报级别").select_option("excellent/national")
    page.get_by_role("button", name="新建申报").click()
    expect(page.locator("#countdown")).to_contain_text("还剩 6 天")
    page.get_by_label("项目名称（必填）").fill("电驱壳体卓越级智能工厂")
    page.get_by_label("智能制造能力成熟度（GB/T 39116-2020 自评等级）（必填）").select_option("3")
    page.get_by_role("button", name="保存草稿").click()
    expect(page.get_by_role("status").filter(has_text="草稿已保存")).to_be_visible()
    page.get_by_role("button", name="退出登录").click()
    page.context.close()


def _second_sitting(page: Any) -> None:
    """Open the saved draft, upload the four chapters, fill in the rest."""
    page.get_by_role("link", name="电驱壳体卓越级智能工厂").click()
    expect(page.get_by_label("项目名称（必填）")).to_have_value("电驱壳体卓越级智能工厂")
    for name in MATERIALS:
        page.get_by_label(f"上传：{name}").set_input_files(
            {"name": f"{name}.pdf", "mimeType": "application/pdf", "buffer": PDF + name.encode()})  # fmt: skip
        page.get_by_role("button", name=f"上传{name}").click()
        expect(page.get_by_role("link", name=f"{name}.pdf")).to_be_visible()
    _fill_the_rest(page)


def _fill_the_rest(page: Any) -> None:
    page.get_by_label("典型场景实例（每行一条：环节—场景—实例）（必填）").fill(
        "生产作业—人机协同作业—多机协同的壳体柔性加工与检测\n生产作业—在线智能检测—基于机器视觉的缺陷检测")
    page.get_by_label("应用人工智能技术场景比例（%）").fill("33.3")
    page.get_by_label(re.compile("真实性承诺）")).check()
    page.get_by_label("申报材料不涉及国家秘密和商业秘密").check()
    page.get_by_label("单位法人（签字）（必填）").fill("王法人")
    page.get_by_label("日期（必填）").fill("2025-07-01")


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return re.sub(r"\s+", "", "".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages))


def test_enterprise_registers_fills_uploads_submits_downloads(
    browser: Any, live_server: str, world: World, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, email = "青浦浏览器测试企业有限公司", "browser.enterprise@web.example.cn"
    _register(browser, live_server, name, email)
    officer = _sign_in(browser, live_server, world.emails["qingpu"])
    officer.get_by_role("link", name="企业注册确认").click()
    officer.get_by_role("button", name=f"确认注册：{name}").click()
    expect(officer.get_by_text("没有待确认的企业注册")).to_be_visible()

    _first_sitting(_sign_in(browser, live_server, email))
    page = _sign_in(browser, live_server, email)
    _second_sitting(page)

    monkeypatch.setenv("FACTORY_REVIEW_NOW", "2025-07-12T09:00:00+08:00")  # one day late
    page.get_by_role("button", name="提交申报").click()
    expect(page.get_by_role("alert")).to_contain_text("closed at the end of 2025-07-11")
    expect(page.locator("#countdown")).to_have_text("已截止")
    monkeypatch.setenv("FACTORY_REVIEW_NOW", NOW)
    page.goto(page.url)  # a fresh GET: the stored draft
    expect(page.get_by_label("单位法人（签字）（必填）")).to_have_value("")  # the late submit saved nothing
    _resubmit_filled(page)

    expect(page.locator("#status")).to_contain_text("审核中")
    frozen = page.locator("#frozen-hash").inner_text().strip()
    with Session(engine) as session:
        assert session.query(Application).filter(Application.content_sha256 == frozen).count() == 1
    with page.expect_download() as download:
        page.get_by_role("link", name="下载申报书 (PDF)").click()
    text = _pdf_text(Path(download.value.path()).read_bytes())
    assert name in text and frozen in text


def _resubmit_filled(page: Any) -> None:
    """The pledge and the scenarios again (the refused submit kept nothing), then submit in time."""
    _fill_the_rest(page)
    page.get_by_role("button", name="提交申报").click()
    expect(page.get_by_role("alert")).to_have_count(0)
