"""`audit verify` over a demo season against a plain SELECT of every audit event.

Data: the demo's synthetic 2025 season (direct service calls, `--fast`) of `size` enterprises, or an
existing database (BENCH_AUDIT_DB=path/to/demo.db, e.g. the 2,400-enterprise demo). Measured in the same
run: `verify` (every chain recomputed, every row replayed against its chain) and, as the baseline, one
SELECT fetching all audit events. The rate is events per second.

    .venv/bin/python -m bench.audit_bench [size]
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlmodel import Session

from bench.common import row, timed
from models.database import make_engine
from models.tables import AuditEvent


def _season_db(folder: Path, size: int) -> Path:
    from rich.console import Console

    from cli.demo import run_season

    run_season(folder, enterprises=size, seed=2025, fast=True, console=Console(stderr=True, quiet=True))
    return folder / "demo.db"


def measure(path: Path) -> list[dict[str, Any]]:
    from states.audit import verify

    engine = make_engine(f"sqlite:///{path}")
    try:
        with Session(engine) as session:
            events = int(session.scalar(select(func.count()).select_from(AuditEvent)) or 0)
            plain = timed(lambda: session.execute(text("SELECT * FROM audit_event")).all())
            report: list[Any] = []
            seconds = timed(lambda: report.append(verify(session)))
        assert report[0].ok, report[0].problems[:3]
    finally:
        engine.dispose()
    return [row("audit verify (chains + rows replayed)", events, seconds, "SELECT all audit events", plain, "events")]


def run(size: int = 400) -> list[dict[str, Any]]:
    existing = os.environ.get("BENCH_AUDIT_DB")
    if existing:
        return measure(Path(existing))
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as folder:
        return measure(_season_db(Path(folder), size))


if __name__ == "__main__":
    for r in run(int(sys.argv[1]) if len(sys.argv) > 1 else 400):
        print(r)
