"""Queue mail in the caller's transaction. Sending happens after commit (notifications.sender)."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlmodel import Session

from models.clock import to_utc
from models.tables import OutboxMessage
from notifications.render import one_line, render

MESSAGE_ID_DOMAIN = "factory-review.local"


def message_id_for(dedupe_key: str) -> str:
    """A stable Message-ID per outbox row: a resend after an uncertain crash carries the same one."""
    digest = hashlib.sha256(dedupe_key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@{MESSAGE_ID_DOMAIN}>"


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
) -> bool:
    """Insert one outbox row unless its dedupe key is already queued. Returns True if inserted.

    Runs inside the caller's transaction (no commit here), so the mail exists iff the change does.
    """
    if not recipient:
        return False
    exists = session.scalars(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)).first()
    if exists is not None:
        return False
    rendered = render(kind, {**context, "recipient_name": recipient_name})
    session.execute(
        insert(OutboxMessage).values(
            dedupe_key=dedupe_key,
            kind=kind,
            locale=locale,
            recipient=one_line(recipient),
            recipient_name=one_line(recipient_name),
            subject=rendered.subject,
            body_text=rendered.text,
            body_html=rendered.html,
            message_id=message_id_for(dedupe_key),
            status="pending",
            attempts=0,
            last_error="",
            application_id=application_id,
            deadline_on=deadline_on,
            offset_days=offset_days,
            created_at=to_utc(at),
            next_attempt_at=to_utc(at),
        )
    )
    return True
