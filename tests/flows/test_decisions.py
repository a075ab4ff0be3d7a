"""Human decisions reach a flow three ways: parameters (the other tests), a YAML decisions file, and a
form in the Prefect UI when the run starts without decisions (`pause_flow_run(wait_for_input=…)`)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.flows.conftest import sh, state_of, submitted_excellent

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_harness")]


def review_params(**fields: Any) -> Any:
    from flows.local_review import ReviewRoundParams

    return ReviewRoundParams(
        actor="local_officer@sh.qingpu",
        now=sh("2026-07-08T10:00"),
        unit="sh.qingpu",
        tier="excellent",
        season="2026",
        **fields,
    )


def test_decisions_from_a_yaml_file(world: str, tmp_path: Path) -> None:
    from flows.local_review import local_review

    app_id = submitted_excellent()
    file = tmp_path / "qingpu-decisions.yaml"
    file.write_text(
        yaml.safe_dump(
            {"decisions": [{"application_id": app_id, "decision": "return", "reason": "请补充场景实例说明"}]}
        ),
        encoding="utf-8",
    )
    report = local_review(review_params(decisions_file=str(file)))
    assert report.count("applied") == 1
    assert state_of(app_id) == "returned"


def paused_run(flow_name: str, timeout: float = 60.0) -> Any:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name])))
            paused = [r for r in runs if r.state and r.state.is_paused()]
            if paused:
                return paused[0]
            time.sleep(0.5)
    raise AssertionError(f"no paused {flow_name} run within {timeout} s")


def test_decisions_from_a_form_when_started_without_any(world: str) -> None:
    from prefect.flow_runs import resume_flow_run

    from flows.local_review import local_review

    app_id = submitted_excellent()
    result: dict[str, Any] = {}
    runner = threading.Thread(target=lambda: result.update(report=local_review(review_params())), daemon=True)
    runner.start()
    run = paused_run("local-review")
    resume_flow_run(run.id, run_input={"decisions": [{"application_id": app_id, "decision": "recommend"}]})
    runner.join(timeout=60)
    assert not runner.is_alive()
    assert result["report"].count("applied") == 1
    assert state_of(app_id) == "local_review"
