"""The web door over HTTP (FastAPI's TestClient): sign-in, CSRF, size limit, health, and the authorisation
matrix — every route × role × scope."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.tables import Application
from tests.web.conftest import World, csrf_of, sign_in


def state_of(engine: Engine, application_id: int) -> str:
    """Read with a short session of its own (a held SQLite transaction would block the app's writes)."""
    with Session(engine) as session:
        row = session.get(Application, application_id)
        assert row is not None
        return row.state


def test_healthz_and_redirect_to_chinese_sign_in(client_for: Any) -> None:
    client = client_for(None)
    assert client.get("/healthz").json() == {"status": "ok"}
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    page = client.get("/")
    assert "登录" in page.text and 'lang="zh-CN"' in page.text


def test_session_cookie_is_signed_httponly_samesite(web_app: Any, world: World) -> None:
    from fastapi.testclient import TestClient

    client = TestClient(web_app)
    page = client.get("/login")
    response = client.post("/login", data={"email": world.emails["qingpu"], "password": "correct horse battery staple",
                                           "csrf_token": csrf_of(page.text)}, follow_redirects=False)  # fmt: skip
    cookie = response.headers["set-cookie"]
    assert "fr_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie and "Max-Age=" in cookie
    token = client.cookies["fr_session"]
    client.cookies.set("fr_session", token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    assert client.get("/inbox", follow_redirects=False).status_code == 303  # tampered: signed out


def test_post_without_csrf_is_refused(client_for: Any, world: World, engine: Engine) -> None:
    client = client_for("qingpu")
    response = client.post(f"/applications/{world.qingpu_app}/decide",
                           data={"event": "return_for_revision", "reason": "缺材料"})  # fmt: skip
    assert response.status_code == 403
    assert state_of(engine, world.qingpu_app) == "submitted"
    login = client_for(None)
    assert login.post("/login", data={"email": "x@y.cn", "password": "p"}).status_code == 403


def test_wrong_password_then_lock_out(client_for: Any, world: World) -> None:
    client = client_for(None)
    for _ in range(5):
        page = client.get("/login")
        bad = client.post("/login", data={"email": world.emails["minhang"], "password": "wrong",
                                          "csrf_token": csrf_of(page.text)})  # fmt: skip
        assert bad.status_code == 401 and "登录" in bad.text
    page = client.get("/login")
    locked = client.post("/login", data={"email": world.emails["minhang"], "password": "correct horse battery staple",
                                         "csrf_token": csrf_of(page.text)})  # fmt: skip
    assert locked.status_code == 401 and "lock-out" in locked.text


def test_big_post_refused_before_it_is_read(client_for: Any) -> None:
    client = client_for(None)
    declared = client.post("/login", content=b"x" * 10, headers={"content-length": str(50 * 1024 * 1024)})
    assert declared.status_code == 413

    def chunks() -> Any:
        for _ in range(60):
            yield b"y" * (1024 * 1024)

    streamed = client.post("/login", content=chunks(), headers={"content-type": "application/x-www-form-urlencoded"})
    assert streamed.status_code == 413


def test_bad_form_value_gets_the_form_back(client_for: Any, world: World) -> None:
    client = client_for("qingpu")
    page = client.get(f"/applications/{world.qingpu_app}")
    form = {"event": "return_for_revision", "reason": "  ", "csrf_token": csrf_of(page.text)}
    response = client.post(f"/applications/{world.qingpu_app}/decide", data=form)
    assert response.status_code == 422 and 'id="f-reason"' in response.text and "Traceback" not in response.text
    assert client.get("/inbox?page=abc").status_code == 422


def test_refusal_is_one_line_with_clause(client_for: Any, world: World) -> None:
    client = client_for("qingpu")
    page = client.get(f"/applications/{world.qingpu_app}")
    response = client.post(f"/applications/{world.qingpu_app}/decide",
                           data={"event": "accept", "reason": "试试", "csrf_token": csrf_of(page.text)})  # fmt: skip
    assert response.status_code == 409
    assert "[lifecycle; " in response.text  # the rule and its clause beside the form


def test_inbox_waits_on_my_unit_with_deadline(client_for: Any, world: World) -> None:
    text = client_for("qingpu").get("/inbox").text
    assert world.qingpu_name in text and "2025-07-11" in text and "6 天" in text
    assert f'/applications/{world.minhang_app}"' not in text
    found = client_for("city").get(f"/inbox?view=all&q={world.qingpu_code}").text
    assert f'/applications/{world.qingpu_app}"' in found and f'/applications/{world.minhang_app}"' not in found
    csv = client_for("qingpu").get("/inbox.csv")
    assert csv.content.startswith("\ufeff".encode()) and world.qingpu_name in csv.content.decode("utf-8-sig")
    assert client_for("qingpu").get("/inbox.xlsx").content[:2] == b"PK"


# ---- the authorisation matrix ---------------------------------------------------------------------------

ROLES = ("anonymous", "qingpu", "minhang", "city", "auditor", "ministry", "enterprise", "other_enterprise")
# route → expected status per role (anonymous pages redirect to sign-in: 303)
MATRIX: dict[str, dict[str, int]] = {
    "/inbox": {r: 200 for r in ROLES} | {"anonymous": 303},
    "/applications/{mine}": {"anonymous": 303, "qingpu": 200, "minhang": 404, "city": 200, "auditor": 200,
                             "ministry": 200, "enterprise": 200, "other_enterprise": 404},
    "/applications/{other}": {"anonymous": 303, "qingpu": 404, "minhang": 200, "city": 200, "auditor": 200,
                              "ministry": 200, "enterprise": 404, "other_enterprise": 200},
    "/applications/999999": {r: 404 for r in ROLES} | {"anonymous": 303},
    "/rank": {r: 404 for r in ROLES} | {"anonymous": 303, "qingpu": 200, "minhang": 200, "city": 200},
    "/audit": {r: 404 for r in ROLES} | {"anonymous": 303, "auditor": 200, "ministry": 200},
    "/audit/export.zip": {r: 404 for r in ROLES} | {"anonymous": 303, "ministry": 200},
    "/dashboard": {r: 200 for r in ROLES} | {"anonymous": 303, "enterprise": 404, "other_enterprise": 404},
    "/inbox.csv": {r: 200 for r in ROLES} | {"anonymous": 303},
}  # fmt: skip


@pytest.mark.parametrize("role", ROLES)
def test_authorisation_matrix_pages(client_for: Any, world: World, role: str) -> None:
    client = client_for(None if role == "anonymous" else role)
    for route, expected in MATRIX.items():
        url = route.format(mine=world.qingpu_app, other=world.minhang_app)
        got = client.get(url, follow_redirects=False).status_code
        assert got == expected[role], f"{role} GET {url}: {got}, expected {expected[role]}"


DECIDE = {"anonymous": 303, "qingpu": 303, "minhang": 404, "city": 403, "auditor": 403, "ministry": 403,
          "enterprise": 403, "other_enterprise": 404}  # fmt: skip


@pytest.mark.parametrize("role", ROLES)
def test_authorisation_matrix_decide(client_for: Any, world: World, engine: Engine, role: str) -> None:
    """return_for_revision on a Qingpu application: only Qingpu's officer; out of scope is 404."""
    client = client_for(None if role == "anonymous" else role)
    csrf = csrf_of(client.get("/login").text)
    response = client.post(f"/applications/{world.qingpu_app}/decide", follow_redirects=False,
                           data={"event": "return_for_revision", "reason": "材料不全", "csrf_token": csrf})  # fmt: skip
    assert response.status_code == DECIDE[role], response.text[:300]
    assert state_of(engine, world.qingpu_app) == ("returned" if role == "qingpu" else "submitted")


def test_auditor_page_has_no_changing_form(client_for: Any, world: World) -> None:
    html = client_for("auditor").get(f"/applications/{world.qingpu_app}").text
    assert "/decide" not in html and "/rank" not in html and "审计链校验通过" in html
    assert sign_in  # the auditor signed in through the same form as everyone


def test_english_switch_and_dashboard_charts(client_for: Any, world: World) -> None:
    client = client_for("city")
    assert "待本单位处理" in client.get("/inbox").text
    client.get("/lang/en?back=/inbox")
    english = client.get("/inbox").text
    assert "Waiting on my unit" in english and 'lang="en"' in english
    dashboard = client.get("/dashboard").text
    assert dashboard.count("<svg") >= 3 and "Today" in dashboard
