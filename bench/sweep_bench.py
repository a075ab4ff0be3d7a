"""The reminder sweep over 100,000 applications against one indexed SQL query over the same data.

Data: the real 2025 season; 100,000 applications of 25,000 enterprises spread over every district and
city of Shanghai, Sichuan and Tianjin and every province; states drawn as 30 % draft, 30 % submitted,
20 % local_review, 20 % recommended; one local officer per unit. Bulk-inserted with Core executemany.

Measured in the same run:
- `sweep (first)`: the sweep on 2025-07-15 09:00. Every application was just written, so every one is due
  for a look in the due-item index (`application.remind_at`); it queues the due reminders unrendered and
  writes each application's next reminder instant;
- `sweep (again)`: the same sweep a second time, nothing new (the twice-a-day steady state): one probe of
  the due-item index;
- `render at send time`: what the sender does first with those rows (reported so the cost moved out of
  the sweep stays visible);
- baseline: one indexed query, the drafts per enterprise (`ix_application_season_state`);
- `writes alone`: the least any sweep of this data must write, on a second database seeded the same: the
  very outbox rows the sweep queued, inserted with Core `executemany`, and every application's next
  reminder instant set by one UPDATE, in one transaction. The first sweep is also given against it.

    .venv/bin/python -m bench.sweep_bench [size]
"""

from __future__ import annotations

import random
import sys
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlmodel import Session, col

from bench.common import fresh_database, row, timed
from models.clock import SHANGHAI
from models.tables import Actor, Application, Enterprise, OutboxMessage
from notifications.outbox import render_queued
from notifications.reminders import sweep
from programmes.season import get_season

T0 = datetime(2025, 6, 1, 1, 0, tzinfo=UTC)
NOW = datetime(2025, 7, 15, 9, 0, tzinfo=SHANGHAI)
STATES = ["draft"] * 3 + ["submitted"] * 3 + ["local_review"] * 2 + ["recommended"] * 2


def _seed(engine: Any, size: int, seed: int = 2025) -> None:
    rng = random.Random(seed)
    season = get_season("2025")
    places = [u for u in season.units if (u.level in ("district", "city", "province") and u.code.split(".")[0] in
              ("sh", "sc", "tj")) or u.level == "province"]  # fmt: skip
    enterprises = max(1, size // 4)
    with Session(engine) as session:
        session.execute(insert(Actor), [
            {"name": f"{u.name_zh}联络员", "email": f"officer@{u.code}.gov.example.cn", "role": "local_officer",
             "unit": u.code}
            for u in season.units
        ])  # fmt: skip
        ent_rows: list[dict[str, Any]] = []
        homes: list[str] = []
        for n in range(enterprises):
            unit = rng.choice(places)
            province = unit.code.split(".")[0]
            homes.append(unit.code)
            ent_rows.append({
                "credit_code": f"91{n:016d}", "name": f"企业{n}", "province": province,
                "city": None, "district": unit.code if unit.code != province else None, "industry": "装备制造",
                "is_branch": False, "above_designated_size": True, "clean_record_3y": True,
                "security_controllable": True, "has_smart_factory_org": True, "demonstration_unit": False,
                "recognitions": [], "contact_name": f"联系人{n}", "contact_email": f"contact{n}@corp.example.com",
                "contact_phone": "", "created_at": T0,
            })  # fmt: skip
        session.execute(insert(Enterprise), ent_rows)
        ids = list(session.scalars(select(col(Enterprise.id)).order_by(col(Enterprise.id))))
        chains = {code: _chain(season, code) for code in set(homes)}
        apps: list[dict[str, Any]] = []
        for i in range(size):
            k = i % enterprises
            chain = chains[homes[k]]
            state = rng.choice(STATES)
            level = (
                rng.randrange(len(chain))
                if state == "local_review"
                else (len(chain) - 1 if state == "recommended" else 0)
            )
            apps.append({
                "enterprise_id": ids[k], "tier": rng.choice(["excellent", "leading"]) if chain[0].startswith("sh") or
                chain[0].startswith("tj") else "excellent", "track": "national", "season": "2025", "state": state,
                "version": 1, "title": f"项目{i}", "content": {}, "pledge": {}, "chain": chain, "review_level": level,
                "ranks": {}, "warnings": [], "milestones": {}, "open_objections": 0, "audit_head": "",
                "audit_count": 0, "created_at": T0, "updated_at": T0,
            })  # fmt: skip
        session.execute(insert(Application), apps)
        session.commit()


def _chain(season: Any, code: str) -> list[str]:
    """Lowest first: the unit, its parents up to the province (what chain_for gives for these rules)."""
    return list(season.lineage(code))


def _writes_alone(size: int, outbox_rows: list[dict[str, Any]]) -> float:
    """Seconds to write what the first sweep wrote, bare: its outbox rows and a next instant per application."""
    later = datetime(2025, 7, 16, 1, 0, tzinfo=UTC)
    with fresh_database("sweep-writes") as engine:
        _seed(engine, size)

        def writes() -> None:
            with engine.begin() as conn:
                conn.execute(insert(OutboxMessage), outbox_rows)
                conn.execute(update(Application).values(remind_at=later))

        return timed(writes)


def run(size: int = 100_000) -> list[dict[str, Any]]:
    with fresh_database("sweep") as engine:
        _seed(engine, size)
        reports: list[Any] = []

        def do_sweep() -> None:
            with Session(engine) as session:
                reports.append(sweep(session, now=NOW))

        def baseline() -> None:
            with Session(engine) as session:
                session.execute(
                    select(col(Application.enterprise_id), func.count())
                    .where(col(Application.season) == "2025", col(Application.state) == "draft")
                    .group_by(col(Application.enterprise_id))
                ).all()

        baseline()  # warm the page cache for both
        base = min(timed(baseline) for _ in range(3))
        first = timed(do_sweep)
        again = timed(do_sweep)
        queued = reports[0].queued
        with engine.connect() as conn:
            table = OutboxMessage.__table__  # type: ignore[attr-defined]
            outbox_rows = [dict(r._mapping) for r in conn.execute(select(*(c for c in table.c if c.name != "id")))]
        rendering = timed(lambda: render_queued(engine))
    floor = _writes_alone(size, outbox_rows)
    return [
        row(f"reminder sweep, first ({queued} queued)", size, first, "one indexed query", base, "applications"),
        row("reminder sweep, again (0 new)", size, again, "one indexed query", base, "applications"),
        row(f"render the {queued} at send time", size, rendering, "one indexed query", base, "applications"),
        row(f"the first sweep's writes alone ({queued} outbox rows, {size} next instants)", size, floor,
            "one indexed query", base, "applications"),
        row("reminder sweep, first, vs its writes alone", size, first, "the writes alone", floor, "applications"),
    ]  # fmt: skip


def main() -> None:
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    for r in run(size):
        print(
            f"{r['benchmark']:<40} {r['size']:>7} apps  {r['seconds']:>7.3f} s   "
            f"baseline {r['baseline']} {r['baseline_seconds']:.3f} s   ratio {r['ratio']}x"
        )


if __name__ == "__main__":
    main()
