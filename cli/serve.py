"""`factory-review serve`: the whole programme on one machine.

1. Without `PREFECT_API_URL`, start a local Prefect server (`flows.prefect_server.local_server`: a child
   process, PREFECT_HOME under the data directory, analytics off) and wait for `/api/health` as long as
   the machine needs (FACTORY_REVIEW_PREFECT_STARTUP_TIMEOUT, default 600 s), with a progress line.
   Prefect's temporary server would register deployments but never schedule a run (its scheduler is
   off), so a real one is needed.
2. Migrate the database (idempotent).
3. Register every deployment of prefect.yaml (`flow.to_deployment(...)`, the same names, schedules and
   tags) and serve them: scheduled and triggered runs execute here.
4. On Ctrl-C or SIGTERM: stop serving, stop the server this command started (its whole process group),
   exit 0.

With `PREFECT_API_URL` set, the server is somebody else's and is left alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from flows.prefect_server import free_port, local_server

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "prefect.yaml"

app = typer.Typer(help="Serve the Prefect deployments.")


# ---- deployments from prefect.yaml --------------------------------------------------------------


def load_entrypoint(entrypoint: str) -> Any:
    """`flows/intake.py:submission_intake` → the flow object (imported as a module of this repository)."""
    path, _, attr = entrypoint.partition(":")
    module_name = path.removesuffix(".py").replace("/", ".")
    if (ROOT / path).exists():
        module = importlib.import_module(module_name)
    else:  # an entrypoint outside the repository: load it by path
        spec = importlib.util.spec_from_file_location(module_name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return getattr(module, attr)


def deployment_specs(config: Path = CONFIG) -> list[dict[str, Any]]:
    return list(yaml.safe_load(config.read_text(encoding="utf-8")).get("deployments") or [])


def build_deployments(config: Path = CONFIG) -> list[Any]:
    """`flow.to_deployment(...)` for each deployment in prefect.yaml: names, schedules, tags, limits."""
    from prefect.client.schemas.objects import ConcurrencyLimitConfig
    from prefect.schedules import Cron, Interval

    deployments = []
    for spec in deployment_specs(config):
        schedules = []
        for s in spec.get("schedules") or []:
            if "cron" in s:
                schedules.append(Cron(s["cron"], timezone=s.get("timezone"), active=s.get("active", True)))
            elif "interval" in s:
                schedules.append(Interval(s["interval"], timezone=s.get("timezone"), active=s.get("active", True)))
        limit = spec.get("concurrency_limit")
        if isinstance(limit, dict):
            limit = ConcurrencyLimitConfig(**limit)
        flow = load_entrypoint(spec["entrypoint"])
        deployments.append(
            flow.to_deployment(
                name=spec["name"],
                description=spec.get("description"),
                tags=spec.get("tags"),
                schedules=schedules or None,
                parameters=spec.get("parameters") or {},
                concurrency_limit=limit,
            )
        )
    return deployments


# ---- serve --------------------------------------------------------------------------------------


def _prepare_environment(data_dir: Path | None) -> Path:
    if data_dir is not None:
        os.environ["FACTORY_REVIEW_DATA_DIR"] = str(data_dir)
    from models.settings import get_settings

    get_settings.cache_clear()
    resolved = get_settings().data_dir.resolve()
    resolved.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    return resolved


def _sigterm_to_interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt while inside: `finally` blocks run and stop every child, as on Ctrl-C.
    (Python's default SIGTERM ends the process at once, skipping them.)"""
    previous = signal.signal(signal.SIGTERM, _sigterm_to_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _runner(limit: int | None) -> Any:
    """Prefect's Runner (what `prefect.serve` uses), stopping on SIGTERM the way it stops on Ctrl-C: the
    stock handler calls an async stop without awaiting it and exits from inside the event loop."""
    from prefect.runner import Runner

    class _Runner(Runner):
        def handle_sigterm(self, *args: Any, **kwargs: Any) -> None:
            raise KeyboardInterrupt

    # Schedules stay active on shutdown: runs due while nobody serves show as Late, not silently paused.
    return _Runner(name="factory-review", pause_on_shutdown=False, limit=limit)


def serve(
    *,
    data_dir: Path | None = None,
    host: str = "127.0.0.1",
    port: int | None = None,
    config: Path = CONFIG,
    limit: int | None = None,
) -> int:
    """Run everything on this machine until Ctrl-C or SIGTERM; returns the exit code (0 on a clean stop)."""
    data = _prepare_environment(data_dir)
    stack = contextlib.ExitStack()
    stack.enter_context(sigterm_as_interrupt())  # before the server starts: clean stop
    try:
        api_url = os.environ.get("PREFECT_API_URL")
        if not api_url:
            home = data / "prefect"
            os.environ["PREFECT_HOME"] = str(home)
            api_url = stack.enter_context(local_server(home, host=host, port=port or free_port(host)))
            os.environ["PREFECT_API_URL"] = api_url
        from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings

        stack.enter_context(
            temporary_settings(updates={PREFECT_API_URL: api_url, PREFECT_HOME: os.environ.get("PREFECT_HOME")})
        )
        from models.database import get_engine, migrate

        migrate(get_engine())
        deployments = build_deployments(config)
        runner = _runner(limit)
        for deployment in deployments:
            runner.add_deployment(deployment)
        print(f"serving {len(deployments)} deployments against {api_url}", flush=True)
        asyncio.run(runner.start())
    except (KeyboardInterrupt, SystemExit) as exc:
        if isinstance(exc, SystemExit) and exc.code not in (0, None):
            raise
    finally:
        stack.close()  # the server first, the SIGTERM handler last
    print("stopped", flush=True)
    return 0


@app.command("serve")
def serve_command(
    data_dir: Annotated[
        Path | None, typer.Option(help="Data directory (database, Prefect home). Default: FACTORY_REVIEW_DATA_DIR.")
    ] = None,
    host: Annotated[str, typer.Option(help="Address of the local Prefect server.")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="Port of the local Prefect server (default: a free one).")] = None,
    limit: Annotated[int | None, typer.Option(help="Most flow runs at once.")] = None,
) -> None:
    """Run the programme on this machine: a local Prefect server (unless PREFECT_API_URL is set), every
    deployment of prefect.yaml served, a clean stop on Ctrl-C or SIGTERM."""
    raise typer.Exit(serve(data_dir=data_dir, host=host, port=port, limit=limit))


if __name__ == "__main__":
    app(prog_name="factory-review serve")
