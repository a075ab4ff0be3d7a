"""Hypothesis over the web forms (issue 16): any value in the sign-in, decision and inbox forms gets a page
back — never a server error, never a traceback — and a refused decision changes nothing."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.tables import Application, AuditEvent
from tests.web.conftest import World, csrf_of

ANY_TEXT = st.text(max_size=300) | st.sampled_from(["", " ", "\x00", "=HYPERLINK(\"x\")", "a" * 5000, "审核通过"])
EVENTS = st.sampled_from(["approve", "recommend", "return_for_revision", "reject", "accept", "", "x" * 70]) | ANY_TEXT
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _no_server_error(response: Any) -> None:
    assert response.status_code < 500, response.text[:500]
    assert "Traceback" not in response.text


@FUZZ
@given(email=ANY_TEXT, password=ANY_TEXT)
def test_any_sign_in_form_gets_a_page_back(web_app: Any, email: str, password: str) -> None:
    with TestClient(web_app) as client:
        page = client.get("/login")
        response = client.post("/login", data={"email": email, "password": password, "csrf_token": csrf_of(page.text)},
                               follow_redirects=False)  # fmt: skip
        _no_server_error(response)
        assert response.status_code != 303  # nobody signs in with made-up credentials


@FUZZ
@given(event=EVENTS, reason=ANY_TEXT)
def test_any_decision_form_is_refused_whole_or_applied(client_for: Any, world: World, engine: Engine, event: str,
                                                       reason: str) -> None:  # fmt: skip
    client = client_for("auditor")  # an auditor may decide nothing: every post must leave the row as it was
    with Session(engine) as session:
        before = (session.get(Application, world.qingpu_app).state,  # type: ignore[union-attr]
                  session.scalar(select(func.count()).select_from(AuditEvent)))  # fmt: skip
    page = client.get("/inbox")
    response = client.post(f"/applications/{world.qingpu_app}/decide",
                           data={"event": event, "reason": reason, "csrf_token": csrf_of(page.text)})  # fmt: skip
    _no_server_error(response)
    with Session(engine) as session:
        after = (session.get(Application, world.qingpu_app).state,  # type: ignore[union-attr]
                 session.scalar(select(func.count()).select_from(AuditEvent)))  # fmt: skip
    assert after == before


@FUZZ
@given(page=ANY_TEXT, tier=ANY_TEXT, state=ANY_TEXT, q=ANY_TEXT)
def test_any_inbox_filter_gets_a_page_back(client_for: Any, page: str, tier: str, state: str, q: str) -> None:
    client = client_for("qingpu")
    _no_server_error(client.get("/inbox", params={"page": page, "tier": tier, "state": state, "q": q}))
