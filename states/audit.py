"""The audit trail: append-only events, hash-chained per subject, verifiable by auditors.

Each event's hash covers its fields and the previous event's hash (HMAC-SHA256 when
FACTORY_REVIEW_AUDIT_KEY is set, so a forger can't recompute the chain without the key). The chain head
and length are kept beside the subject (on the application row; in `audit_chain` for units), so a
removed tail is detected too. Each event also records the audited row after the change (states.audit_rows),
so `verify` replays every chain and compares it with the live row (states.audit_replay), and an anchor
taken earlier proves that no chain recorded before it was changed or deleted (states.ledger).
"""

from __future__ import annotations

import hashlib
import hmac
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, Required, TypedDict, TypeVar, Unpack

from sqlalchemy import select
from sqlmodel import Session, col

from models.clock import to_utc
from models.settings import get_settings
from models.tables import Actor, Application, AuditChain, AuditEvent
from states.audit_rows import canonical_json, content_digest, snapshot

__all__ = ["GENESIS", "append_event", "canonical_json", "content_digest", "history", "verify"]

GENESIS = "0" * 64


def audit_key() -> bytes | None:
    secret = get_settings().audit_key
    return secret.get_secret_value().encode("utf-8") if secret else None


def event_hash(fields: dict[str, Any], prev_hash: str, key: bytes | None = None) -> str:
    payload = (prev_hash + canonical_json(fields)).encode("utf-8")
    if key:
        return hmac.new(key, payload, hashlib.sha256).hexdigest()
    return hashlib.sha256(payload).hexdigest()


def hashed_fields(event: AuditEvent | SimpleNamespace) -> dict[str, Any]:
    assert event.at is not None
    fields: dict[str, Any] = {
        "subject": event.subject,
        "seq": event.seq,
        "application_id": event.application_id,
        "actor": [event.actor_name, event.actor_role, event.actor_unit],
        "event": event.event,
        "from": event.from_state,
        "to": event.to_state,
        "reason": event.reason,
        "data": event.data,
        "at": to_utc(event.at).isoformat(timespec="microseconds"),
    }
    if event.recorded_at is not None:  # absent only on events older than pre-release revision 0002
        fields["recorded_at"] = to_utc(event.recorded_at).isoformat(timespec="microseconds")
    return fields


def _holder(session: Session, subject: str) -> Application | AuditChain:
    """Where the subject's chain head lives: the application row, or an audit_chain row (locked)."""
    if subject.startswith("application:"):
        application = session.get(Application, int(subject.split(":", 1)[1]))
        if application is None:
            raise LookupError(subject)
        return application
    chain = session.scalars(select(AuditChain).where(col(AuditChain.subject) == subject).with_for_update()).first()
    if chain is None:
        chain = AuditChain(subject=subject, head="", count=0)
        session.add(chain)
    return chain


R = TypeVar("R")


class EventArgs(TypedDict, total=False):
    """What the writer of an audit event says about it; the chain adds its place (seq, hashes) and facts."""

    actor: Required[Actor]
    event: Required[str]
    at: Required[datetime]  # the business instant
    from_state: str | None
    to_state: str | None
    reason: str  # none: ""
    data: dict[str, Any] | None
    application_id: int | None
    record: Any  # the audited row the event changed (see `append_event`)


def append_event(session: Session, *, subject: str, **fields: Unpack[EventArgs]) -> AuditEvent:
    """Append one event to a subject's chain inside the caller's transaction (no commit).

    `record` is the audited row the event changed (an application's own row by default): its snapshot
    after the change goes into `data["row"]`, which `verify` compares with the live row."""
    written = AuditEvent(**append_row(session, subject=subject, **fields))
    session.add(written)
    return written


def add_audited(session: Session, row: R, subject: str | Callable[[R], str], **fields: Unpack[EventArgs]) -> R:
    """Add a new row and the audit event that made it, in the caller's transaction (no commit). `subject`
    may be computed from the row once it has its id (`lambda e: f"expert:{e.id}"`)."""
    session.add(row)
    if callable(subject):
        session.flush()  # the id the subject names
        subject = subject(row)
    append_event(session, subject=subject, **fields)
    return row


def append_row(session: Session, *, subject: str, **fields: Unpack[EventArgs]) -> dict[str, Any]:
    """The next event of the subject's chain as a row, its head moved on (the caller inserts the row in
    the same transaction: `append_event` one, `states.bulk` a batch's with one statement)."""
    holder = _holder(session, subject)
    if isinstance(holder, Application):
        prev, count = holder.audit_head or GENESIS, holder.audit_count
        if fields.get("record") is None:
            fields["record"] = holder
    else:
        prev, count = holder.head or GENESIS, holder.count
    row = chained_row(prev, count, subject=subject, **fields)
    if isinstance(holder, Application):
        holder.audit_head, holder.audit_count = row["hash"], row["seq"]
    else:
        holder.head, holder.count = row["hash"], row["seq"]
    return row


def chained_row(
    prev: str, count: int, *, subject: str, row_snapshot: dict[str, Any] | None = None, **fields: Unpack[EventArgs]
) -> dict[str, Any]:
    """The columns of the next event of a chain, hashed, with its facts (the flow run, the snapshot of
    `record`, or `row_snapshot` already taken by `audit_rows.snapshot_of`): `append_event` makes one
    `AuditEvent` of it; `states.bulk` inserts many such rows with one statement (no ORM object per row)."""
    actor, record = fields["actor"], fields.get("record")
    row: dict[str, Any] = {
        "subject": subject,
        "seq": count + 1,
        "application_id": fields.get("application_id"),
        "actor_name": actor.name,
        "actor_role": actor.role,
        "actor_unit": actor.unit,
        "event": fields["event"],
        "from_state": fields.get("from_state"),
        "to_state": fields.get("to_state"),
        "reason": fields.get("reason", ""),
        "data": _with_facts(fields.get("data") or {}, snapshot(record) if record is not None else row_snapshot),
        "at": to_utc(fields["at"]),
        "recorded_at": datetime.now(UTC),
        "prev_hash": prev or GENESIS,
    }
    row["hash"] = event_hash(hashed_fields(SimpleNamespace(**row)), row["prev_hash"], audit_key())
    return row


def flow_run_facts() -> dict[str, str] | None:
    """The Prefect flow run this event was written in, if any. Prefect is consulted only when already
    imported (a flow is running in this process), so the CLI never pays for importing it."""
    if "prefect" not in sys.modules:
        return None
    from prefect.runtime import flow_run

    run_id = flow_run.id
    return {"id": str(run_id), "name": str(flow_run.name)} if run_id else None


_FACTS = ("flow_run", "row")  # written by the system only: a caller's data can't pose as them


def _with_facts(data: dict[str, Any], row: dict[str, Any] | None) -> dict[str, Any]:
    facts = {k: v for k, v in data.items() if k not in _FACTS}
    if (run := flow_run_facts()) is not None:
        facts["flow_run"] = run
    if row is not None:
        facts["row"] = row
    return facts


@dataclass
class Chains:
    """Every chain as stored: the head and length kept beside each subject, and its events in order."""

    heads: dict[str, tuple[str, int]] = field(default_factory=dict)
    events: dict[str, list[AuditEvent]] = field(default_factory=dict)

    @property
    def subjects(self) -> list[str]:
        return sorted(set(self.heads) | set(self.events))


def load_chains(session: Session) -> Chains:
    chains = Chains()
    for app_id, head, count in session.execute(
        select(col(Application.id), col(Application.audit_head), col(Application.audit_count))
    ):
        chains.heads[f"application:{app_id}"] = (head, count)
    for subject, head, count in session.execute(
        select(col(AuditChain.subject), col(AuditChain.head), col(AuditChain.count))
    ):
        chains.heads[subject] = (head, count)
    for row in session.execute(
        select(AuditEvent).order_by(col(AuditEvent.subject), col(AuditEvent.seq), col(AuditEvent.id))
    ).scalars():
        chains.events.setdefault(row.subject, []).append(row)
    return chains


@dataclass
class VerifyReport:
    subjects: int = 0
    events: int = 0
    rows: int = 0  # live rows cross-checked with their chains
    anchor: str | None = None  # the anchor checked against, if any
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "subjects": self.subjects, "events": self.events, "rows": self.rows,
                "anchor": self.anchor, "problems": self.problems}  # fmt: skip


def verify_chain(
    subject: str, events: list[AuditEvent], head: str, count: int, key: bytes | None, *, prev: str = GENESIS
) -> Iterator[str]:
    """Recompute one chain; yield its first break. An export may start mid-chain: then `prev` is the
    hash its first event follows and numbering starts at that event's seq."""
    first_seq = events[0].seq if events and prev != GENESIS else 1
    for expected_seq, event in enumerate(events, start=first_seq):
        where = f"{subject} event #{event.seq} (id {event.id})"
        if event.seq != expected_seq:
            yield f"{where}: sequence gap or reorder (expected #{expected_seq})"
            return
        if event.prev_hash != prev:
            yield f"{where}: does not follow the previous event (deleted, inserted or reordered)"
            return
        if event_hash(hashed_fields(event), prev, key) != event.hash:
            yield f"{where}: content does not match its hash (edited)"
            return
        prev = event.hash
    last_seq = first_seq + len(events) - 1
    if last_seq != count or (head or GENESIS) != prev:
        yield (
            f"{subject}: chain holds {last_seq} events ending {prev[:12]}, head says {count} ending "
            f"{head[:12]} (tail removed or added)"
        )


def verify_chains(chains: Chains, key: bytes | None) -> Iterator[str]:
    for subject in chains.subjects:
        events = chains.events.get(subject, [])
        if subject not in chains.heads and events:
            yield f"{subject}: events without a chain head (its row or head was deleted)"
            continue
        head, count = chains.heads.get(subject, ("", 0))
        yield from verify_chain(subject, events, head, count, key)


def verify(session: Session, *, anchor: dict[str, Any] | None = None) -> VerifyReport:
    """Recompute every chain, replay it against its live row, and (given an anchor document) prove that
    nothing recorded before the anchor changed or disappeared. Problems come first-bad-row first."""
    from states.audit_replay import cross_check
    from states.ledger import check_anchor

    key = audit_key()
    chains = load_chains(session)
    report = VerifyReport(subjects=len(chains.subjects), events=sum(len(e) for e in chains.events.values()))
    report.problems.extend(verify_chains(chains, key))
    report.rows, row_problems = cross_check(session, chains)
    report.problems.extend(row_problems)
    if anchor is not None:
        report.anchor = str(anchor.get("taken_at"))
        report.problems.extend(check_anchor(session, anchor, chains, key))
    return report


def history(session: Session, subject: str) -> list[AuditEvent]:
    rows: Iterable[AuditEvent] = session.execute(
        select(AuditEvent).where(col(AuditEvent.subject) == subject).order_by(col(AuditEvent.seq))
    ).scalars()
    return list(rows)


def application_histories(session: Session, application_ids: Iterable[int]) -> dict[int, list[AuditEvent]]:
    """`history` of many applications with one query: their events by application id, each in order."""
    subjects = [f"application:{i}" for i in sorted(set(application_ids))]
    found: dict[int, list[AuditEvent]] = {}
    query = select(AuditEvent).where(col(AuditEvent.subject).in_(subjects)).order_by(col(AuditEvent.seq))
    for event in session.scalars(query):
        found.setdefault(int(event.subject.split(":", 1)[1]), []).append(event)
    return found
