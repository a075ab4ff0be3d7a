"""Flow runs are named for what they do and end a refused batch in a Failed state whose message is one
line (no traceback): issue 15 §2."""

from __future__ import annotations

import pytest

from tests.flows.conftest import EXCELLENT_CODE, application_file, sh

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_harness")]


def test_review_names_come_from_the_units_level() -> None:
    from flows.local_review import review_name

    assert review_name({"unit": "sh.qingpu", "season": "2025"}) == "district-review sh.qingpu"
    assert review_name({"unit": "sh", "season": "2026"}) == "province-review sh"
    assert review_name({"unit": "nowhere", "season": "2025"}) == "local-review nowhere"


def test_a_refused_round_is_named_for_what_it_does_and_fails_in_one_line(world: str) -> None:
    from prefect.client.orchestration import get_client

    from flows.intake import IntakeParams, submission_intake
    from flows.local_review import ReviewRoundParams, local_review

    intake = submission_intake(
        IntakeParams(actor=f"enterprise@{EXCELLENT_CODE}", now=sh("2026-07-01T10:00"),
                     applications=[application_file("excellent")])
    )  # fmt: skip
    (app_id,) = intake.notes["ids"].values()
    state = local_review(
        ReviewRoundParams(actor="local_officer@sh.pudong", now=sh("2026-07-08T10:00"), unit="sh.qingpu",
                          tier="excellent", season="2026",
                          decisions=[{"application_id": app_id, "decision": "reject", "reason": "不符合条件"}]),
        return_state=True,
    )  # fmt: skip
    assert state.is_failed() and "\n" not in (state.message or "") and "1 refused" in (state.message or "")

    with get_client(sync_client=True) as client:
        run = client.read_flow_run(state.state_details.flow_run_id)  # type: ignore[arg-type]
    assert run.name == "district-review sh.qingpu 2026-07-08"
    refused = state.result(raise_on_failure=False)
    assert {o.rule for o in refused.report.refused} == {"authorisation"}  # type: ignore[union-attr]
