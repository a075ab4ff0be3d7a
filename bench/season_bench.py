"""The demo's season (its 2,400 enterprises, one week of reminder sweeps) through the Prefect flows and
through direct calls (same seed, same steps), and what one trivial flow run costs on the same local server.
At 20 enterprises Prefect's fixed costs per run dominate (about 3× the direct calls; `BENCH_SEASON=20`).

Prefect's imports and its server's start stay off the clock: one server for every run here.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

SIZE = int(os.environ.get("BENCH_SEASON", "2400"))  # the demo's default
TRIVIAL_RUNS = 20


def run(size: int = SIZE) -> list[dict[str, Any]]:
    from rich.console import Console

    from cli.demo import run_season
    from flows.prefect_server import prefect_api
    from models import database, settings
    from replay.flows_backend import prefect_environment

    console = Console(stderr=True, quiet=True)
    for name in ("prefect", "prefect.flow_runs", "prefect.task_runs"):  # the table, not a line per run
        logging.getLogger(name).setLevel(logging.WARNING)
    window = (date(2025, 7, 7), date(2025, 7, 11))  # a week of reminder sweeps, not the whole summer
    saved = os.environ.get("DATABASE_URL")
    seconds: dict[str, float] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-season-") as folder:
            prefect_environment(Path(folder) / "prefect")
            with prefect_api(Path(folder) / "prefect", report=lambda _line: None) as api_url:
                os.environ["PREFECT_API_URL"] = api_url
                from prefect import flow
                from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

                trivial = flow(name="bench-trivial")(lambda: None)
                with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):  # as the replay runs
                    trivial()  # warm-up
                    start = time.perf_counter()
                    for _ in range(TRIVIAL_RUNS):
                        trivial()
                    seconds["trivial"] = (time.perf_counter() - start) / TRIVIAL_RUNS
                for name, fast in (("direct", True), ("flows", False)):
                    start = time.perf_counter()
                    run_season(Path(folder) / name, enterprises=size, seed=2025, fast=fast, console=console,
                               reminder_days=window)  # fmt: skip
                    seconds[name] = time.perf_counter() - start
                os.environ.pop("PREFECT_API_URL", None)
    finally:
        if saved is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = saved
        settings.get_settings.cache_clear()
        database.get_engine.cache_clear()
    base = seconds["direct"]
    season = {
        "size": size,
        "unit": "enterprises",
        "baseline": "direct service calls",
        "baseline_seconds": round(base, 3),
    }
    return [
        {**season, "name": "demo season through the Prefect flows", "seconds": round(seconds["flows"], 3)},
        {**season, "name": "demo season, direct service calls", "seconds": round(base, 3)},
        {"name": "a trivial flow run on the local server (each)", "size": TRIVIAL_RUNS, "unit": "runs",
         "seconds": round(seconds["trivial"], 3), "baseline": None, "baseline_seconds": None},
    ]  # fmt: skip
