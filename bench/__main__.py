"""`python -m bench` (`make bench`): every benchmark named in the issues, one table of ratios from one run.

Rows: transitions through the one door vs raw Core writes; the reminder sweep at 100,000 applications vs one
indexed query; our mail sender vs prefect-email; the intake flow vs direct service calls; `audit verify` vs a
SELECT of every audit event (events per second); and the demo's
season replayed through the Prefect flows vs direct service calls. Each ratio is measured side by side in
indexed query; our mail sender vs prefect-email; the intake flow vs direct service calls; the web inbox and
application page at 100,000 applications (server-time p95) vs a bare FastAPI page with one indexed query;
and the demo's season replayed through the Prefect flows vs direct service calls. Each ratio is measured side by side in
this run. `BENCH_QUICK=1` shrinks every size for a quick look; `BENCH_ONLY=transition,sweep,...` picks some.
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0", "false")
# (module, keyword, quick size); None = the module's own default size.
BENCHES: dict[str, tuple[str, str | None, int]] = {
    "transition": ("bench.transition_bench", "n", 200),
    "sweep": ("bench.sweep_bench", "size", 5_000),
    "mail": ("bench.mail_bench", "count", 100),
    "flow": ("bench.flow_bench", "size", 50),
    "audit": ("bench.audit_bench", "size", 60),
    "web": ("bench.web_bench", "size", 5_000),
}
SEASON_SIZE = int(os.environ.get("BENCH_SEASON", "8" if QUICK else "20"))


def normalise(bench: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One shape for every module's rows: bench, name, size, seconds, baseline, baseline_seconds, ratio."""
    out = []
    baseline_name = rows[0].get("name") if rows and "baseline" not in rows[0] else None
    baseline_seconds = rows[0].get("seconds") if baseline_name else None
    for r in rows:
        out.append(
            {
                "bench": bench,
                "name": r.get("benchmark") or r.get("name"),
                "size": r.get("size"),
                "unit": r.get("unit", "applications"),
                "seconds": r.get("seconds"),
                "per_second": r.get("per_second"),
                "baseline": r.get("baseline", baseline_name),
                "baseline_seconds": r.get("baseline_seconds", baseline_seconds),
                "ratio": r.get("ratio"),
            }
        )
    return out


def season_rows(size: int) -> list[dict[str, Any]]:
    """The demo's season, small, through the Prefect flows and through direct calls (same seed, same steps)."""
    from datetime import date

    from rich.console import Console

    from cli.demo import run_season
    from models import database, settings

    console = Console(stderr=True, quiet=True)
    window = (date(2025, 7, 7), date(2025, 7, 11))  # a week of reminder sweeps, not the whole summer
    saved = os.environ.get("DATABASE_URL")
    seconds: dict[str, float] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-season-") as folder:
            # Prefect's imports and its server's start stay off the clock: one server for both runs.
            from flows.prefect_server import prefect_api
            from replay.flows_backend import prefect_environment

            prefect_environment(Path(folder) / "prefect")
            with prefect_api(Path(folder) / "prefect", report=lambda _line: None) as api_url:
                os.environ["PREFECT_API_URL"] = api_url
                from prefect import flow

                flow(name="bench-warm-up")(lambda: None)()
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
    return [
        {"bench": "season", "name": "demo season through the Prefect flows", "size": size,
         "unit": "enterprises", "seconds": round(seconds["flows"], 3), "baseline": "direct service calls",
         "baseline_seconds": round(base, 3), "ratio": round(seconds["flows"] / base, 2) if base else None},
        {"bench": "season", "name": "demo season, direct service calls", "size": size,
         "unit": "enterprises", "seconds": round(base, 3), "baseline": "direct service calls",
         "baseline_seconds": round(base, 3), "ratio": 1.0},
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console
    from rich.table import Table

    from programmes.wiring import assemble

    assemble()  # the composition root, as the CLI and the flows do
    only = set(filter(None, os.environ.get("BENCH_ONLY", "").split(",")))
    console = Console(width=None if sys.stdout.isatty() else 150)  # a piped table stays one row per line
    rows: list[dict[str, Any]] = []
    for bench, (module_name, keyword, quick) in BENCHES.items():
        if only and bench not in only:
            continue
        console.print(f"[dim]running {bench}…[/dim]", highlight=False)
        module = importlib.import_module(module_name)
        kwargs = {keyword: quick} if QUICK and keyword else {}
        rows += normalise(bench, module.run(**kwargs))
    if not only or "season" in only:
        console.print("[dim]running season…[/dim]", highlight=False)
        rows += season_rows(SEASON_SIZE)
    table = Table(title=f"factory-review benchmarks — {os.cpu_count()} cores, Python {sys.version.split()[0]}"
                  f"{' (BENCH_QUICK)' if QUICK else ''}")  # fmt: skip
    for col in ("bench", "measured", "size", "seconds", "rate /s", "baseline", "baseline s", "ratio"):
        table.add_column(col, justify="left" if col in ("bench", "measured", "baseline") else "right")
    for r in rows:
        table.add_row(r["bench"], str(r["name"]), f"{r['size']} {r['unit']}", f"{r['seconds']:.3f}",
                      f"{r['per_second']:,.0f}" if r.get("per_second") else "",
                      str(r["baseline"]), f"{r['baseline_seconds']:.3f}" if r["baseline_seconds"] is not None else "",
                      f"{r['ratio']:.2f}×" if r["ratio"] is not None else "")  # fmt: skip
    console.print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
