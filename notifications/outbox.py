"""Queue mail in the caller's transaction. Sending happens after commit (notifications.sender).

Two entry points, both idempotent on `dedupe_key`:

- `queue(...)`: one message (the lifecycle door calls it for each recipient of a transition);
- `queue_many(session, messages, at=...)`: a whole reminder sweep, rendered only for keys not yet queued
  and inserted with one set-based statement that skips keys another sweep inserted meanwhile;
- `queue_unrendered(session, messages, at=...)`: a batch of transitions' mail, rendered when sent.

A recipient address that can't be used (bad form, CR/LF) is not silently dropped: its row is inserted as
`failed` with the reason, so the administrator sees it in `outbox list --status failed`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlmodel import Session, col

from models.bulk_copy import insert_skipping
from models.clock import to_utc
from models.tables import OutboxMessage
from notifications.addresses import BadAddress, validate_address
from notifications.render import one_line, render

MESSAGE_ID_DOMAIN = "factory-review.local"
_KEY_CHUNK = 500  # keys per IN (...) lookup: well under SQLite's variable limit


def message_id_for(dedupe_key: str) -> str:
    """A stable Message-ID per outbox row: a resend after an uncertain crash carries the same one."""
    digest = hashlib.sha256(dedupe_key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@{MESSAGE_ID_DOMAIN}>"


@dataclass(frozen=True)
class Outgoing:
    """One message to queue: what `queue` takes, as a value (used by sweeps)."""

    kind: str
    recipient: str
    recipient_name: str
    context: dict[str, Any]
    dedupe_key: str
    locale: str = "zh-CN"
    application_id: int | None = None
    deadline_on: date | None = None
    offset_days: int | None = None
    send_at: datetime | None = None  # not before this instant (reminders: the morning of the day)
    extra: dict[str, Any] = field(default_factory=dict)


def _row(message: Outgoing, at: datetime, *, rendered: bool = True) -> dict[str, Any]:
    """Build the insert values (rendered now, or `queued` with the context to render at send time); a bad
    address becomes a `failed` row, not an exception."""
    name = one_line(message.recipient_name or "")
    status, error, recipient = "pending", "", (message.recipient or "").strip()
    try:
        recipient = validate_address(message.recipient)
    except BadAddress as exc:
        # Keep the evidence but neutralise it: the stored value never reaches a header (status failed).
        status, error, recipient = "failed", str(exc)[:2000], one_line(recipient)[:254]
    if rendered:
        parts = render(message.kind, {**message.context, "recipient_name": name})
        subject, text, html, context = parts.subject[:500], parts.text, parts.html, None
    else:
        subject, text, html, context = "", "", "", message.context
        status = "queued" if status == "pending" else status
    return {
        "dedupe_key": message.dedupe_key,
        "kind": message.kind,
        "locale": message.locale,
        "recipient": recipient,
        "recipient_name": name[:200],
        "subject": subject,
        "body_text": text,
        "body_html": html,
        "context": context,
        "message_id": message_id_for(message.dedupe_key),
        "status": status,
        "attempts": 0,
        "last_error": error,
        "application_id": message.application_id,
        "deadline_on": message.deadline_on,
        "offset_days": message.offset_days,
        "created_at": to_utc(at),
        "next_attempt_at": to_utc(message.send_at or at),
    }


def existing_keys(session: Session, keys: Iterable[str]) -> set[str]:
    """Which of these dedupe keys are already in the outbox (chunked IN lookups on the unique index)."""
    keys = list(dict.fromkeys(keys))
    found: set[str] = set()
    for i in range(0, len(keys), _KEY_CHUNK):
        chunk = keys[i : i + _KEY_CHUNK]
        found.update(session.scalars(select(col(OutboxMessage.dedupe_key)).where(col(OutboxMessage.dedupe_key).in_(chunk))))
    return found


def _skips_conflicts(session: Session) -> bool:
    """Whether the INSERT skips keys already queued (ON CONFLICT) and its row count, over many rows, says
    how many it inserted."""
    dialect = session.get_bind().dialect
    return dialect.name in ("postgresql", "sqlite") and dialect.supports_sane_multi_rowcount


def _insert_skipping_existing(session: Session, rows: Sequence[dict[str, Any]]) -> int:
    """INSERT … ON CONFLICT (dedupe_key) DO NOTHING: a concurrent sweep's rows win, ours are skipped.
    Returns the statement's row count (the rows inserted where `_skips_conflicts`).

    A Core executemany on the table (one compiled statement, batched), not the ORM's per-row path."""
    if not rows:
        return 0
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    copied = insert_skipping(session, table, rows, key="dedupe_key")  # PostgreSQL: COPY, not a row at a time
    if copied is not None:
        return copied
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        statement: Any = postgresql.insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"])
    elif dialect == "sqlite":
        from sqlalchemy.dialects import sqlite

        statement = sqlite.insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"])
    else:  # other backends: the pre-check in queue_many is the only guard
        statement = insert(table)
    # preserve_rowcount: SQLAlchemy keeps an INSERT's count only when asked (psycopg forgets it on close).
    result = session.connection().execute(statement, list(rows), execution_options={"preserve_rowcount": True})
    return int(result.rowcount)


def queue_unrendered(session: Session, messages: Iterable[Outgoing], *, at: datetime) -> int:
    """`queue_many(…, render_now=False)` that returns how many messages were new instead of which: a batch
    of transitions (`states.service.Batch`) needs only the count.

    Nothing is rendered now, so nothing is saved by looking for queued keys first: the INSERT skips them
    (ON CONFLICT) and its row count is the number new — one statement per batch instead of a SELECT of
    every key and then the INSERT (a sixth of a batch of filings' outbox time)."""
    if not _skips_conflicts(session):
        return len(queue_many(session, messages, at=at, render_now=False))
    pending = {m.dedupe_key: m for m in messages}  # one row per key, the last message's, as queue_many keeps
    return _insert_skipping_existing(session, [_row(m, at, rendered=False) for m in pending.values()])


def queue_many(
    session: Session, messages: Iterable[Outgoing], *, at: datetime, render_now: bool = True
) -> list[str]:
    """Queue many messages in the caller's transaction; returns the dedupe keys newly queued.

    Already-queued keys are found with one indexed lookup per 500 keys and not rendered again. With
    `render_now=False` (sweeps) the rows wait as `queued` with their context; `render_queued` renders them.
    """
    pending = {m.dedupe_key: m for m in messages}
    already = existing_keys(session, pending)
    new = [m for key, m in pending.items() if key not in already]
    _insert_skipping_existing(session, [_row(m, at, rendered=render_now) for m in new])
    return [m.dedupe_key for m in new]


def _rendered(row: Any) -> dict[str, Any]:
    """A queued row's values once rendered: its parts, its address checked (a bad one fails the row, as at
    queue time), its name on one line and its Message-ID (a sweep queues rows without either)."""
    name = one_line(row.recipient_name or "")[:200]
    values = {"row_id": row.id, "recipient_name": name, "message_id": message_id_for(row.dedupe_key),
              "status": "pending", "last_error": "", "recipient": row.recipient}  # fmt: skip
    try:
        values["recipient"] = validate_address(row.recipient)
    except BadAddress as exc:
        values.update(status="failed", last_error=str(exc)[:2000], recipient=one_line(row.recipient or "")[:254])
    context = {**(row.context or {}), "recipient_name": name}
    parts = render(context.get("template", row.kind), context)
    return {**values, "subject": parts.subject[:500], "body_text": parts.text, "body_html": parts.html}


def render_queued(engine: Any, *, batch: int = 1000) -> int:
    """Render the `queued` rows (a sweep's messages) and make them `pending`; one commit per batch.

    Called by the sender before it looks for due rows, so a reminder is rendered once, when it is sent,
    and a sweep of 30,000 reminders stays a few set-based statements.
    """
    from sqlalchemy import update

    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    names = ("subject", "body_text", "body_html", "recipient", "recipient_name", "message_id", "status", "last_error")
    statement = update(table).where(table.c.id == bindparam("row_id"), table.c.status == "queued")
    statement = statement.values(**{name: bindparam(name) for name in names})
    done = 0
    while True:
        with engine.begin() as conn:
            rows = conn.execute(
                select(table.c.id, table.c.kind, table.c.dedupe_key, table.c.recipient, table.c.recipient_name,
                       table.c.context).where(table.c.status == "queued").order_by(table.c.id).limit(batch)
            ).all()  # fmt: skip
            if not rows:
                return done
            conn.execute(statement, [_rendered(row) for row in rows])
            done += len(rows)


def queue(
    session: Session,
    *,
    kind: str,
    recipient: str,
    recipient_name: str,
    context: dict[str, Any],
    dedupe_key: str,
    at: datetime,
    locale: str = "zh-CN",
    application_id: int | None = None,
    deadline_on: date | None = None,
    offset_days: int | None = None,
    send_at: datetime | None = None,
) -> bool:
    """Insert one outbox row unless its dedupe key is already queued. Returns True if inserted.

    Runs inside the caller's transaction (no commit here), so the mail exists iff the change does.
    An empty recipient queues nothing; a malformed one is recorded as a `failed` row (never sent).
    """
    if not recipient:
        return False
    message = Outgoing(
        kind=kind,
        recipient=recipient,
        recipient_name=recipient_name,
        context=context,
        dedupe_key=dedupe_key,
        locale=locale,
        application_id=application_id,
        deadline_on=deadline_on,
        offset_days=offset_days,
        send_at=send_at,
    )
    return bool(queue_many(session, [message], at=at))
