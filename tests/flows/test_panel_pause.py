"""The ministry flow pauses for a human decision; the pause form's description shows the expert panel's result
the decision will rely on (issue 19), and the decision entered in the form records that very result."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tests.flows.conftest import sh
from tests.flows.test_decisions import paused_run, state_of

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_harness")]


def test_the_pause_form_shows_the_panel_result_its_decision_records(app_db: str) -> None:
    from prefect.flow_runs import resume_flow_run
    from prefect.input.actions import read_flow_run_input
    from sqlalchemy import select

    from flows.ministry import MinistryReviewParams, ministry_review
    from models.database import session_scope
    from models.tables import AuditEvent
    from programmes.reviews import pending_result
    from tests import factories as f

    with session_scope() as session:  # a leading application in material review, its panel of three concluded
        row = f.application(session, "ministry_review", tier="leading")
        f.conclude_panel(session, row, "pass_review")
        found = pending_result(session, row)
        assert found is not None and found[1].concluded
        app_id, digest = row.id or 0, found[1].as_dict()["digest"]
    params = MinistryReviewParams(actor="ministry_officer@miit", now=sh("2025-08-20T10:00"), tier="leading",
                                  season="2025")  # fmt: skip
    result: dict[str, Any] = {}
    runner = threading.Thread(target=lambda: result.update(report=ministry_review(params)), daemon=True)
    runner.start()
    run = paused_run("ministry-review")
    description = read_flow_run_input(key=run.state.state_details.run_input_keyset["description"], flow_run_id=run.id)
    assert "专家评审结果" in description and "材料评审" in description and digest[:16] in description
    assert f"| {app_id} | 材料评审 material_review | 3/3 | 85.0 | 85.0 | 0.0 |" in description
    resume_flow_run(run.id, run_input={"decisions": [{"application_id": app_id, "outcome": "pass"}]})
    runner.join(timeout=60)
    assert not runner.is_alive() and result["report"].count("applied") == 1
    assert state_of(app_id) == "onsite_verification"
    with session_scope() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.subject == f"application:{app_id}",  # type: ignore[arg-type]
                                                         AuditEvent.event == "pass_review")).one()  # type: ignore[arg-type]  # fmt: skip
        assert event.data["panel_result"]["digest"] == digest
