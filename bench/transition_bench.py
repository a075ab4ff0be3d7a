"""Committed transitions through the one door vs raw SQLAlchemy Core writes of the same rows.

Each door transition: lock the row, authorise, run the machine, update the state (version check), append
a hash-chained audit event, queue one outbox mail, commit. The baseline writes the same three rows per
application with Core, one commit each — what the door costs over the bare writes.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, insert, select, update
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


def _door_rows(engine: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The audit event and the outbox mail the door wrote for application 1, without their ids: the rows
    the baseline writes again, once per application."""
    tables: tuple[Table, Table] = (AuditEvent.__table__, OutboxMessage.__table__)  # type: ignore[attr-defined]
    with engine.connect() as conn:
        event, mail = (conn.execute(select(t).where(t.c.application_id == 1)).mappings().one() for t in tables)
    return ({k: v for k, v in event.items() if k != "id"}, {k: v for k, v in mail.items() if k != "id"})


def _raw_writes(conn: Any, app_id: int, at: datetime, event: dict[str, Any], mail: dict[str, Any]) -> None:
    """The rows one withdrawal writes (state, audit event, outbox mail), as bare Core statements: the door's
    own event and mail for application 1, made application `app_id`'s."""
    conn.execute(
        update(Application)
        .where(Application.id == app_id)  # type: ignore[arg-type]
        .values(state="withdrawn", version=2, audit_head=event["hash"], audit_count=1)
    )
    conn.execute(insert(AuditEvent).values({**event, "subject": f"application:{app_id}", "application_id": app_id,
                                            "at": at}))  # fmt: skip
    conn.execute(insert(OutboxMessage).values({**mail, "dedupe_key": f"k{app_id}", "message_id": f"<{app_id}@b>",
                                               "application_id": app_id, "created_at": at,
                                               "next_attempt_at": at}))  # fmt: skip


def run(n: int | None = None) -> list[dict[str, Any]]:
    n = n or int(os.environ.get("BENCH_TRANSITIONS", "2000"))
    with fresh_database("door") as engine:
        actor = _seed(engine, n)

        def through_door() -> None:
            with Session(engine, expire_on_commit=False) as session:
                for app_id in range(1, n + 1):
                    transition(session, app_id, "withdraw", actor=actor, at=T0 + timedelta(seconds=app_id))

        door_seconds = timed(through_door)
        event, mail = _door_rows(engine)
    with fresh_database("raw") as engine:
        _seed(engine, n)

        def raw_core() -> None:
            with engine.connect() as conn:
                for app_id in range(1, n + 1):
                    with conn.begin():
                        at = T0 + timedelta(seconds=app_id)
                        _raw_writes(conn, app_id, at, event, mail)

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
