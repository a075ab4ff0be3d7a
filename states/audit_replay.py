"""Rows cross-checked with their chains: replay each chain, compare where it ends with the live row.

A chain is replayed event by event: each event must start from the state the previous one left
(`from_state`), and each records the audited row after it (`data["row"]`, states.audit_rows). The last
snapshot is what the row must hold now; a column that differs was changed without an event (or the
chain was cut short) and is reported as tampered, naming the column.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlmodel import Session

from models.tables import Application, Enterprise
from states.audit_rows import differences, snapshot

if TYPE_CHECKING:
    from states.audit import Chains


@dataclass(frozen=True)
class Audited:
    """A table whose rows have a chain: the chain's subject prefix and how a row names its subject."""

    prefix: str
    table: type[Any]
    subject: Callable[[Any], str]


AUDITED: list[Audited] = [
    Audited("application", Application, lambda row: f"application:{row.id}"),
    Audited("enterprise", Enterprise, lambda row: f"enterprise:{row.credit_code}"),
]


def register_audited(prefix: str, table: type[Any], subject: Callable[[Any], str]) -> None:
    """Add a table to the cross-check (accounts: `account:<id>`, see ACCOUNTS-CONTRACT)."""
    if all(a.prefix != prefix for a in AUDITED):
        AUDITED.append(Audited(prefix, table, subject))


def replay(subject: str, events: list[Any]) -> tuple[dict[str, Any] | None, int, list[str]]:
    """Replay a chain: (the last recorded row, the seq that recorded it, problems of order)."""
    state: str | None = None
    row: dict[str, Any] | None = None
    seq = 0
    for event in events:
        if event.from_state is not None and state is not None and event.from_state != state:
            where = f"{subject} event #{event.seq} (id {event.id})"
            return row, seq, [f"{where}: starts from '{event.from_state}' but its chain was at '{state}'"]
        state = event.to_state or state
        recorded = (event.data or {}).get("row")
        if isinstance(recorded, dict):
            row, seq = recorded, event.seq
    return row, seq, []


def _compare(audited: Audited, live: Any, events: list[Any]) -> Iterator[str]:
    subject = audited.subject(live)
    if not events:
        yield f"{subject} (row id {live.id}): the row has no chain (inserted outside the audited services)"
        return
    recorded, seq, problems = replay(subject, events)
    yield from problems
    if recorded is None:  # events older than migration 0004 recorded no row: nothing to compare
        return
    current = snapshot(live)
    for column in differences(recorded, current)[:1]:
        more = [c for c in differences(recorded, current) if c != column]
        yield (
            f"{subject} (row id {live.id}): column {column} is {_short(current[column])}, its chain "
            f"(event #{seq}) says {_short(recorded[column])}"
            + (f"; also {', '.join(more)}" if more else "")
            + " (tampered: changed without an audit event)"
        )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def cross_check(session: Session, chains: Chains) -> tuple[int, list[str]]:
    """Compare every audited row with its replayed chain; also report chains whose row is gone."""
    problems: list[str] = []
    checked = 0
    for audited in AUDITED:
        seen: set[str] = set()
        for live in session.scalars(select(audited.table)):
            subject = audited.subject(live)
            seen.add(subject)
            checked += 1
            problems.extend(_compare(audited, live, chains.events.get(subject, [])))
        for subject in chains.subjects:
            orphan = subject not in seen and subject in chains.heads and chains.events.get(subject)
            if subject.startswith(audited.prefix + ":") and orphan:
                problems.append(f"{subject}: a chain without its {audited.prefix} row (row deleted)")
    return checked, problems
