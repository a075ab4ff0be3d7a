"""Public notice over HTTP: the ministry opens it over the verified list (working-day end date), an
objection is raised and dismissed on the application page, an early close is refused with its rule, and
the close after the period recognises; the 公示名单 downloads."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests import factories
from tests.web.conftest import World, csrf_of
from tests.web.test_http import state_of

pytestmark = pytest.mark.sqlite_only  # no backend-specific SQL here (see tests/conftest.py)


def test_open_object_close_notice(
    client_for: Any, world: World, session: Session, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    verified = factories.application(session, "onsite_verification").id
    session.commit()
    assert verified is not None
    monkeypatch.setenv("FACTORY_REVIEW_NOW", "2025-09-03T10:00:00+08:00")
    ministry = client_for("ministry")
    page = ministry.get("/notice")
    assert page.status_code == 200 and "2025-09-04" in page.text  # opens the next working day
    opened = ministry.post("/notice/open", data={"application": str(verified), "opens_on": "2025-09-04",
                                                 "working_days": "5", "csrf_token": csrf_of(page.text)})  # fmt: skip
    assert opened.status_code == 200 and state_of(engine, verified) == "public_notice"
    assert "2025-09-11" in opened.text  # five working days on China's calendar (domain.md §8)

    app_page = ministry.get(f"/applications/{verified}")
    csrf = csrf_of(app_page.text)
    for event in ("raise_objection", "dismiss_objection"):
        done = ministry.post(f"/applications/{verified}/decide", data={"event": event, "reason": "异议调查",
                                                                         "csrf_token": csrf})  # fmt: skip
        assert done.status_code == 200, done.text[:300]
    early = ministry.post("/notice/close", data={"application": str(verified), "csrf_token": csrf})
    assert early.status_code == 409 and "notice-period" in early.text, early.text[-1500:]
    assert state_of(engine, verified) == "public_notice"

    listing = ministry.get("/inbox.csv?view=all&state=public_notice").content.decode("utf-8-sig")
    assert f"\n{verified}," in listing
    pdf = ministry.get("/notice/list.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    monkeypatch.setenv("FACTORY_REVIEW_NOW", "2025-09-12T10:00:00+08:00")
    closed = ministry.post("/notice/close", data={"application": str(verified), "csrf_token": csrf})
    assert closed.status_code == 200 and "已办理" in closed.text, closed.text[-1500:]
    assert state_of(engine, verified) == "recognised"
    assert client_for("city").get("/notice").status_code == 404
