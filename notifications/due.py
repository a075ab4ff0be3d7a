"""The due-item index: each application's next reminder instant, in `application.remind_at` (indexed).

Every insert or update of an application sets it to RECHECK ("look at me at the next sweep"), so no
writer — the one door, a bulk path, an extension — can leave it stale; a sweep looks only at applications
whose instant has come, queues their reminders, and writes each one's next instant (`advance`). A sweep
with nothing due is one probe of the index; its cost grows with what is due, not with all rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, exists, select, update
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col

from models.tables import RECHECK, Application, Enterprise
from notifications import recipients


def is_due(now: datetime) -> ColumnElement[bool]:
    return Application.remind_at <= now  # type: ignore[operator,return-value]


def anything_due(session: Session, now: datetime) -> bool:
    return bool(session.scalar(select(exists().where(is_due(now)))))


def recheck(session: Session, season: str) -> int:
    """Look at every application of a season again at the next sweep (a deadline moved: an extension)."""
    statement = update(Application).where(Application.season == season).values(remind_at=RECHECK)  # type: ignore[arg-type]
    return session.execute(statement).rowcount  # type: ignore[attr-defined,no-any-return]


def _next_for(row: Any, kinds: Any, policy: Any, deadlines: Any, now: datetime) -> datetime | None:
    from notifications.reminders import next_instant

    found: list[datetime] = []
    for rule in kinds:
        if row.state not in rule.states or (rule.below_top and not row.below_top):
            continue
        if rule.when == "cultivation":
            dated = row.cultivation_ends_on
        else:
            deadline = deadlines.get(getattr(row, rule.unit), rule.step, row.tier, row.track)
            dated = deadline.on if deadline is not None else None
        if dated is not None and (instant := next_instant(rule, policy, dated, now)) is not None:
            found.append(instant)
    return min(found, default=None)


def advance(session: Session, *, season: Any, policy: Any, now: datetime, deadlines: Any) -> int:
    """Write the next reminder instant of every application looked at by this sweep; returns how many.

    Each update also requires the state and level it was computed from, so a transition committed
    meanwhile keeps its RECHECK and is looked at again by the next sweep.
    """
    dialect = session.get_bind().dialect.name
    unit = recipients.unit_column
    query = (
        select(col(Application.id), col(Application.state), col(Application.review_level), col(Application.tier),
               col(Application.track), col(Application.cultivation_ends_on),
               unit(dialect, "jurisdiction").label("jurisdiction"),
               unit(dialect, "holder").label("holder"), unit(dialect, "top").label("top"),
               recipients.below_top().label("below_top"))
        .join(Enterprise, col(Enterprise.id) == col(Application.enterprise_id))
        .where(is_due(now), col(Application.season) == season.name)
        .order_by(col(Application.id))  # one lock order for every sweep (two sweeps at once on PostgreSQL)
    )  # fmt: skip
    kinds = policy.reminders()
    memo: dict[tuple[Any, ...], datetime | None] = {}  # applications sharing units, tier and state share it
    rows = []
    for row in session.execute(query):
        key = tuple(row[1:])
        if key not in memo:
            memo[key] = _next_for(row, kinds, policy, deadlines, now)
        rows.append({"row_id": row.id, "seen_state": row.state, "seen_level": row.review_level, "next_at": memo[key]})
    if rows:
        table = Application.__table__  # type: ignore[attr-defined]
        statement = (
            update(table)
            .where(table.c.id == bindparam("row_id"), table.c.state == bindparam("seen_state"),
                   table.c.review_level == bindparam("seen_level"), table.c.remind_at <= now)
            .values(remind_at=bindparam("next_at"))
        )  # fmt: skip
        session.connection().execute(statement, rows)
    return len(rows)
