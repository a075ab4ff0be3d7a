"""Faults on both databases: a worker killed mid-batch, a connection dropped mid-transaction.

1. A worker applies `recommend` to many applications in ONE transaction (`apply_transition`, one commit)
   and is SIGKILLed half-way → nothing of the batch is applied (states, audit chains, outbox unchanged);
   the re-run applies every application exactly once. Then kills at random moments of the same batch
   (including during COMMIT): each time the database holds all of it or none of it.
2. The connection is dropped inside the one door, right before COMMIT (PostgreSQL:
   `pg_terminate_backend` from another connection; SQLite: the raw connection closed) → the error is the
   typed `DatabaseUnavailable` (a `ReviewError`), the database is unchanged, and a retry applies it once.
"""

from __future__ import annotations

import multiprocessing
import random
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.database import DatabaseUnavailable, retry_on_disconnect
from models.errors import ReviewError
from models.tables import Application, AuditEvent, OutboxMessage
from states.audit import verify
from states.lifecycle import State
from states.service import transition
from tests import factories as f
from tests.reliability import workers
from tests.reliability.figures import FIGURES

pytestmark = pytest.mark.slow

AT = "2025-07-05T10:00:00+08:00"
BATCH = 40


def _snapshot(engine: Engine) -> dict[str, Any]:
    with Session(engine) as session:
        apps = session.execute(
            select(Application.id, Application.state, Application.review_level, Application.audit_count,
                   Application.audit_head, Application.version).order_by(Application.id)
        ).all()  # fmt: skip
        return {
            "apps": [tuple(row) for row in apps],
            "audit": session.scalar(select(func.count()).select_from(AuditEvent)),
            "outbox": session.scalar(select(func.count()).select_from(OutboxMessage)),
        }


def _batch_apps(engine: Engine, n: int) -> list[int]:
    with Session(engine, expire_on_commit=False) as session:
        f.officer(session, "sh.qingpu")
        f.officer(session, "sh")
        ids = []
        for _ in range(n):
            app = f.application(session, State.SUBMITTED)
            f.rank(session, app, "sh.qingpu")
            ids.append(app.id)
        return ids


def _state_counts(engine: Engine, ids: list[int]) -> dict[str, int]:
    with Session(engine) as session:
        rows = session.scalars(select(Application.state).where(Application.id.in_(ids))).all()  # type: ignore[attr-defined]
    counts: dict[str, int] = {}
    for state in rows:
        counts[state] = counts.get(state, 0) + 1
    return counts


def _wait_for(path: Path, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text(encoding="utf-8").strip():
            return path.read_text(encoding="utf-8").strip()
        time.sleep(0.02)
    raise TimeoutError(path)


def _wait_for_count(path: Path, n: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = path.read_text(encoding="utf-8").strip() if path.exists() else ""
        if value == "committed" or (value.isdigit() and int(value) >= n):
            return
        time.sleep(0.002)
    raise TimeoutError(path)


def test_worker_killed_mid_batch_leaves_nothing_half_applied(
    db_url: str, engine: Engine, backend: str, tmp_path: Path
) -> None:
    ids = _batch_apps(engine, BATCH)
    before = _snapshot(engine)
    ctx = multiprocessing.get_context("spawn")

    # 1. killed half-way through the batch, inside its transaction
    progress = tmp_path / "progress"
    proc = ctx.Process(
        target=workers.batch_then_hang,
        args=(db_url, ids, "recommend", "local_officer@sh.qingpu", AT, "", str(progress), BATCH // 2),
    )
    proc.start()
    assert _wait_for(progress) == str(BATCH // 2)
    workers.kill(proc.pid)  # type: ignore[arg-type]
    proc.join(timeout=30)
    assert proc.exitcode == -9
    assert _snapshot(engine) == before, "a killed batch left part of its work behind"

    # 2. killed at random moments of the committing batch: all or nothing each time
    rng = random.Random(7)
    outcomes: list[str] = []
    committed = False
    for attempt in range(4):
        progress = tmp_path / f"random-{attempt}"
        proc = ctx.Process(
            target=workers.batch_commit,
            args=(db_url, ids, "recommend", "local_officer@sh.qingpu", AT, "", str(progress)),
        )
        proc.start()
        # Kill somewhere in the batch, then ever closer to (and into) its COMMIT.
        _wait_for_count(progress, [rng.randint(1, BATCH - 1), BATCH, BATCH, BATCH][attempt])
        time.sleep([0.0, 0.0, rng.uniform(0.0, 0.02), rng.uniform(0.02, 0.1)][attempt])
        workers.kill(proc.pid)  # type: ignore[arg-type]
        proc.join(timeout=30)
        counts = _state_counts(engine, ids)
        assert counts in ({State.SUBMITTED: BATCH}, {State.LOCAL_REVIEW: BATCH}), counts
        committed = counts == {State.LOCAL_REVIEW: BATCH}
        outcomes.append("all" if committed else "none")
        if committed:
            break

    # 3. the re-run (when no random kill came after the commit) applies each application exactly once
    if not committed:
        progress = tmp_path / "rerun"
        proc = ctx.Process(
            target=workers.batch_commit,
            args=(db_url, ids, "recommend", "local_officer@sh.qingpu", AT, "", str(progress)),
        )
        proc.start()
        proc.join(timeout=120)
        assert proc.exitcode == 0 and progress.read_text(encoding="utf-8") == "committed"
    after = _snapshot(engine)
    assert _state_counts(engine, ids) == {State.LOCAL_REVIEW: BATCH}
    assert after["audit"] == before["audit"] + BATCH  # one audit event per application, none lost or doubled
    with Session(engine) as session:
        report = verify(session)
        mails = session.scalars(select(OutboxMessage.dedupe_key)).all()
        events = session.scalars(
            select(AuditEvent.application_id).where(AuditEvent.event == "recommend", AuditEvent.application_id.in_(ids))  # type: ignore[union-attr]
        ).all()
    assert report.ok, report.problems[:3]
    assert sorted(events) == sorted(ids)
    assert len(mails) == len(set(mails)) and after["outbox"] > before["outbox"]
    FIGURES.record(
        f"faults [{backend}]",
        f"SIGKILL mid-batch ({BATCH} applications in one transaction, killed after {BATCH // 2}): 0 half-applied; "
        f"random kills {outcomes} (all-or-nothing each time); after the re-run {BATCH} applied once each, "
        f"{after['audit'] - before['audit']} audit events, {after['outbox'] - before['outbox']} mails queued, "
        f"0 duplicate mail keys, chains verified {report.subjects} ({report.events} events)",
    )


def _drop_connection(backend: str, db_url: str) -> Any:
    """A `before_commit` hook that drops the session's connection from outside."""

    def drop(session: Session) -> None:
        connection = session.connection()
        if backend == "postgresql":
            pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            killer = create_engine(db_url, isolation_level="AUTOCOMMIT")
            with killer.connect() as other:
                assert other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
            killer.dispose()
        else:
            connection.connection.dbapi_connection.close()  # type: ignore[union-attr]

    return drop


@pytest.mark.parametrize("event_name", ["recommend", "reject"])
def test_connection_dropped_mid_transaction_is_typed_and_rolled_back(
    db_url: str, engine: Engine, backend: str, event_name: str
) -> None:
    with Session(engine, expire_on_commit=False) as session:
        app = f.application(session, State.SUBMITTED)
        f.rank(session, app, "sh.qingpu")
        actor = f.officer(session, "sh.qingpu")
    before = _snapshot(engine)

    session = Session(engine, expire_on_commit=False)
    hook = _drop_connection(backend, db_url)
    event.listen(session, "before_commit", hook)
    with pytest.raises(ReviewError) as caught:
        transition(session, app.id, event_name, actor=actor, at=f.EVENT_AT["recommend"], reason="理由")  # type: ignore[arg-type]
    event.remove(session, "before_commit", hook)
    session.close()
    assert isinstance(caught.value, DatabaseUnavailable), repr(caught.value)
    assert "connection was lost" in str(caught.value)
    assert _snapshot(engine) == before, "a dropped connection left part of the transaction behind"

    # The caller retries (a Prefect task's retries, or retry_on_disconnect): applied exactly once.
    attempts = 0

    def once() -> Any:
        nonlocal attempts
        attempts += 1
        with Session(engine, expire_on_commit=False) as fresh:
            if attempts == 1:
                event.listen(fresh, "before_commit", hook)  # the first retry loses its connection too
            return transition(fresh, app.id, event_name, actor=actor, at=f.EVENT_AT["recommend"], reason="理由")  # type: ignore[arg-type]

    result = retry_on_disconnect(once, attempts=3, delay=0.05)
    assert attempts == 2 and result.from_state == State.SUBMITTED
    after = _snapshot(engine)
    assert after["audit"] == before["audit"] + 1
    with Session(engine) as check:
        assert verify(check).ok
    FIGURES.record(
        f"faults [{backend}]",
        f"connection dropped before COMMIT of '{event_name}': DatabaseUnavailable (typed), database unchanged; "
        f"retried → applied once after {attempts} attempts, audit +1",
    )
