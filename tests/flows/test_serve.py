"""The scripted check of `factory-review serve`: start it (or `python -m cli.serve`) with a temporary
PREFECT_HOME and data directory on a free port, trigger a deployment with `prefect deployment run`, see
the run complete, send SIGTERM, and check a clean stop (exit 0, the Prefect server it started gone)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cli.serve import deployment_specs
from flows.prefect_server import free_port, healthy, startup_timeout

ROOT = Path(__file__).resolve().parents[2]
PREFECT = Path(sys.executable).parent / "prefect"
FACTORY_REVIEW = Path(sys.executable).parent / "factory-review"


def _wait_for(predicate, timeout: float, what: str, log: Path) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"{what} not within {timeout} s; serve log:\n{log.read_text(errors='replace')[-3000:]}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow
def test_serve_runs_a_triggered_deployment_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    data, port = tmp_path / "data", free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "DATABASE_URL", "FACTORY_REVIEW_"))}
    env.update(
        {
            "PREFECT_HOME": str(tmp_path / "prefect-home"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_RUNNER_POLL_FREQUENCY": "1",
            "FACTORY_REVIEW_MAIL_DIR": str(tmp_path / "mail"),
        }
    )
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        # The installed command (the lead's CLI mounts cli.serve), else the module itself.
        command = [str(FACTORY_REVIEW), "serve"] if FACTORY_REVIEW.exists() else [sys.executable, "-m", "cli.serve"]
        serve = subprocess.Popen(
            [*command, "--data-dir", str(data), "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    api = f"http://127.0.0.1:{port}/api"
    try:
        # Every deployment of prefect.yaml; the local server may take minutes to start on a busy machine.
        expected = f"serving {len(deployment_specs())} deployments"
        _wait_for(lambda: expected in log.read_text(errors="replace"), startup_timeout() + 60, "serve ready", log)
        assert healthy(api)
        server_pid = int((data / "prefect" / "server.pid").read_text())
        run = subprocess.run(
            [str(PREFECT), "deployment", "run", "reminder-sweep/reminder-sweep", "--watch", "--watch-timeout", "90"],
            env={**env, "PREFECT_API_URL": api},
            capture_output=True,
            text=True,
            timeout=150,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        assert "Completed" in run.stdout

        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=60) == 0, log.read_text(errors="replace")[-3000:]
        text = log.read_text(errors="replace")
        assert "prefect server stopped" in text.lower() and "stopped" in text.splitlines()[-1]
        _wait_for(lambda: not _alive(server_pid), 10, "server process gone", log)
        assert not healthy(api)
        assert not (data / "prefect" / "server.pid").exists()
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait()
