"""Rows cross-checked with their chains: replay each chain, compare where it ends with the live row.

A chain is replayed event by event: each event must start from the state the previous one left
(`from_state`), and each records the audited row after it (`data["row"]`, states.audit_rows). The last
snapshot is what the row must hold now; a column that differs was changed without an event (or the
chain was cut short) and is reported as tampered, naming the column.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlmodel import Session

from models.tables import Account, Application, DeadlineExtension, Enterprise, RecommendationRound
from states.audit_rows import differences, row_key, snapshot

if TYPE_CHECKING:
    from states.audit import Chains


@dataclass(frozen=True)
class Audited:
    """A table whose rows have a chain: the chain's subject prefix and how a row names its subject."""

    prefix: str
    table: type[Any]
    subject: Callable[[Any], str]


# An account's chain records the row after each grant, role change, deactivation, reset and confirmation,
# so its role, unit, active and confirmed flags are cross-checked like an application's state.
AUDITED: list[Audited] = [
    Audited("account", Account, lambda row: f"account:{row.id}"),
    Audited("application", Application, lambda row: f"application:{row.id}"),
    Audited("enterprise", Enterprise, lambda row: f"enterprise:{row.credit_code}"),
    Audited("unit", RecommendationRound, lambda row: f"unit:{row.unit}:{row.season}"),
    Audited("unit", DeadlineExtension, lambda row: f"unit:{row.unit}:{row.season}"),
]


def register_audited(prefix: str, table: type[Any], subject: Callable[[Any], str]) -> None:
    """Add a table to the cross-check (accounts: `account:<id>`, see ACCOUNTS-CONTRACT)."""
    if all(a.table is not table for a in AUDITED):
        AUDITED.append(Audited(prefix, table, subject))


@dataclass
class Replayed:
    """Where a chain ends: each row it recorded (by table and id), with the event that last did."""

    subject: str
    rows: dict[tuple[str, Any], tuple[dict[str, Any], int]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def replay(subject: str, events: list[Any]) -> Replayed:
    """Replay a chain: each event must start from the state the previous one left; keep the last
    snapshot of every row it recorded."""
    replayed = Replayed(subject)
    state: str | None = None
    for event in events:
        if event.from_state is not None and state is not None and event.from_state != state:
            where = f"{subject} event #{event.seq} (id {event.id})"
            replayed.problems.append(f"{where}: starts from '{event.from_state}' but its chain was at '{state}'")
            return replayed
        state = event.to_state or state
        recorded = (event.data or {}).get("row")
        if isinstance(recorded, dict):
            replayed.rows[row_key(recorded)] = (recorded, event.seq)
    return replayed


def _compare(subject: str, live: Any, recorded: dict[str, Any], seq: int) -> Iterator[str]:
    current = snapshot(live)
    changed = differences(recorded, current)
    if changed:
        column = changed[0]
        yield (
            f"{subject} (row id {live.id}): column {column} is {_short(current[column])}, its chain "
            f"(event #{seq}) says {_short(recorded[column])}"
            + (f"; also {', '.join(changed[1:])}" if changed[1:] else "")
            + " (tampered: changed without an audit event)"
        )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def cross_check(session: Session, chains: Chains) -> tuple[int, list[str]]:
    """Compare every audited row with its replayed chain; report rows a chain recorded that are gone."""
    problems: list[str] = []
    recorded: dict[tuple[str, Any], tuple[str, dict[str, Any], int]] = {}
    for subject in chains.subjects:
        replayed = replay(subject, chains.events.get(subject, []))
        problems.extend(replayed.problems)
        recorded.update({key: (subject, row, seq) for key, (row, seq) in replayed.rows.items()})
    checked = 0
    for audited in AUDITED:
        name = audited.table.__tablename__
        for live in session.scalars(select(audited.table)):
            checked += 1
            subject = audited.subject(live)
            found = recorded.pop((name, live.id), None)
            if found is not None:
                problems.extend(_compare(found[0], live, found[1], found[2]))
            elif not chains.events.get(subject):
                problems.append(f"{subject} (row id {live.id}): the row has no chain (inserted outside the services)")
            # else: a chain older than pre-release revision 0004 records no rows; nothing to compare
    names = {a.table.__tablename__ for a in AUDITED}
    for (table, row_id), (subject, _, seq) in sorted(recorded.items(), key=lambda item: item[1][0]):
        # A chain without its head (an application row deleted) is reported by the chain check already.
        if table in names and subject in chains.heads:
            problems.append(f"{subject}: its chain (event #{seq}) records {table} row {row_id}, which is gone "
                            "(row deleted)")  # fmt: skip
    return checked, problems
