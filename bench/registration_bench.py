"""Registering the demo's enterprises and their drafts through the bulk door vs Core `executemany`.

Ours: `replay.synthetic.build_season` — `states.bulk.register_enterprises`, `create_drafts` and the
officers (each row validated, authorised, audited and chained; one transaction per batch of 500); the
inputs (registration rows, application files) are made before the clock starts. Baseline: the very
rows ours wrote (enterprise, actor, audit_chain, application, audit_event), read back and inserted into a
fresh database with Core `executemany`, one transaction per batch of the same size — the bare writes,
nothing checked.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bench.common import fresh_database, row, timed
from models.tables import Actor, Application, AuditChain, AuditEvent, Enterprise

SIZE = int(os.environ.get("BENCH_REGISTRATION", "2400"))
TABLES = (Enterprise, Actor, AuditChain, Application, AuditEvent)
BATCH = 500


def _ours(engine: Engine, specs: list[Any], inputs: Any) -> None:
    from replay.synthetic import build_season

    with Session(engine) as session:
        build_season(session, specs, Counter(), inputs=inputs)


def _rows(engine: Engine) -> dict[Any, list[dict[str, Any]]]:
    with engine.connect() as conn:
        return {t: [dict(r._mapping) for r in conn.execute(select(t.__table__))] for t in TABLES}  # type: ignore[union-attr]


def _raw(engine: Engine, rows: dict[Any, list[dict[str, Any]]]) -> None:
    with engine.connect() as conn:
        for table, values in rows.items():
            for start in range(0, len(values), BATCH):
                with conn.begin():
                    conn.execute(insert(table), values[start : start + BATCH])


def run(size: int = SIZE) -> list[dict[str, Any]]:
    from replay.synthetic import plan_season, season_inputs

    specs = plan_season(size, 2025)
    inputs = season_inputs(specs)  # what the applicants hand in: made off the clock
    with fresh_database("registration") as engine:
        ours = timed(lambda: _ours(engine, specs, inputs))
        rows = _rows(engine)
    written = sum(len(v) for v in rows.values())
    with fresh_database("registration-raw") as engine:
        raw = timed(lambda: _raw(engine, rows))
    return [row(f"registering enterprises + drafts, bulk door ({written} rows)", size, ours,
                "Core executemany of the same rows", raw, "enterprises")]  # fmt: skip


if __name__ == "__main__":
    for line in run():
        print(line)
