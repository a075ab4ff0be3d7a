"""Committed transitions through the one door vs raw SQLAlchemy Core writes of the same rows.

Each door transition: lock the row, authorise, run the machine, update the state (version check), append
a hash-chained audit event, queue one outbox mail, commit. The baseline writes the same three rows per
application with Core, one commit each — what the door costs over the bare writes.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, update
from sqlmodel import Session

from bench.common import fresh_database, qingpu_enterprise, row, timed
from models.enums import Role
from models.tables import Actor, Application, AuditEvent, OutboxMessage
from states.service import transition

T0 = datetime(2025, 7, 1, 1, 0, tzinfo=UTC)


def _seed(engine: Any, n: int) -> Actor:
    with Session(engine) as session:
        enterprise = qingpu_enterprise(session, "MA1BENCH0", "基准测试企业", T0, contact_email="bench@example.cn")
        session.execute(
            insert(Application),
            [
                {
                    "enterprise_id": enterprise.id,
                    "tier": "excellent",
                    "track": "national",
                    "season": "2025",
                    "state": "draft",
                    "version": 1,
                    "title": f"项目{i}",
                    "content": {},
                    "pledge": {},
                    "chain": ["sh.qingpu", "sh"],
                    "review_level": 0,
                    "ranks": {},
                    "warnings": [],
                    "milestones": {},
                    "open_objections": 0,
                    "audit_head": "",
                    "audit_count": 0,
                    "created_at": T0,
                    "updated_at": T0,
                }
                for i in range(n)
            ],
        )
        session.commit()
        return Actor(name=enterprise.name, email="bench@example.cn", role=Role.ENTERPRISE, unit=enterprise.credit_code)


def _raw_writes(conn: Any, app_id: int, at: datetime) -> None:
    """The rows one withdrawal writes (state, audit event, outbox mail), as bare Core statements."""
    conn.execute(
        update(Application)
        .where(Application.id == app_id)  # type: ignore[arg-type]
        .values(state="withdrawn", version=2, audit_head="x" * 64, audit_count=1)
    )
    conn.execute(
        insert(AuditEvent).values(
            subject=f"application:{app_id}",
            seq=1,
            application_id=app_id,
            actor_name="a",
            actor_role="enterprise",
            actor_unit="u",
            event="withdraw",
            from_state="draft",
            to_state="withdrawn",
            reason="",
            data={},
            at=at,
            prev_hash="0" * 64,
            hash="x" * 64,
        )
    )
    conn.execute(
        insert(OutboxMessage).values(
            dedupe_key=f"k{app_id}",
            kind="transition",
            locale="zh-CN",
            recipient="bench@example.cn",
            recipient_name="n",
            subject="s",
            body_text="t",
            body_html="h",
            message_id=f"<{app_id}@b>",
            status="pending",
            attempts=0,
            last_error="",
            created_at=at,
            next_attempt_at=at,
        )
    )


def run(n: int | None = None) -> list[dict[str, Any]]:
    n = n or int(os.environ.get("BENCH_TRANSITIONS", "2000"))
    with fresh_database("door") as engine:
        actor = _seed(engine, n)

        def through_door() -> None:
            with Session(engine, expire_on_commit=False) as session:
                for app_id in range(1, n + 1):
                    transition(session, app_id, "withdraw", actor=actor, at=T0 + timedelta(seconds=app_id))

        door_seconds = timed(through_door)
    with fresh_database("raw") as engine:
        _seed(engine, n)

        def raw_core() -> None:
            with engine.connect() as conn:
                for app_id in range(1, n + 1):
                    with conn.begin():
                        at = T0 + timedelta(seconds=app_id)
                        _raw_writes(conn, app_id, at)

        raw_seconds = timed(raw_core)
    return [
        row(
            "committed transitions via the one door",
            n,
            door_seconds,
            "raw Core writes of the same rows",
            raw_seconds,
            "transitions",
        )
    ]


if __name__ == "__main__":
    for line in run():
        print(line)
