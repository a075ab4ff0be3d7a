"""`python -m bench` (`make bench`): every benchmark named in the issues, one table of ratios from one run.

Each row is measured side by side with its baseline in this run (these machines are noisy: compare
ratios, not seconds). `--json` writes the rows as a JSON list to stdout (the table goes to stderr):
bench, name, size, unit, seconds, per_second (rates: `audit verify`'s events per second), baseline,
baseline_seconds, ratio (= seconds ÷ baseline_seconds).
`BENCH_QUICK=1` shrinks every size for a quick look; `BENCH_ONLY=transition,sweep,...` picks some.

A new row is one line in `BENCHES`: a name, the `module:function` that returns its rows (a list of
mappings with at least name/benchmark, size, seconds; see `normalise`), and its size keyword for
`BENCH_QUICK`. A registered module that does not exist yet is listed as missing, not an error (slots
for rows other issues bring).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0", "false")


@dataclass(frozen=True)
class Bench:
    name: str
    target: str  # "module:function" returning the rows
    keyword: str | None = None  # the size keyword BENCH_QUICK sets
    quick: int | None = None


BENCHES: list[Bench] = [
    Bench("sweep", "bench.sweep_bench:run", "size", 5_000),  # reminder sweep vs one indexed query (#18 item 1)
    Bench("mail", "bench.mail_bench:run", "count", 100),  # our sender vs prefect-email, raw aiosmtplib (item 2)
    Bench("transition", "bench.transition_bench:run", "n", 200),  # the one door vs raw Core writes
    Bench("flow", "bench.flow_bench:run", "size", 50),  # intake flow vs the same calls without Prefect
    Bench("season", "bench.season_bench:run", "size", 8),  # demo season through flows vs direct; trivial run
    Bench("registration", "bench.registration_bench:run", "size", 300),  # bulk door vs Core executemany
    Bench("national", "bench.national_bench:run", "size", 200),  # basic filings end to end (make bench-national)
    Bench("audit", "bench.audit_bench:run", "size", 60),  # `audit verify` vs a SELECT of every event (events/s)
    Bench("web", "bench.web_bench:run", "size", 5_000),  # inbox and application page p95 vs a bare FastAPI page
    Bench("workers", "bench.workers_bench:run", "size", 8),  # several Prefect workers on one server
    Bench("http", "bench.http_submit_bench:run", "size", 50),  # enterprises submitting over HTTP, 50 at once (#14)
]


def normalise(bench: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One shape for every module's rows: bench, name, size, unit, seconds, baseline, baseline_seconds, ratio.

    A module whose first row has no `baseline` is measured against that first row."""
    out = []
    baseline_name = rows[0].get("name") if rows and "baseline" not in rows[0] else None
    baseline_seconds = rows[0].get("seconds") if baseline_name else None
    for r in rows:
        seconds = r.get("seconds")
        base_seconds = r.get("baseline_seconds", baseline_seconds)
        ratio = r.get("ratio")
        if ratio is None and seconds is not None and base_seconds:
            ratio = round(seconds / base_seconds, 2)
        out.append({"bench": bench, "name": r.get("benchmark") or r.get("name"), "size": r.get("size"),
                    "unit": r.get("unit", "applications"), "seconds": seconds, "per_second": r.get("per_second"),
                    "baseline": r.get("baseline", baseline_name), "baseline_seconds": base_seconds,
                    "ratio": ratio})  # fmt: skip
    return out


def _load(target: str) -> Any:
    module_name, function = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        return None
    return getattr(module, function)


def run(only: set[str], say: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for bench in BENCHES:
        if only and bench.name not in only:
            continue
        fn = _load(bench.target)
        if fn is None:
            say(f"[dim]{bench.name}: {bench.target} is not there yet (registered slot)[/dim]")
            continue
        say(f"[dim]running {bench.name}…[/dim]")
        kwargs = {bench.keyword: bench.quick} if QUICK and bench.keyword and bench.quick else {}
        rows += normalise(bench.name, fn(**kwargs))
    return rows


def _table(rows: list[dict[str, Any]]) -> Any:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"factory-review benchmarks — {os.cpu_count()} cores, Python {sys.version.split()[0]}"
                  f"{' (BENCH_QUICK)' if QUICK else ''}")  # fmt: skip
    for col in ("bench", "measured", "size", "seconds", "rate /s", "baseline", "baseline s", "ratio"):
        table.add_column(col, justify="left" if col in ("bench", "measured", "baseline") else "right")
    for r in rows:
        table.add_row(r["bench"], escape(str(r["name"])), f"{r['size']} {r['unit']}",
                      f"{r['seconds']:.3f}" if r["seconds"] is not None else "",
                      f"{r['per_second']:,.0f}" if r.get("per_second") else "", escape(str(r["baseline"] or "")),
                      f"{r['baseline_seconds']:.3f}" if r["baseline_seconds"] is not None else "",
                      f"{r['ratio']:.2f}×" if r["ratio"] is not None else "")  # fmt: skip
    return table


def print_table(rows: list[dict[str, Any]]) -> None:
    """The table, for a bench module run on its own (`python -m bench.http_submit_bench`)."""
    from rich.console import Console

    Console(width=None if sys.stdout.isatty() else 150).print(_table(rows))


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console

    from programmes.wiring import assemble

    assemble()  # the composition root, as the CLI and the flows do
    argv = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in argv
    only = set(filter(None, os.environ.get("BENCH_ONLY", "").split(",")))
    width = None if sys.stdout.isatty() else 150  # a piped table stays one row per line
    console = Console(width=width, stderr=as_json)
    with stdout_to_stderr() if as_json else contextlib.nullcontext():
        rows = run(only, lambda line: console.print(line, highlight=False))
        console.print(_table(rows))
    if as_json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=1) + "\n")
    return 0


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Everything the benches print goes to stderr, so that `--json`'s stdout is the JSON alone.

    At the descriptor, not only `sys.stdout`: `prefect deploy` (the workers row) prints its table of
    deployments, and child processes inherit descriptor 1; both had put text before the JSON."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


if __name__ == "__main__":
    raise SystemExit(main())
