"""Several Prefect workers on one server (replay/scale.py) as a bench row: how the runs spread, whether
any was lost or done twice. Needs FACTORY_REVIEW_SCALE_ADMIN_URL (a PostgreSQL role that may create
databases); `make scale` sets one up. Without it the row says so and measures nothing."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any


def run(size: int = 30) -> list[dict[str, Any]]:
    admin = os.environ.get("FACTORY_REVIEW_SCALE_ADMIN_URL")
    if not admin:
        return [{"name": "several Prefect workers: not measured (FACTORY_REVIEW_SCALE_ADMIN_URL unset; make scale)",
                 "size": 0, "unit": "runs", "seconds": None, "baseline": None, "baseline_seconds": None}]  # fmt: skip
    from replay.scale import run as scale

    with tempfile.TemporaryDirectory(prefix="bench-workers-") as folder:
        start = time.perf_counter()
        report = scale(admin, Path(folder), batches=3, size=size)
        seconds = time.perf_counter() - start
    runs = report["runs"]["two"]
    spread = sorted({w for r in runs.values() for w in r["workers"]})
    lost = sum(1 for r in runs.values() if r["state"] != "COMPLETED")
    name = (f"several Prefect workers: {len(runs)} runs on {', '.join(spread)}, {len(report['killed'])} killed, "
            f"{lost} lost, {'; '.join(report['problems']) or 'nothing done twice'}")  # fmt: skip
    return [{"name": name, "size": len(runs), "unit": "runs", "seconds": round(seconds, 1), "baseline": None,
             "baseline_seconds": None}]  # fmt: skip
