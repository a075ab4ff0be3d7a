"""The one door: every state change of an application goes through `transition`.

CLI commands, Prefect flows and tests all call it (or `apply_transition` inside a larger transaction,
e.g. a ranked recommendation of a whole unit, which then commits once).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, col

from models.clock import ensure_aware, to_utc
from models.database import unit_of_work
from models.errors import ConcurrentUpdate, NotFound, TransitionRefused
from models.tables import Actor, Application, Enterprise
from notifications.transitions import queue_for_transition
from states import authz
from states.audit import append_event
from states.decision_data import checked_data
from states.effects import apply_effects
from states.guards import EVIDENCE, GuardContext
from states.lifecycle import State, Step, steps_for, table_key
from states.machine import ApplicationAdapter, fire


@dataclass
class TransitionResult:
    application_id: int
    event: str
    from_state: str
    to_state: str
    audit_seq: int
    warnings: list[dict[str, Any]] = field(default_factory=list)
    mails_queued: int = 0


def _load_for_update(session: Session, application_id: int) -> Application:
    """Lock the row: SELECT … FOR UPDATE on PostgreSQL; on SQLite the write transaction (BEGIN
    IMMEDIATE) serialises writers and the version column catches a stale writer."""
    application = session.scalars(
        select(Application)
        .where(col(Application.id) == application_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if application is None:
        raise NotFound(f"application {application_id} does not exist", rule="not-found")
    return application


def apply_transition(
    session: Session,
    application_id: int,
    event: str,
    *,
    actor: Actor,
    at: datetime,
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> TransitionResult:
    """Do a transition inside the caller's transaction, without committing. Steps:

    1. load and lock the application row;
    2. check the event is allowed from its state, and authorise the actor (role and unit);
    3. run the row's guards through the state machine (a guard raises a typed error naming its rule);
    4. change the state (and what the step implies: chain level, frozen content, cultivation end);
    5. append the audit event to the application's hash chain;
    6. queue outbox mail for the step's recipients.
    """
    application = _load_for_update(session, application_id)
    enterprise = session.get(Enterprise, application.enterprise_id)
    assert enterprise is not None
    key = table_key(application.season, application.track, enterprise.jurisdiction)
    from_state = application.state
    candidates = _candidates(key, event, from_state, application_id)
    authz.authorise(_merged_who(candidates), actor, application, enterprise)
    at = ensure_aware(at)
    data = checked_data(event, candidates[0].data, dict(data or {}), source=candidates[0].source)
    ctx = GuardContext(session, application, enterprise, actor, candidates[0], at, reason, data)
    adapter = ApplicationAdapter(ctx)
    step = fire(key, adapter, event)

    for name in step.records:  # what the decision relied on, computed after the guards passed
        data.update(EVIDENCE[name](ctx))
    previous_holder, level_before = ctx.holder_unit, application.review_level
    apply_effects(application, step.effects, ctx)
    application.state = adapter.state
    application.updated_at = to_utc(ctx.at)
    if ctx.warnings:
        application.warnings = [*application.warnings, *ctx.warnings]
    moved = {"level": [previous_holder, ctx.holder_unit]} if previous_holder != ctx.holder_unit else {}
    audit = append_event(
        session, subject=f"application:{application.id}", application_id=application.id, actor=actor, event=event,
        at=ctx.at, from_state=from_state, to_state=application.state, reason=reason,
        data={**ctx.data, **({"warnings": ctx.warnings} if ctx.warnings else {}), **moved},
    )  # fmt: skip
    mails = queue_for_transition(session, application=application, enterprise=enterprise, step=step, actor=actor,
                                 from_state=from_state, level_before=level_before, seq=audit.seq, at=ctx.at,
                                 reason=reason)  # fmt: skip
    try:
        session.flush()
    except StaleDataError as exc:
        raise ConcurrentUpdate(
            f"application {application_id} was changed by someone else; try again",
            rule="concurrent-update",
            source="optimistic lock (version)",
        ) from exc
    return TransitionResult(application_id, event, from_state, application.state, audit.seq, ctx.warnings, mails)


def transition(
    session: Session,
    application_id: int,
    event: str,
    *,
    actor: Actor,
    at: datetime,
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> TransitionResult:
    """The one door: `apply_transition` and commit — all or nothing. A refusal leaves the database as it
    was and raises a typed `ReviewError`."""
    with unit_of_work(session, f"application {application_id}"):
        return apply_transition(session, application_id, event, actor=actor, at=at, reason=reason, data=data)


def _candidates(key: str, event: str, from_state: str, application_id: int) -> list[Step]:
    """The table's rows of `event` from the state; refused when there are none."""
    candidates = [s for s in steps_for(key) if s.event == event and State(from_state) in s.sources]
    if candidates:
        return candidates
    known = {s.event for s in steps_for(key)}
    why = "is not an event of this track" if event not in known else f"is not allowed from state '{from_state}'"
    raise TransitionRefused(
        f"'{event}' {why} (application {application_id})",
        rule="lifecycle",
        source="the lifecycle table (`factory-review diagram`)",
        state=from_state,
        event=event,
    )


def _merged_who(candidates: list[Step]) -> Step:
    """Rows of one event from one state share their actors; authorise against their union."""
    who = tuple(dict.fromkeys(w for s in candidates for w in s.who))
    first = candidates[0]
    return Step(first.event, first.sources, first.dest, who)


