"""The national transition table, row by row; and every (state, event) pair it doesn't list is refused
without changing anything."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import MetaData, select
from sqlmodel import Session

from models.errors import ReviewError, TransitionRefused
from models.tables import Application, AuditEvent
from states.audit import verify
from states.lifecycle import State, Step, events_for, states_for, steps_for
from states.service import transition
from tests import factories as f

NATIONAL = steps_for("national")

# Where an application must be registered so the row's branch applies (chains from the 2025 season):
# sh.qingpu → sh (two levels); js (one level: the province itself); Chengdu's three levels.
UNIT_FOR_BRANCH = {
    ("recommend", State.SUBMITTED, State.LOCAL_REVIEW): "sh.qingpu",
    ("recommend", State.SUBMITTED, State.RECOMMENDED): "js",
    ("recommend", State.LOCAL_REVIEW, State.LOCAL_REVIEW): "sc.chengdu.wuhou",
    ("recommend", State.LOCAL_REVIEW, State.RECOMMENDED): "sh.qingpu",
}


def _cases() -> list[Any]:
    cases = []
    for step in NATIONAL:
        for source in step.sources:
            cases.append(pytest.param(step, source, id=f"{step.event}:{source.value}->{step.dest.value}"))
    return cases


def _prepare(session: Session, step: Step, source: State) -> Application:
    unit = UNIT_FOR_BRANCH.get((step.event, source, step.dest), "sh.qingpu")
    tier = "leading" if step.dest in f.LEADING_ONLY or source in f.LEADING_ONLY else "excellent"
    if step.event == "pass_verification":
        tier = "excellent" if step.dest == State.PUBLIC_NOTICE else "leading"
    application = f.application(session, source, tier=tier, unit=unit)
    if step.event == "recommend" and source == State.LOCAL_REVIEW and step.dest == State.LOCAL_REVIEW:
        assert application.review_level + 1 < len(application.chain)
    if step.event in {"dismiss_objection", "uphold_objection"}:
        f.fire(session, application.id, "raise_objection")
    return application


@pytest.mark.parametrize(("step", "source"), _cases())
def test_every_row_of_the_table(session: Session, step: Step, source: State) -> None:
    """Each row fires from each of its sources, lands on its destination, and is audited once."""
    application = _prepare(session, step, source)
    before = session.get(Application, application.id, populate_existing=True)
    assert before is not None and before.state == source
    count, version = before.audit_count, before.version

    result = f.fire(session, application.id, step.event)

    after = session.get(Application, application.id, populate_existing=True)
    assert after is not None
    assert (result.from_state, result.to_state, after.state) == (source, step.dest, step.dest)
    assert after.audit_count == count + 1 and after.version > version  # ranking may bump it too
    last = session.scalars(
        select(AuditEvent).where(AuditEvent.subject == f"application:{application.id}").order_by(AuditEvent.seq.desc())  # type: ignore[attr-defined]
    ).first()
    assert last is not None and (last.event, last.from_state, last.to_state) == (step.event, source, step.dest)
    assert verify(session).ok


def _snapshot(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to compare the database before and after a refusal."""
    metadata = MetaData()
    # Through the session's own connection: on SQLite a second connection would wait for its write lock.
    metadata.reflect(bind=session.connection())
    snapshot = {}
    for name, table in sorted(metadata.tables.items()):
        rows = session.execute(select(table)).all()
        snapshot[name] = sorted(tuple(map(repr, row)) for row in rows)
    return snapshot


@pytest.mark.parametrize("state", states_for("national"), ids=str)
def test_every_illegal_pair_is_refused_and_changes_nothing(session: Session, state: State) -> None:
    """For a state, every event the table doesn't allow from it is refused with TransitionRefused, and the
    database is byte-for-byte what it was."""
    application = f.application(session, state)
    illegal = [e for e in events_for("national") if not any(s.event == e and state in s.sources for s in NATIONAL)]
    assert illegal, state
    ministry = f.ministry(session)
    before = _snapshot(session)
    for event in illegal:
        with pytest.raises(TransitionRefused) as refused:
            # Straight through the door: the factory's fire() would rank the row first for `recommend`.
            transition(session, application.id, event, actor=ministry, at=f.EVENT_AT[event], reason="r")
        assert event in str(refused.value) and state.value in str(refused.value)
        assert isinstance(refused.value, ReviewError) and refused.value.rule == "lifecycle"
    session.rollback()
    assert _snapshot(session) == before


def test_unknown_event_is_refused(session: Session) -> None:
    application = f.application(session, State.SUBMITTED)
    with pytest.raises(TransitionRefused, match="not an event of this track"):
        transition(session, application.id, "approve_everything", actor=f.ministry(session), at=f.EVENT_AT["submit"])
