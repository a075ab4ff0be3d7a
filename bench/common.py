"""Shared helpers for the benchmarks: a fresh migrated SQLite file and a timer."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from models.database import make_engine, migrate
from states.system import mark_replay


@contextmanager
def fresh_database(name: str) -> Iterator[Engine]:
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
        migrate(engine)
        mark_replay(engine)  # the bench replays a season: a replay database
        try:
            yield engine
        finally:
            engine.dispose()


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def row(name: str, size: int, seconds: float, baseline: str, baseline_seconds: float, unit: str) -> dict[str, Any]:
    """One line of the ratio table: how many times slower than the baseline measured in the same run."""
    return {
        "benchmark": name,
        "size": size,
        "seconds": round(seconds, 3),
        "per_second": round(size / seconds, 1) if seconds else None,
        "unit": unit,
        "baseline": baseline,
        "baseline_seconds": round(baseline_seconds, 3),
        "ratio": round(seconds / baseline_seconds, 2) if baseline_seconds else None,
    }
