"""A local Prefect server for the main job, `serve` and the bench: started as a child, waited for, stopped.

Prefect's own temporary ("ephemeral") server gives up after 20 s, and its first start in a new PREFECT_HOME
(migrations included) takes 28 s on a quiet 2-core machine, longer on a busy one. So we start
`prefect server start` ourselves and wait for `/api/health` as long as the machine needs, up to
`FACTORY_REVIEW_PREFECT_STARTUP_TIMEOUT` seconds (default 600), printing a progress line while we wait and
naming what we waited for when we give up.

The child runs in its own process group and gets SIGTERM when this process dies (Linux parent-death
signal), so even a killed demo leaves no server behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from models.errors import ServiceUnavailable

DEFAULT_STARTUP_TIMEOUT = 600.0
PROGRESS_EVERY = 5.0
DRAIN_TIMEOUT = 60.0  # seconds to deliver Prefect's queued events and logs before a local server stops


def startup_timeout() -> float:
    """Seconds to wait for the server's health endpoint (`FACTORY_REVIEW_PREFECT_STARTUP_TIMEOUT`)."""
    text = os.environ.get("FACTORY_REVIEW_PREFECT_STARTUP_TIMEOUT", "")
    try:
        return max(1.0, float(text)) if text else DEFAULT_STARTUP_TIMEOUT
    except ValueError:
        return DEFAULT_STARTUP_TIMEOUT


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def healthy(api_url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/health", timeout=timeout) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _die_with_parent() -> None:
    """In the child, before exec: start a new session and ask Linux for SIGTERM when the parent dies."""
    os.setsid()
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def wait_until_healthy(
    api_url: str,
    process: subprocess.Popen[Any],
    log_path: Path,
    *,
    timeout: float,
    report: Callable[[str], None] = _say,
) -> None:
    """Poll the health endpoint; a progress line every few seconds; a clear error on exit or time-out."""
    started = time.monotonic()
    next_report = started + PROGRESS_EVERY
    while not healthy(api_url):
        waited = time.monotonic() - started
        if process.poll() is not None:
            raise ServiceUnavailable(
                f"the Prefect server exited with code {process.returncode} before it answered; "
                f"its log ({log_path}) ends:\n{_tail(log_path)}",
                rule="prefect-server",
                source="prefect server start",
            )
        if waited > timeout:
            raise ServiceUnavailable(
                f"waited {waited:.0f} s for the Prefect server's health endpoint {api_url}/health and it did not "
                f"answer; raise FACTORY_REVIEW_PREFECT_STARTUP_TIMEOUT (now {timeout:.0f} s) on a busy machine. "
                f"Its log ({log_path}) ends:\n{_tail(log_path)}",
                rule="prefect-server",
                source="prefect server start",
            )
        if time.monotonic() >= next_report:
            report(f"waiting for the Prefect server at {api_url} ({waited:.0f} s of at most {timeout:.0f} s)")
            next_report += PROGRESS_EVERY
        time.sleep(0.25)
    report(f"Prefect server ready at {api_url} after {time.monotonic() - started:.0f} s (pid {process.pid})")


@contextlib.contextmanager
def started_server(
    home: Path,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    services: bool = True,
    timeout: float | None = None,
    report: Callable[[str], None] = _say,
) -> Iterator[Callable[[], str]]:
    """Start `prefect server start` (own process group, dies with us); yield `ready`, which waits for its
    health endpoint (the first time) and returns its API URL; stop it on exit. The caller works meanwhile:
    the server's start (10–30 s on 2 cores) runs beside whatever it does before it calls `ready`.

    `services=False` runs only the API (no scheduler, no UI): what a replay that runs its flows directly
    needs."""
    home.mkdir(parents=True, exist_ok=True)
    port = port or free_port(host)
    log_path = home / "server.log"
    env = {
        **os.environ,
        "PREFECT_HOME": str(home.resolve()),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_API_HOST": host,
        "PREFECT_SERVER_API_PORT": str(port),
    }
    env.pop("PREFECT_API_URL", None)
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", host, "--port", str(port)]
    if not services:
        command += ["--no-services", "--no-ui"]
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )  # fmt: skip
    (home / "server.pid").write_text(str(process.pid), encoding="utf-8")
    api_url = f"http://{host}:{port}/api"
    answered: list[str] = []

    def ready() -> str:
        if not answered:
            wait_until_healthy(api_url, process, log_path, timeout=timeout or startup_timeout(), report=report)
            answered.append(api_url)
        return api_url

    try:
        report(f"starting a Prefect server at {api_url} (home {home}, log {log_path})")
        yield ready
    finally:
        stop_process_group(process)
        with contextlib.suppress(OSError):
            (home / "server.pid").unlink()
        report(f"Prefect server stopped (pid {process.pid})")


@contextlib.contextmanager
def local_server(home: Path, **options: Any) -> Iterator[str]:
    """`started_server`, waited for: yield its API URL once it answers; stop it on exit."""
    with started_server(home, **options) as ready:
        yield ready()


def stop_process_group(process: subprocess.Popen[Any], timeout: float = 20.0) -> None:
    """SIGTERM the child's process group (uvicorn and its services), SIGKILL what outlives `timeout`."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def drain_prefect_queues(timeout: float = DRAIN_TIMEOUT) -> None:
    """Deliver the events and log lines Prefect's client still queues while the server answers.

    Left queued when a local server stops, each item waits out the client's connection retries (about 70 s
    each) before this process may exit: `python -m bench` once sat 2 h 14 min on 113 such events."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (EventsWorker, APILogWorker):
        worker.drain_all(timeout=timeout, at_exit=False)


@contextlib.contextmanager
def deferred_prefect_api(
    home: Path, *, services: bool = False, report: Callable[[str], None] = _say
) -> Iterator[Callable[[], str]]:
    """The Prefect API for this process, waited for when first needed: yields `ready`, which returns
    `PREFECT_API_URL` if set (somebody else's server, left alone), otherwise waits for the local server
    started here, and points Prefect's settings at it until the block ends."""
    from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings

    with contextlib.ExitStack() as stack:
        given = os.environ.get("PREFECT_API_URL", "")
        wait: Callable[[], str] = (
            (lambda: given) if given else stack.enter_context(started_server(home, services=services, report=report))
        )
        pointed: list[str] = []

        def ready() -> str:
            if not pointed:
                pointed.append(wait())
                updates = {PREFECT_API_URL: pointed[0], PREFECT_HOME: str(home.resolve())}
                stack.enter_context(temporary_settings(updates=updates))
                if not given:
                    stack.callback(drain_prefect_queues)  # runs before the server stops (LIFO)
            return pointed[0]

        yield ready


@contextlib.contextmanager
def prefect_api(home: Path, *, services: bool = False, report: Callable[[str], None] = _say) -> Iterator[str]:
    """`deferred_prefect_api`, waited for at once: yields the API URL."""
    with deferred_prefect_api(home, services=services, report=report) as ready:
        yield ready()
