"""The due-item index: each application's next reminder instant, in `application.remind_at` (indexed).

Every insert or update of an application sets it to RECHECK ("look at me at the next sweep"), so no
writer — the one door, a bulk path, an extension — can leave it stale; a sweep looks only at applications
whose instant has come, queues their reminders, and writes each one's next instant (`advance`). A sweep
with nothing due is one probe of the index; its cost grows with what is due, not with all rows.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import and_, exists, func, insert, literal, select, update
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col

from models.tables import RECHECK, Application, Enterprise
from models.types import UTCDateTime
from notifications import recipients
from notifications.sweep_tables import NEXT_INSTANT, emptied


def is_due(now: datetime) -> ColumnElement[bool]:
    return Application.remind_at <= now  # type: ignore[operator,return-value]


def anything_due(session: Session, now: datetime) -> bool:
    return bool(session.scalar(select(exists().where(is_due(now)))))


def recheck(session: Session, season: str) -> int:
    """Look at every application of a season again at the next sweep (a deadline moved: an extension)."""
    statement = update(Application).where(Application.season == season).values(remind_at=RECHECK)  # type: ignore[arg-type]
    return session.execute(statement).rowcount  # type: ignore[attr-defined,no-any-return]


def _next_for(values: Any, names: list[str], kinds: Any, policy: Any, deadlines: Any, now: datetime) -> datetime | None:
    from notifications.reminders import next_instant

    row = SimpleNamespace(**dict(zip(names, values, strict=True)))
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


CLAIMED = RECHECK - timedelta(days=1)  # due (before any sweep's `now`), and told apart from RECHECK
_NEVER = datetime(9999, 1, 1, tzinfo=UTC)  # inside one statement only: "no next reminder" (NULL)


def claim(session: Session, *, season: str, now: datetime) -> ColumnElement[bool]:
    """The applications this sweep reads and advances: those due at `now`, as one predicate.

    On SQLite the sweep's transaction holds the write lock from its BEGIN IMMEDIATE, so "due now" stays the
    same set until it commits. On PostgreSQL one UPDATE marks them CLAIMED and locks them until the sweep
    commits: a transition meanwhile waits, and one committed after it sets RECHECK, which is not CLAIMED, so
    it is looked at by the next sweep and never advanced past a reminder this sweep didn't queue.
    """
    this_season = col(Application.season) == season
    if session.get_bind().dialect.name == "sqlite":
        return and_(this_season, is_due(now))
    table = Application.__table__  # type: ignore[attr-defined]
    session.connection().execute(
        update(table).where(table.c.season == season, table.c.remind_at <= now).values(remind_at=CLAIMED)
    )
    return and_(this_season, col(Application.remind_at) == CLAIMED)


def _signature(dialect: str) -> tuple[Any, ...]:
    """What an application's next reminder instant depends on (its kinds' states, units, tier and dates)."""
    unit = recipients.unit_column
    return (col(Application.state), col(Application.review_level), col(Application.tier), col(Application.track),
            unit(dialect, "jurisdiction"), col(Application.cultivation_ends_on), unit(dialect, "holder"),
            unit(dialect, "top"), recipients.below_top())  # fmt: skip


_NOT_NULL = 5  # state, review_level, tier, track, jurisdiction: compared with = (an index lookup); the rest may be NULL


def advance(session: Session, *, season: Any, policy: Any, now: datetime, deadlines: Any,
            claimed: ColumnElement[bool]) -> int:  # fmt: skip
    """Write the next reminder instant of every application this sweep claimed, set-based; returns how many.

    The claimed rows share a few hundred signatures (state, level, tier, track, units, cultivation end):
    each signature's next instant is computed once, kept in a temporary table, and one UPDATE writes it to
    every row by its signature. A row whose signature is missing (its enterprise moved meanwhile) is
    RECHECKed rather than forgotten.
    """
    dialect = session.get_bind().dialect.name
    signature = _signature(dialect)
    found = session.execute(
        select(*signature).join(Enterprise, col(Enterprise.id) == col(Application.enterprise_id))
        .where(claimed).distinct()
    ).all()  # fmt: skip
    kinds = policy.reminders()
    names = [c.name for c in NEXT_INSTANT.columns if c.name != "next_at"]
    rows = [{**dict(zip(names, row, strict=True)), "next_at": _next_for(row, names, kinds, policy, deadlines, now)}
            for row in found]  # fmt: skip
    connection = session.connection()
    emptied(connection, NEXT_INSTANT)
    if rows:
        connection.execute(insert(NEXT_INSTANT), rows)
    pairs = [(getattr(NEXT_INSTANT.c, name), value) for name, value in zip(names, signature, strict=True)]
    same = [c == v for c, v in pairs[:_NOT_NULL]] + [c.is_not_distinct_from(v) for c, v in pairs[_NOT_NULL:]]
    never = literal(_NEVER, UTCDateTime())
    instant = (
        select(func.coalesce(NEXT_INSTANT.c.next_at, never)).select_from(Enterprise)
        .where(col(Enterprise.id) == col(Application.enterprise_id), *same).limit(1)
        .correlate(Application).scalar_subquery()
    )  # fmt: skip
    value = func.nullif(func.coalesce(instant, literal(RECHECK, UTCDateTime())), never)  # missing → RECHECK
    table = Application.__table__  # type: ignore[attr-defined]
    return int(connection.execute(update(table).where(claimed).values(remind_at=value)).rowcount)
