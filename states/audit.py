"""The audit trail: append-only events, hash-chained per subject, verifiable by auditors.

Each event's hash covers its fields and the previous event's hash (HMAC-SHA256 when
FACTORY_REVIEW_AUDIT_KEY is set, so a forger can't recompute the chain without the key). The chain head
and length are kept beside the subject (on the application row; in `audit_chain` for units), so a
removed tail is detected too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from models.clock import to_utc
from models.settings import get_settings
from models.tables import Actor, Application, AuditChain, AuditEvent

GENESIS = "0" * 64


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, UTF-8 kept (what the content hash and chain hash use)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def content_digest(content: Any) -> str:
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()


def _key() -> bytes | None:
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
    if event.recorded_at is not None:  # absent only on events older than migration 0002
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


def append_event(
    session: Session,
    *,
    subject: str,
    actor: Actor,
    event: str,
    at: datetime,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str = "",
    data: dict[str, Any] | None = None,
    application_id: int | None = None,
) -> AuditEvent:
    """Append one event to a subject's chain inside the caller's transaction (no commit)."""
    row = append_row(session, subject=subject, actor=actor, event=event, at=at, from_state=from_state,
                     to_state=to_state, reason=reason, data=data, application_id=application_id)  # fmt: skip
    record = AuditEvent(**row)
    session.add(record)
    return record


def append_row(session: Session, *, subject: str, **fields: Any) -> dict[str, Any]:
    """The next event of the subject's chain as a row, its head moved on (the caller inserts the row in
    the same transaction: `append_event` one, `states.bulk` a batch's with one statement)."""
    holder = _holder(session, subject)
    if isinstance(holder, Application):
        prev, count = holder.audit_head or GENESIS, holder.audit_count
    else:
        prev, count = holder.head or GENESIS, holder.count
    row = chained_row(prev, count, subject=subject, **fields)
    if isinstance(holder, Application):
        holder.audit_head, holder.audit_count = row["hash"], row["seq"]
    else:
        holder.head, holder.count = row["hash"], row["seq"]
    return row


def chained_row(
    prev: str,
    count: int,
    *,
    subject: str,
    actor: Actor,
    event: str,
    at: datetime,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str = "",
    data: dict[str, Any] | None = None,
    application_id: int | None = None,
) -> dict[str, Any]:
    """The columns of the next event of a chain, hashed: `append_event` makes one `AuditEvent` of it;
    `states.bulk` inserts many such rows with one statement (no ORM object per row)."""
    row: dict[str, Any] = {
        "subject": subject,
        "seq": count + 1,
        "application_id": application_id,
        "actor_name": actor.name,
        "actor_role": actor.role,
        "actor_unit": actor.unit,
        "event": event,
        "from_state": from_state,
        "to_state": to_state,
        "reason": reason,
        "data": data or {},
        "at": to_utc(at),
        "recorded_at": datetime.now(UTC),
        "prev_hash": prev or GENESIS,
    }
    row["hash"] = event_hash(hashed_fields(SimpleNamespace(**row)), row["prev_hash"], _key())
    return row


@dataclass
class VerifyReport:
    subjects: int = 0
    events: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _verify_chain(subject: str, events: list[AuditEvent], head: str, count: int, key: bytes | None) -> Iterator[str]:
    prev = GENESIS
    for expected_seq, event in enumerate(events, start=1):
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
    if len(events) != count or (head or GENESIS) != prev:
        yield (
            f"{subject}: chain holds {len(events)} events ending {prev[:12]}, head says {count} ending "
            f"{head[:12]} (tail removed or added)"
        )


def verify(session: Session) -> VerifyReport:
    """Recompute every chain; report each broken subject once."""
    key = _key()
    report = VerifyReport()
    heads: dict[str, tuple[str, int]] = {}
    for app_id, head, count in session.execute(
        select(col(Application.id), col(Application.audit_head), col(Application.audit_count))
    ):
        heads[f"application:{app_id}"] = (head, count)
    for chain in session.execute(select(col(AuditChain.subject), col(AuditChain.head), col(AuditChain.count))):
        heads[chain[0]] = (chain[1], chain[2])
    events_by_subject: dict[str, list[AuditEvent]] = {}
    for row in session.execute(
        select(AuditEvent).order_by(col(AuditEvent.subject), col(AuditEvent.seq), col(AuditEvent.id))
    ).scalars():  # type: ignore[arg-type]
        events_by_subject.setdefault(row.subject, []).append(row)
    for subject in sorted(set(heads) | set(events_by_subject)):
        events = events_by_subject.get(subject, [])
        head, count = heads.get(subject, ("", 0))
        if subject not in heads and events:
            report.problems.append(f"{subject}: events without a chain head")
        report.problems.extend(_verify_chain(subject, events, head, count, key))
        report.subjects += 1
        report.events += len(events)
    return report


def history(session: Session, subject: str) -> list[AuditEvent]:
    rows: Iterable[AuditEvent] = session.execute(
        select(AuditEvent).where(col(AuditEvent.subject) == subject).order_by(col(AuditEvent.seq))  # type: ignore[arg-type]
    ).scalars()
    return list(rows)
