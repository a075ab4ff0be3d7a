"""A batch of transitions' mail (`queue_unrendered`): queued once per key without a pre-check SELECT, the
count of new rows exact, and each row the one `queue_many(…, render_now=False)` would write (on PostgreSQL
it goes through COPY, `models.bulk_copy`)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import Session, col

from models import bulk_copy
from models.tables import OutboxMessage
from notifications.outbox import Outgoing, queue_many, queue_unrendered
from tests.notifications.helpers import T0, transition_context

COMPARED = ("kind", "locale", "recipient", "recipient_name", "subject", "body_text", "body_html", "context",
            "status", "attempts", "last_error", "application_id", "created_at", "next_attempt_at")  # fmt: skip


@pytest.fixture(autouse=True)
def _copy_any_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests' few rows go by COPY on PostgreSQL, as a batch of hundreds does (`models.bulk_copy`)."""
    monkeypatch.setattr(bulk_copy, "COPY_FROM", 1)


def _message(n: int, key: str, **change: Any) -> Outgoing:
    fields: dict[str, Any] = dict(kind="transition", recipient=f"officer{n}@gov.example.cn",
                                  recipient_name=f"审核员 {n}", context=transition_context(n), dedupe_key=key,
                                  application_id=n)  # fmt: skip
    return Outgoing(**{**fields, **change})


def _rows(session: Session, prefix: str) -> dict[str, dict[str, Any]]:
    found = session.scalars(select(OutboxMessage).where(col(OutboxMessage.dedupe_key).startswith(prefix)))
    return {m.dedupe_key.removeprefix(prefix): {c: getattr(m, c) for c in COMPARED} for m in found}


def test_counts_only_the_new_keys_and_writes_the_row_queue_many_writes(session: Session,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    first = [_message(n, f"batch:{n}") for n in range(3)]
    assert queue_unrendered(session, first, at=T0) == 3
    session.commit()
    again = [*first, _message(3, "batch:3"), _message(4, "batch:4", recipient="not an address")]
    assert queue_unrendered(session, again, at=T0) == 2  # the three queued before are skipped, not counted
    session.commit()
    monkeypatch.setattr(bulk_copy, "COPY_FROM", 10**9)  # the rows to compare with: one executemany INSERT
    queue_many(session, [_message(n, f"many:{n}") for n in range(3)] + [_message(3, "many:3"),
               _message(4, "many:4", recipient="not an address")], at=T0, render_now=False)  # fmt: skip
    session.commit()
    session.expire_all()
    assert _rows(session, "batch:") == _rows(session, "many:")
    assert _rows(session, "batch:")["4"]["status"] == "failed"  # a bad address is kept as evidence, as before


def test_a_key_given_twice_is_queued_once_with_the_last_message(session: Session) -> None:
    messages = [_message(1, "twice:1"), _message(2, "twice:1"), _message(3, "twice:2")]
    assert queue_unrendered(session, messages, at=T0) == 2
    session.commit()
    assert _rows(session, "twice:")["1"]["recipient"] == "officer2@gov.example.cn"  # what queue_many keeps
    assert queue_unrendered(session, [], at=T0) == 0
