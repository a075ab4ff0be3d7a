"""Several Prefect workers on one PostgreSQL-backed server (replay/scale.py): the season's runs with one
worker, then with two of which one is SIGKILLed mid-run and its run retried by the other — every
application ends in the same state, no audit event and no mail twice."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from replay.scale import run


@pytest.mark.slow
@pytest.mark.postgres
def test_a_killed_worker_changes_nothing_the_one_door_would_do_once(pg_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    if pg_server.template is None:
        pytest.skip("the test role may not create databases")
    size = int(os.environ.get("FACTORY_REVIEW_SCALE_SIZE", "15"))
    report = run(pg_server.base_url, tmp_path, batches=3, size=size, timeout=300)
    assert report["problems"] == []
    assert report["applications"] == 3 * size and report["final_states"] == {"submitted": 3 * size}
    assert report["killed"], "worker 1 was never caught mid-run"
    two = report["runs"]["two"]
    assert all(r["state"] == "COMPLETED" for phase in report["runs"].values() for r in phase.values())
    for name in report["killed"]:
        assert two[name]["workers"] == ["worker-1", "worker-2"]  # started on 1, finished on 2
    assert report["mails"] > 0
