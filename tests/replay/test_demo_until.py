"""`demo --until` (issue 14 item 6): the replay stops mid-season, the database keeps the replay's clock, and the
web app on it shows and acts at that instant; a production database shows no marker and keeps the server clock."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlmodel import Session, col

from models.clock import SHANGHAI
from models.tables import Application, AuditEvent, Enterprise

UNTIL = datetime(2025, 7, 8, 9, 0, tzinfo=SHANGHAI)
MARKER = "回放 / replay"


def _reset_caches() -> None:
    from models import database, settings

    settings.get_settings.cache_clear()
    database.get_engine.cache_clear()


@pytest.fixture(scope="module")
def stopped_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, Any]]]:
    from cli.demo import run_demo

    mp = pytest.MonkeyPatch()
    mp.setenv("DATABASE_URL", os.environ.get("DATABASE_URL", "sqlite:///unused.db"))
    mp.delenv("FACTORY_REVIEW_NOW", raising=False)
    out = tmp_path_factory.mktemp("until")
    summary = run_demo(output=out, enterprises=36, seed=7, fast=True, as_json=True, until="2025-07-08")
    yield out, summary
    mp.undo()
    _reset_caches()


@pytest.fixture
def demo_engine(stopped_demo: tuple[Path, dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from models.database import make_engine

    monkeypatch.delenv("FACTORY_REVIEW_NOW", raising=False)  # the database's own clock, nothing else
    engine = make_engine(f"sqlite:///{stopped_demo[0] / 'demo.db'}")
    yield engine
    engine.dispose()


def _signed_in(app: Any, email: str, password: str) -> TestClient:
    client = TestClient(app)
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', client.get("/login").text)
    assert token is not None
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": token.group(1)},
                           follow_redirects=False)  # fmt: skip
    assert response.status_code == 303, response.text[:300]
    return client


def test_until_stops_mid_season_with_the_replay_clock_at_that_instant(
    stopped_demo: tuple[Path, dict[str, Any]], demo_engine: Any
) -> None:
    from states.system import clock_for, is_replay

    _, summary = stopped_demo
    assert datetime.fromisoformat(summary["season"]["replay_clock"]) == UNTIL
    with Session(demo_engine) as session:
        states = dict(session.execute(select(Application.state, func.count()).group_by(Application.state)).all())
        season_events = col(AuditEvent.subject).not_like("account:%")
        last = session.scalar(select(func.max(AuditEvent.at)).where(season_events))
        assert is_replay(session) and clock_for(session).now() == UNTIL
    assert states.get("draft", 0) > 0 and states.get("submitted", 0) > 0  # mid-season: the intake is open
    assert set(states) <= {"draft", "submitted", "local_review"}, states
    assert last is not None and last.replace(tzinfo=last.tzinfo or UTC) < UNTIL


def test_the_web_on_the_stopped_demo_shows_the_marker_and_acts_at_the_replay_instant(demo_engine: Any) -> None:
    from web.app import create_app
    from web.demo_accounts import DEMO_PASSWORD

    with Session(demo_engine) as session:
        app_id = session.scalar(
            select(Application.id).join(Enterprise, col(Enterprise.id) == Application.enterprise_id)
            .where(col(Application.state) == "submitted", col(Enterprise.district) == "sh.qingpu")
            .order_by(col(Application.id))
        )  # fmt: skip
    assert app_id is not None
    client = _signed_in(create_app(engine=demo_engine), "qingpu@demo.example.cn", DEMO_PASSWORD)
    for url in ("/inbox", f"/applications/{app_id}", "/dashboard"):
        page = client.get(url)
        assert page.status_code == 200 and MARKER in page.text and "2025-07-08 09:00" in page.text, url
    assert "已逾期" not in client.get("/inbox").text  # the district's 07-11 deadline is ahead of the replay
    page = client.get(f"/applications/{app_id}")
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
    assert token is not None
    response = client.post(f"/applications/{app_id}/decide", follow_redirects=False, data={
        "event": "return_for_revision", "reason": "请补充场景材料", "csrf_token": token.group(1)})  # fmt: skip
    assert response.status_code == 303, response.text[:500]
    with Session(demo_engine) as session:
        event = session.scalars(
            select(AuditEvent).where(col(AuditEvent.subject) == f"application:{app_id}")
            .order_by(col(AuditEvent.id).desc())
        ).first()  # fmt: skip
    assert event is not None and event.event == "return_for_revision"
    assert event.at.replace(tzinfo=event.at.tzinfo or UTC) == UNTIL


def test_a_production_database_shows_no_marker_and_keeps_the_server_clock(
    session: Session, engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from states.accounts import create_first_admin
    from states.system import is_replay
    from tests import factories
    from web.app import create_app

    monkeypatch.setenv("FACTORY_REVIEW_NOW", "2025-07-05T10:00:00+08:00")  # never honoured on production
    factories.application(session, "submitted", unit="sh.qingpu")
    assert not is_replay(session)
    create_first_admin(session, email="root@prod.example.cn", password="a long production password",
                       display_name="管理员", at=datetime.now(UTC))  # fmt: skip
    session.commit()
    client = _signed_in(create_app(engine=engine), "root@prod.example.cn", "a long production password")
    before = datetime.now(SHANGHAI).strftime("%Y-%m-%d")
    for url in ("/login", "/inbox", "/dashboard"):
        page = client.get(url)
        assert page.status_code == 200 and MARKER not in page.text and "data-replay-now" not in page.text, url
    assert before in client.get("/dashboard").text  # today is the server's day, not the requested 2025-07-05


def test_an_until_before_the_season_or_not_a_date_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    from cli.main import main

    for bad in ("2025-06-01", "next tuesday"):
        assert main(["demo", "--fast", "--until", bad, "--output", str(tmp_path / "out")]) == 2
        assert not (tmp_path / "out").exists()


def test_a_newcomer_registers_an_enterprise_on_the_stopped_demo_and_submits_before_the_deadline(
    demo_engine: Any,
) -> None:
    """The issue's newcomer: on `demo --until 2025-07-08`, register in 青浦, be confirmed by the district's
    demo officer, fill the excellent form, upload, submit — and the officer sees it in the inbox."""
    from tests.web.test_enterprise import excellent_form, register_form, upload_all
    from web.app import create_app
    from web.demo_accounts import DEMO_PASSWORD

    app = create_app(engine=demo_engine)
    app.state.attachment_root = Path(str(demo_engine.url.database)).parent / "attachments"
    enterprise = TestClient(app)
    form = register_form(enterprise, password="Newcomer-2025-pass")
    assert enterprise.post("/register", data=form).status_code == 200
    officer = _signed_in(app, "qingpu@demo.example.cn", DEMO_PASSWORD)
    console = officer.get("/registrations").text
    with Session(demo_engine) as session:
        from models.tables import Account

        account_id = session.scalars(select(Account.id).where(col(Account.email) == form["email"])).one()
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', console)
    assert token is not None and form["name"] in console
    confirm = {"decision": "confirm", "reason": "", "csrf_token": token.group(1)}
    assert officer.post(f"/registrations/{account_id}", data=confirm).status_code == 200
    enterprise = _signed_in(app, form["email"], "Newcomer-2025-pass")
    home = enterprise.get("/enterprise").text
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', home)
    assert token is not None and MARKER in home
    created = enterprise.post("/enterprise/applications", follow_redirects=False,
                              data={"choice": "excellent/national", "csrf_token": token.group(1)})  # fmt: skip
    app_id = int(created.headers["location"].rsplit("/", 1)[1])
    upload_all(enterprise, app_id)
    page = enterprise.get(f"/enterprise/applications/{app_id}").text
    assert "还剩 3 天" in page  # the district's 07-11 deadline, counted from the replay's 07-08 09:00
    submitted = enterprise.post(f"/enterprise/applications/{app_id}", data=excellent_form(page, action="submit"))
    assert submitted.status_code == 200
    assert "审核中" in enterprise.get(f"/enterprise/applications/{app_id}").text
    assert form["name"] in officer.get("/inbox").text
    with Session(demo_engine) as session:
        row = session.get(Application, app_id)
        assert row is not None and row.state == "submitted"
