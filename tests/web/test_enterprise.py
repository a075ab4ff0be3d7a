"""The enterprise's side over HTTP (issue 14): registration and the district's confirmation, the generated
form, drafts, attachments, submission, status, withdrawal, documents — and every bad input refused whole,
with the form back and nothing changed."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.tables import Account, Application, Attachment, AuditEvent, Enterprise
from tests import factories
from tests.web.conftest import PASSWORD, World, csrf_of, sign_in

pytestmark = pytest.mark.sqlite_only  # no backend-specific SQL here (see tests/conftest.py)

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
_SERIAL = iter(range(500_000, 10**6))


@pytest.fixture
def web_app(engine: Engine, world: World, tmp_path: Path) -> Any:
    from web.app import create_app

    app = create_app(engine=engine)
    app.state.attachment_root = tmp_path / "attachments"
    return app


def register_form(client: TestClient, **overrides: str) -> dict[str, str]:
    n = next(_SERIAL)
    form = {"credit_code": factories.credit_code_for("sh.qingpu", n), "name": f"青浦测试企业{n}有限公司",
            "district": "sh.qingpu", "industry": "汽车制造", "contact_name": "王工", "contact_phone": "13800000001",
            "email": f"ent{n}@web.example.cn", "password": PASSWORD, "display_name": "王工",
            "held_tier": "advanced", "held_year": "2024", "above_designated_size": "on", "clean_record_3y": "on",
            "security_controllable": "on", "has_smart_factory_org": "on",
            "csrf_token": csrf_of(client.get("/register").text)}  # fmt: skip
    return {**form, **overrides}


@dataclass
class Registered:
    client: TestClient
    email: str
    code: str
    name: str


def register_and_confirm(client_for: Any, officer_name: str = "qingpu", **overrides: str) -> Registered:
    """Register an enterprise (in 青浦 unless `overrides` say otherwise) and have `officer_name` confirm it."""
    client = client_for(None)
    form = register_form(client, **overrides)
    page = client.post("/register", data=form)
    assert page.status_code == 200 and "等待所在区" in page.text, page.text[:800]
    sign_in(client, form["email"])
    assert "注册待所在区" in client.get("/enterprise").text
    officer = client_for(officer_name)
    console = officer.get("/registrations")
    assert form["name"] in console.text
    with Session(officer.app.state.engine) as session:  # type: ignore[attr-defined]
        account_id = session.scalars(select(Account.id).where(Account.email == form["email"])).one()
    done = officer.post(f"/registrations/{account_id}", data={"decision": "confirm", "reason": "",
                                                              "csrf_token": csrf_of(console.text)})  # fmt: skip
    assert done.status_code == 200 and form["name"] not in done.text
    return Registered(client, form["email"], form["credit_code"], form["name"])


def new_application(reg: Registered, choice: str = "excellent/national") -> int:
    home = reg.client.get("/enterprise")
    response = reg.client.post("/enterprise/applications", data={"choice": choice, "csrf_token": csrf_of(home.text)},
                               follow_redirects=False)  # fmt: skip
    assert response.status_code == 303, response.text[:800]
    return int(response.headers["location"].rsplit("/", 1)[1])


def excellent_form(page_html: str, **overrides: str) -> dict[str, str]:
    form = {"title": "电驱壳体卓越级智能工厂", "maturity_level": "3", "agrees_to_verification": "on",
            "scenarios": "生产作业—人机协同作业—多机协同的壳体柔性加工与检测\n"
                         "生产作业—在线智能检测—基于机器视觉的缺陷检测",
            "ai_scenario_ratio": "33.3", "contact_name": "王工", "contact_mobile": "13800000001",
            "pledge_truthful": "on", "pledge_no_secrets": "on", "pledge_signed_by": "王法人",
            "pledge_signed_on": "2025-07-01", "action": "save", "csrf_token": csrf_of(page_html)}  # fmt: skip
    return {k: v for k, v in {**form, **overrides}.items() if v is not None}


def upload(client: TestClient, app_id: int, key: str, name: str, data: bytes) -> Any:
    page = client.get(f"/enterprise/applications/{app_id}")
    return client.post(f"/enterprise/applications/{app_id}/attachments",
                       data={"material_key": key, "csrf_token": csrf_of(page.text)},
                       files={"file": (name, data, "application/octet-stream")})  # fmt: skip


def upload_all(client: TestClient, app_id: int) -> None:
    for key in ("applicant_basics", "factory_basics", "scenario_construction", "results"):
        assert upload(client, app_id, key, f"{key}.pdf", PDF + key.encode()).status_code == 200


def snapshot(engine: Engine, app_id: int) -> tuple[Any, ...]:
    with Session(engine) as session:
        row = session.get(Application, app_id)
        assert row is not None
        events = session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.application_id == app_id))
        files = session.scalar(select(func.count()).select_from(Attachment).where(Attachment.application_id == app_id))
        return row.state, row.content, row.pledge, row.content_sha256, row.version, events, files


def submit(client: TestClient, app_id: int, **overrides: str) -> Any:
    page = client.get(f"/enterprise/applications/{app_id}")
    return client.post(f"/enterprise/applications/{app_id}", data=excellent_form(page.text, action="submit",
                                                                                  **overrides))  # fmt: skip


# ---- the path that works ------------------------------------------------------------------------------


def test_register_confirm_fill_upload_submit_download(client_for: Any, engine: Engine) -> None:
    reg = register_and_confirm(client_for)
    app_id = new_application(reg)
    page = reg.client.get(f"/enterprise/applications/{app_id}")
    assert "卓越级" in page.text and "线上申报截止：2025-07-11" in page.text and "还剩 6 天" in page.text
    for label in ("典型场景实例", "关键设备数控化率", "真实性承诺", "智能工厂场景建设情况"):
        assert label in page.text  # generated from the season data
    draft = reg.client.post(f"/enterprise/applications/{app_id}",
                            data=excellent_form(page.text, pledge_truthful=None, title="半成品"))  # fmt: skip
    assert draft.status_code == 200 and "草稿已保存" in draft.text and "半成品" in draft.text
    upload_all(reg.client, app_id)
    done = submit(reg.client, app_id)
    assert done.status_code == 200 and "青浦区" in done.text and "审核中" in done.text, done.text[:2000]
    state, content, _, frozen, *_ = snapshot(engine, app_id)
    assert state == "submitted" and frozen and frozen in done.text
    assert "SHA-256" in content["materials"]["results"]  # the attachment's hash is frozen with the content
    pdf = reg.client.get(f"/enterprise/applications/{app_id}/application.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert reg.client.get(f"/enterprise/applications/{app_id}/pledge.pdf").content.startswith(b"%PDF")


def test_returned_reason_resubmit_and_withdraw(client_for: Any, engine: Engine) -> None:
    reg = register_and_confirm(client_for)
    app_id = new_application(reg)
    upload_all(reg.client, app_id)
    assert submit(reg.client, app_id).status_code == 200
    officer = client_for("qingpu")
    page = officer.get(f"/applications/{app_id}")
    officer.post(f"/applications/{app_id}/decide", data={"event": "return_for_revision", "reason": "请补充场景说明",
                                                          "csrf_token": csrf_of(page.text)})  # fmt: skip
    mine = reg.client.get(f"/enterprise/applications/{app_id}")
    assert "请补充场景说明" in mine.text and "修改后重新提交" in mine.text
    again = submit(reg.client, app_id, title="电驱壳体卓越级智能工厂（修订）")
    assert again.status_code == 200 and snapshot(engine, app_id)[0] == "submitted"
    page = reg.client.get(f"/enterprise/applications/{app_id}")
    gone = reg.client.post(f"/enterprise/applications/{app_id}/withdraw",
                           data={"reason": "暂不申报", "csrf_token": csrf_of(page.text)})  # fmt: skip
    assert gone.status_code == 200 and snapshot(engine, app_id)[0] == "withdrawn"
    home = reg.client.get("/enterprise")
    mails = home.text.split("收到的提醒和通知")[1].split("本企业账号")[0]
    assert "<li>" in mails and "@web.example.cn" in mails  # the mails of the submit, the return, the withdrawal


def test_colleague_invited_signs_in_and_sees_the_application(client_for: Any) -> None:
    reg = register_and_confirm(client_for)
    app_id = new_application(reg)
    home = reg.client.get("/enterprise")
    invited = reg.client.post("/enterprise/colleagues", data={"email": "colleague.x@web.example.cn",
                              "display_name": "李工", "csrf_token": csrf_of(home.text)})  # fmt: skip
    assert invited.status_code == 200 and "一次性密码" in invited.text
    password = invited.text.split('id="one-time-password">')[1].split("<")[0]
    colleague = sign_in(client_for(None), "colleague.x@web.example.cn", password)
    assert colleague.get(f"/enterprise/applications/{app_id}").status_code == 200


# ---- bad input: the form back, nothing changed -----------------------------------------------------------


@pytest.mark.parametrize(("field", "value", "message"), [
    ("credit_code", "91310118MA1EXA001X", "check character"),
    ("district", "sh.nowhere", "not a district"),
    ("password", "short", "password"),
])  # fmt: skip
def test_bad_registration_gets_the_form_back(client_for: Any, engine: Engine, field: str, value: str,
                                             message: str) -> None:  # fmt: skip
    client = client_for(None)
    form = register_form(client, **{field: value})
    with Session(engine) as session:
        before = (session.scalar(select(func.count()).select_from(Account)),
                  session.scalar(select(func.count()).select_from(Enterprise)))  # fmt: skip
    page = client.post("/register", data=form)
    assert page.status_code == 422 and message in page.text and 'id="f-credit_code"' in page.text
    assert form["name"] in page.text  # the answers are kept
    with Session(engine) as session:
        after = (session.scalar(select(func.count()).select_from(Account)),
                 session.scalar(select(func.count()).select_from(Enterprise)))  # fmt: skip
    assert before == after


def test_unconfirmed_enterprise_cannot_create(client_for: Any) -> None:
    client = client_for(None)
    form = register_form(client)
    client.post("/register", data=form)
    sign_in(client, form["email"])
    home = client.get("/enterprise")
    refused = client.post("/enterprise/applications", data={"choice": "excellent/national",
                                                            "csrf_token": csrf_of(home.text)})  # fmt: skip
    assert refused.status_code == 403 and "confirm" in refused.text


def test_missing_mandatory_field_on_submit(client_for: Any, engine: Engine) -> None:
    reg = register_and_confirm(client_for)
    app_id = new_application(reg)
    upload_all(reg.client, app_id)
    before = snapshot(engine, app_id)
    page = submit(reg.client, app_id, title="", pledge_truthful=None)
    assert page.status_code == 422 and "请填写或勾选：项目名称" in page.text
    assert 'href="#f-pledge_truthful"' in page.text
    assert snapshot(engine, app_id) == before


def test_malformed_field_refused_even_for_a_draft(client_for: Any, engine: Engine) -> None:
    reg = register_and_confirm(client_for)
    app_id = new_application(reg)
    before = snapshot(engine, app_id)
    page = reg.client.get(f"/enterprise/applications/{app_id}")
    bad = reg.client.post(f"/enterprise/applications/{app_id}",
                          data=excellent_form(page.text, scenarios="火星作业—挖矿—无"))  # fmt: skip
    assert bad.status_code == 422 and "is not a link" in bad.text and "火星作业" in bad.text
    assert snapshot(engine, app_id) == before


@pytest.mark.parametrize(("name", "data", "status", "message"), [
    ("report.pdf", PNG, 422, "文件内容与扩展名不符"),  # a PNG called .pdf
    ("setup.exe", b"MZ\x90\x00", 422, "仅接受"),
    ("fake.xlsx", b"PK\x03\x04not a zip", 422, "文件内容与扩展名不符"),
    ("big.pdf", PDF + b"0" * (10 * 1024 * 1024), 413, "单个文件超过大小上限"),
])  # fmt: skip
def test_bad_upload_refused(client_for: Any, engine: Engine, name: str, data: bytes, status: int,
                            message: str) -> None:  # fmt: skip
    reg = register_and_confirm(client_for)
    app_id = new_application(reg)
    before = snapshot(engine, app_id)
    page = upload(reg.client, app_id, "results", name, data)
    assert page.status_code == status and message in page.text and 'id="application-form"' in page.text
    assert snapshot(engine, app_id) == before


def test_xlsx_and_png_accepted_total_limit_refused(client_for: Any, engine: Engine,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from openpyxl import Workbook

    book, out = Workbook(), io.BytesIO()
    book.save(out)
    reg = register_and_confirm(client_for)
    app_id = new_application(reg)
    assert upload(reg.client, app_id, "results", "kpi.xlsx", out.getvalue()).status_code == 200
    assert upload(reg.client, app_id, "factory_basics", "photo.png", PNG).status_code == 200
    assert zipfile.is_zipfile(io.BytesIO(out.getvalue()))
    monkeypatch.setattr("states.attachments.MAX_APPLICATION_ATTACHMENT_BYTES", len(out.getvalue()) + len(PNG) + 10)
    before = snapshot(engine, app_id)
    page = upload(reg.client, app_id, "applicant_basics", "a.pdf", PDF)
    assert page.status_code == 413 and "附件总大小超过上限" in page.text
    assert snapshot(engine, app_id) == before


def test_double_submit_refused(client_for: Any, engine: Engine) -> None:
    reg = register_and_confirm(client_for)
    app_id = new_application(reg)
    upload_all(reg.client, app_id)
    assert submit(reg.client, app_id).status_code == 200
    before = snapshot(engine, app_id)
    again = submit(reg.client, app_id)
    assert again.status_code == 409 and "frozen" in again.text
    assert snapshot(engine, app_id) == before


def test_submit_after_the_deadline_refused(client_for: Any, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    reg = register_and_confirm(client_for)
    app_id = new_application(reg)
    upload_all(reg.client, app_id)
    before = snapshot(engine, app_id)
    monkeypatch.setenv("FACTORY_REVIEW_NOW", "2025-07-12T09:00:00+08:00")
    page = submit(reg.client, app_id, title="截止后改的名字")
    assert page.status_code == 409 and "closed at the end of 2025-07-11" in page.text and "已截止" in page.text
    assert "430 §1(二)1" in page.text
    assert snapshot(engine, app_id) == before  # the typed title was not saved either


def test_second_enterprise_gets_404(client_for: Any, engine: Engine, world: World) -> None:
    first = register_and_confirm(client_for)
    app_id = new_application(first)
    upload_all(first.client, app_id)
    with Session(engine) as session:
        attachment_id = session.scalars(select(Attachment.id).where(Attachment.application_id == app_id)).first()
    other = client_for("other_enterprise")
    before = snapshot(engine, app_id)
    for path in (f"/enterprise/applications/{app_id}", f"/enterprise/applications/{app_id}/attachments/{attachment_id}",
                 f"/enterprise/applications/{app_id}/application.pdf", f"/applications/{app_id}"):
        assert other.get(path).status_code == 404, path
    home = other.get("/enterprise")
    token = csrf_of(home.text)
    posted = other.post(f"/enterprise/applications/{app_id}",
                        data={"title": "劫持", "action": "save", "csrf_token": token})  # fmt: skip
    assert posted.status_code == 404
    assert other.post(f"/enterprise/applications/{app_id}/attachments", data={"material_key": "results",
                      "csrf_token": token}, files={"file": ("x.pdf", PDF)}).status_code == 404  # fmt: skip
    assert other.post(f"/enterprise/applications/{app_id}/withdraw", data={"csrf_token": token}).status_code == 404
    assert snapshot(engine, app_id) == before
    assert first.client.get(f"/enterprise/applications/{app_id}/attachments/{attachment_id}").content.startswith(PDF)


def test_district_officer_of_another_district_cannot_confirm(client_for: Any, engine: Engine) -> None:
    client = client_for(None)
    form = register_form(client)
    client.post("/register", data=form)
    with Session(engine) as session:
        account_id = session.scalars(select(Account.id).where(Account.email == form["email"])).one()
    minhang = client_for("minhang")
    console = minhang.get("/registrations")
    assert form["name"] not in console.text
    refused = minhang.post(f"/registrations/{account_id}", data={"decision": "confirm",
                                                                 "csrf_token": csrf_of(console.text)})  # fmt: skip
    assert refused.status_code == 404
    qingpu = client_for("qingpu")
    page = qingpu.get("/registrations")
    no_reason = qingpu.post(f"/registrations/{account_id}", data={"decision": "reject", "reason": "",
                                                                  "csrf_token": csrf_of(page.text)})  # fmt: skip
    assert no_reason.status_code == 422 and "reason" in no_reason.text
    with Session(engine) as session:
        account = session.get(Account, account_id)
        assert account is not None and not account.confirmed and account.active
