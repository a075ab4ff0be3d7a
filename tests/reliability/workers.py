"""Worker processes for the concurrency and fault tests (top-level functions: multiprocessing `spawn`).

Each worker opens its own engine on the test database and goes through the one door, exactly as a CLI
process or a Prefect worker on another machine would. Outcomes are reported as plain tuples:
("applied", seq, mails) | ("refused", ErrorType, message) | ("error", ExceptionType, traceback).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
import traceback
from datetime import datetime
from pathlib import Path
from typing import Any

Outcome = tuple[str, Any, Any]


def _engine(db_url: str) -> Any:
    from models.database import make_engine
    from programmes.wiring import assemble

    assemble()

    return make_engine(db_url)


def _actor(session: Any, spec: str) -> Any:
    """ROLE@UNIT, or id:N for one particular registered actor (two reviewers of one unit)."""
    from models.tables import Actor
    from states.intake import resolve_actor

    actor = session.get(Actor, int(spec[3:])) if spec.startswith("id:") else resolve_actor(session, spec)
    session.rollback()  # end the read (on SQLite BEGIN IMMEDIATE holds the write lock until then)
    return actor


def fire_once(session: Any, op: dict[str, Any]) -> Outcome:
    """One event through the one door; classify the outcome."""
    from models.errors import ReviewError
    from states.service import transition

    try:
        actor = _actor(session, op["actor"])
        result = transition(
            session,
            op["app"],
            op["event"],
            actor=actor,
            at=datetime.fromisoformat(op["at"]),
            reason=op.get("reason", ""),
            data=op.get("data") or {},
        )
        return ("applied", result.audit_seq, result.mails_queued)
    except ReviewError as exc:
        return ("refused", type(exc).__name__, str(exc))
    except Exception as exc:  # anything else is a bug the test reports
        session.rollback()
        return ("error", type(exc).__name__, traceback.format_exc())


def race(db_url: str, op: dict[str, Any], barrier: Any, results: Any) -> None:
    """Wait for the others, then fire one event at the shared application."""
    from sqlmodel import Session

    engine = _engine(db_url)
    with Session(engine, expire_on_commit=False) as session:
        actor = _actor(session, op["actor"])  # warm up: imports, connection, actor lookup
        del actor
        barrier.wait(timeout=120)
        outcome = fire_once(session, op)
    engine.dispose()
    results.put((op["worker"], op["event"], *outcome))


def stress(db_url: str, worker: int, rounds: list[dict[str, Any] | None], barrier: Any, out: str) -> None:
    """Fire this worker's event of every round; all workers meet at the barrier before each round.

    A round entry of None is a reminder sweep (when notifications.reminders.sweep exists)."""
    from sqlmodel import Session

    engine = _engine(db_url)
    records: list[dict[str, Any]] = []
    started = time.perf_counter()
    with Session(engine, expire_on_commit=False) as session:
        for i, op in enumerate(rounds):
            with contextlib.suppress(Exception):  # a broken barrier: a worker died; go on without it
                barrier.wait(timeout=300)
            if op is None:
                records.append({"round": i, "worker": worker, **_sweep(session)})
                continue
            kind, detail, extra = fire_once(session, op)
            records.append(
                {
                    "round": i,
                    "worker": worker,
                    "app": op["app"],
                    "event": op["event"],
                    "outcome": kind,
                    "detail": detail if kind != "error" else f"{detail}: {extra}",
                    "seq": detail if kind == "applied" else None,
                    "mails": extra if kind == "applied" else 0,
                }
            )
    engine.dispose()
    Path(out).write_text(
        json.dumps({"records": records, "seconds": time.perf_counter() - started}, ensure_ascii=False),
        encoding="utf-8",
    )


def _sweep(session: Any) -> dict[str, Any]:
    """Run one reminder sweep if the reminders module exists; report what it queued."""
    try:
        from notifications.reminders import sweep  # type: ignore[import-not-found]
    except ImportError:
        return {"outcome": "skipped", "event": "sweep"}
    from models.clock import SHANGHAI

    try:
        result = sweep(session, now=datetime(2025, 7, 8, 9, 0, tzinfo=SHANGHAI))  # commits

    except Exception as exc:
        session.rollback()
        from models.errors import ReviewError

        kind = "refused" if isinstance(exc, ReviewError) else "error"
        return {"outcome": kind, "event": "sweep", "detail": f"{type(exc).__name__}: {exc}"}
    return {"outcome": "applied", "event": "sweep", "mails": int(getattr(result, "queued", 0) or 0)}


def batch_then_hang(db_url: str, app_ids: list[int], event: str, actor_spec: str, at_iso: str,
                    reason: str, progress: str, stop_after: int) -> None:  # fmt: skip
    """Apply `event` to many applications in ONE transaction (apply_transition, no commit) and, after
    `stop_after` of them, tell the parent and wait to be killed mid-transaction."""
    from sqlmodel import Session

    from states.service import apply_transition

    engine = _engine(db_url)
    with Session(engine, expire_on_commit=False) as session:
        actor = _actor(session, actor_spec)
        for n, app_id in enumerate(app_ids, start=1):
            apply_transition(session, app_id, event, actor=actor, at=datetime.fromisoformat(at_iso), reason=reason)
            if n == stop_after:
                session.flush()
                Path(progress).write_text(str(n), encoding="utf-8")
                while True:  # the parent sends SIGKILL now
                    time.sleep(0.05)
        session.commit()
    Path(progress).write_text("committed", encoding="utf-8")


def batch_commit(db_url: str, app_ids: list[int], event: str, actor_spec: str, at_iso: str, reason: str,
                 progress: str) -> None:  # fmt: skip
    """The same batch, committed at the end; writes progress after each application (for a random kill)."""
    from sqlmodel import Session

    from states.service import apply_transition

    engine = _engine(db_url)
    with Session(engine, expire_on_commit=False) as session:
        actor = _actor(session, actor_spec)
        for n, app_id in enumerate(app_ids, start=1):
            apply_transition(session, app_id, event, actor=actor, at=datetime.fromisoformat(at_iso), reason=reason)
            Path(progress).write_text(str(n), encoding="utf-8")
        session.commit()
    Path(progress).write_text("committed", encoding="utf-8")


def kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
