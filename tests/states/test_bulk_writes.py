"""How the bulk door writes a batch of transitions (states/versioned.py): one UPDATE statement per set of
changed columns instead of one per row (on PostgreSQL one UPDATE … FROM the rows COPYed), the same row as
the single path writes, the optimistic version still checked, and reads inside the batch still seeing the
rows changed before them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, func, select, update
from sqlmodel import Session, col

from models import bulk_copy
from models.errors import ConcurrentUpdate
from models.tables import Application, AuditEvent, Enterprise
from states import bulk
from states.audit import verify
from states.bulk import Decision, transition_many
from states.service import transition
from tests import factories as f

# What differs between two applications of two enterprises whatever the path (or is the path's own clock).
UNRELATED = {"id", "enterprise_id", "title", "content", "content_sha256", "audit_head", "created_at"}


@pytest.fixture(autouse=True)
def _copy_any_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests' few rows go by COPY on PostgreSQL, as a batch of hundreds does (`models.bulk_copy`)."""
    monkeypatch.setattr(bulk_copy, "COPY_FROM", 1)


@contextmanager
def _updates(session: Session) -> Iterator[list[int]]:
    """The rows each UPDATE of `application` sent while inside wrote (an executemany's parameter sets, or
    the rows PostgreSQL's one UPDATE … FROM the COPYed rows wrote: `models.bulk_copy`)."""
    sent: list[int] = []

    def count(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement.lstrip().upper().startswith("UPDATE APPLICATION"):
            sent.append(cursor.rowcount)

    engine = session.get_bind()
    event.listen(engine, "after_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(engine, "after_cursor_execute", count)


def _submits(session: Session, n: int) -> tuple[list[Application], list[Decision]]:
    apps = [f.draft(session) for _ in range(n)]
    decisions = [Decision(a.id, "submit", f.applicant(session, session.get(Enterprise, a.enterprise_id)))  # type: ignore[arg-type]
                 for a in apps]  # fmt: skip
    return apps, decisions


def test_a_batch_writes_its_rows_with_one_update_and_the_single_paths_row(session: Session) -> None:
    apps, decisions = _submits(session, 4)
    with _updates(session) as sent:
        report = transition_many(session, decisions[:3], at=f.at("2025-07-05"))
    assert len(report.done) == 3
    # The first row goes out alone: the batch's one read of the unit's officers (models.memo), made after
    # its change, autoflushes it. The other two go out together.
    assert sent == [1, 2]
    assert not session.dirty  # written and committed on the objects: nothing left for a flush
    transition(session, apps[3].id, "submit", actor=decisions[3].actor, at=f.at("2025-07-05"))  # type: ignore[arg-type]
    session.expire_all()
    rows = [session.get(Application, a.id).model_dump(exclude=UNRELATED) for a in apps]  # type: ignore[union-attr]
    assert rows[0]["state"] == "submitted" and rows[0]["version"] == 3  # created 1, audit head 2, submitted 3
    assert rows[0] == rows[3]  # the bulk door's row is the one door's
    assert verify(session).ok


def test_a_row_changed_by_someone_else_fails_the_whole_batch(session: Session, monkeypatch: Any) -> None:
    """The version is still checked: a row whose version moved after the batch read it (here by a statement
    that bypasses the ORM, in the batch's own transaction) fails the batch, and nothing of it stays."""
    apps, decisions = _submits(session, 3)
    apply = bulk.apply_to_locked

    def behind_our_back(session_: Session, application: Application, *args: Any, **kwargs: Any) -> Any:
        if application.id == apps[1].id:
            session_.connection().execute(update(Application).where(col(Application.id) == application.id)
                                          .values(version=col(Application.version) + 1))  # fmt: skip
        return apply(session_, application, *args, **kwargs)

    monkeypatch.setattr(bulk, "apply_to_locked", behind_our_back)
    with pytest.raises(ConcurrentUpdate):
        transition_many(session, decisions, at=f.at("2025-07-05"))
    session.expire_all()
    assert [session.get(Application, a.id).state for a in apps] == ["draft"] * 3  # type: ignore[union-attr]
    assert session.scalar(select(func.count()).select_from(AuditEvent).where(col(AuditEvent.event) == "submit")) == 0


def test_a_read_inside_a_batch_sees_the_rows_changed_before_it(session: Session, monkeypatch: Any) -> None:
    """A guard that counts other rows (a quota) must see the batch's earlier decisions: the batch leaves
    autoflush on, so such a read flushes them first; only what is still unflushed at the end goes out
    in one statement."""
    _, decisions = _submits(session, 3)
    seen: list[int] = []
    apply = bulk.apply_to_locked

    def counting(session_: Session, *args: Any, **kwargs: Any) -> Any:
        query = select(func.count()).select_from(Application).where(col(Application.state) == "submitted")
        seen.append(session_.scalar(query) or 0)
        return apply(session_, *args, **kwargs)

    monkeypatch.setattr(bulk, "apply_to_locked", counting)
    transition_many(session, decisions, at=f.at("2025-07-05"))
    assert seen == [0, 1, 2]
