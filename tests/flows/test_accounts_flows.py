"""Flows on a production database (issue #11 §4, §5): the run acts as its deployment's service account
(FACTORY_REVIEW_TOKEN) on the server clock; a decision entered in a pause form is the account's whose
one-time form token came with it. Replay databases keep the `actor` and `now` parameters (the other tests)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import Session

from models.database import get_engine
from models.errors import NotAuthenticated, ReplayOnly
from models.tables import AuditEvent
from states.lifecycle import State
from tests import factories as f
from tests.flows.test_decisions import paused_run, state_of
from tests.states.accounts_helpers import first_admin, grant, make_production

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_harness")]
NOW = datetime.now(UTC)


@pytest.fixture
def production(app_db: str) -> str:
    make_production(app_db)
    return app_db


def _setup() -> tuple[int, Any, str]:
    """A submitted 青浦 application, the deployment's service account and its token, a person's account."""
    from states.accounts import grant_account, issue_service_token

    with Session(get_engine(), expire_on_commit=False) as session:
        app = f.application(session, State.SUBMITTED, unit="sh.qingpu")
        root = first_admin(session)
        service = grant_account(session, by=root, email="svc.qingpu@deploy.example.cn", password=None,
                                role="local_officer", unit="sh.qingpu", at=NOW, service=True)  # fmt: skip
        person = grant(session, root, "local_officer", "sh.qingpu", email="li.si@qingpu.gov.cn")
        assert app.id is not None and service.id is not None
        token = issue_service_token(session, by=root, account_id=service.id, ttl=timedelta(days=1), at=NOW)
        return app.id, person, token


def _params(**fields: Any) -> Any:
    from flows.local_review import ReviewRoundParams

    return ReviewRoundParams(actor="local_officer@sh.qingpu", unit="sh.qingpu", tier="excellent", **fields)


def _last_actor(app_id: int) -> str:
    with Session(get_engine()) as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.application_id == app_id)
                                .order_by(AuditEvent.seq.desc())).first()  # type: ignore[union-attr]  # fmt: skip
        assert event is not None
        return event.actor_name


def test_a_run_without_a_service_token_changes_nothing(production: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.local_review import LocalDecision, local_review

    app_id, _, _ = _setup()
    monkeypatch.delenv("FACTORY_REVIEW_TOKEN", raising=False)
    with pytest.raises(NotAuthenticated):
        local_review(_params(decisions=[LocalDecision(application_id=app_id, decision="return", reason="补充")]))
    assert state_of(app_id) == State.SUBMITTED


def test_a_run_acts_as_its_service_account_on_the_server_clock(
    production: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.local_review import LocalDecision, local_review

    app_id, _, token = _setup()
    monkeypatch.setenv("FACTORY_REVIEW_TOKEN", token)
    with pytest.raises(ReplayOnly):
        local_review(_params(now="2025-07-10", decisions=[]))
    report = local_review(_params(decisions=[LocalDecision(application_id=app_id, decision="return", reason="补充")]))
    assert report.count("applied") == 1 and state_of(app_id) == State.RETURNED
    assert _last_actor(app_id).endswith("#2")  # the service account (account 2)


def test_a_form_decision_is_the_account_s_that_entered_it(production: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.flow_runs import resume_flow_run

    from flows.local_review import local_review
    from states.accounts import open_session

    app_id, person, token = _setup()
    monkeypatch.setenv("FACTORY_REVIEW_TOKEN", token)
    with Session(get_engine()) as session:
        form_token = open_session(session, account=person, kind="form", at=NOW, ttl=timedelta(minutes=30))
    result: dict[str, Any] = {}
    runner = threading.Thread(target=lambda: result.update(report=local_review(_params())), daemon=True)
    runner.start()
    run = paused_run("local-review")
    decision = {"application_id": app_id, "decision": "return", "reason": "补充场景说明"}
    resume_flow_run(run.id, run_input={"decisions": [decision], "form_token": form_token})
    runner.join(timeout=60)
    assert not runner.is_alive() and result["report"].count("applied") == 1
    assert _last_actor(app_id).endswith(f"#{person.id}")
    with Session(get_engine()) as session, pytest.raises(NotAuthenticated, match="revoked"):
        from states.accounts import account_for_token

        account_for_token(session, form_token, at=datetime.now(UTC))
