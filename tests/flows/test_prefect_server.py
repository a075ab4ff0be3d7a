"""`flows.prefect_server.prefect_api`: a local server started for this process delivers what Prefect's
client still queues before it stops. Run in a child process: the failure is a process that cannot exit
(each event left queued for a stopped server waits out the client's retries, about 70 s)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from flows.prefect_server import startup_timeout

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from flows.prefect_server import prefect_api

    with prefect_api(Path(sys.argv[1]), report=lambda _line: None):
        from prefect.events import emit_event
        from prefect.events.worker import EventsWorker
        from prefect.logging.handlers import APILogWorker

        for n in range(int(sys.argv[2])):  # a backlog, as a season's runs leave behind
            emit_event(event="factory-review.test", resource={"prefect.resource.id": f"test.{n}"})
    left = [len(worker._instances) for worker in (EventsWorker, APILogWorker)]
    print(json.dumps({"instances_left": left}))
    """
)


@pytest.mark.slow
def test_a_local_server_stops_only_after_the_queued_events_are_delivered(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API_URL", "PREFECT_HOME"))}
    env.update({"PREFECT_HOME": str(tmp_path / "home"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"})
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "server"), "2000"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=startup_timeout() + 120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.splitlines()[-1]) == {"instances_left": [0, 0]}
    assert "failed to process item" not in done.stderr
