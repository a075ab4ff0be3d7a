"""The one door: every state change of an application goes through `transition`.

CLI commands, Prefect flows and tests all call it (or `apply_transition` inside a larger transaction,
e.g. a ranked recommendation of a whole unit, which then commits once).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Required, TypedDict, Unpack

from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session

from models.bulk_copy import insert_rows
from models.clock import ensure_aware, to_utc
from models.database import must_get, unit_of_work
from models.errors import ConcurrentUpdate, TransitionRefused
from models.tables import Actor, Application, AuditEvent, Enterprise
from notifications.outbox import Outgoing, queue_unrendered
from notifications.transitions import mail_for_transition, queue_for_transition
from states import authz
from states.audit import append_event, append_row
from states.decision_data import checked_data
from states.effects import apply_effects
from states.guards import EVIDENCE, GuardContext
from states.lifecycle import State, Step, steps_for, table_key
from states.machine import ApplicationAdapter, fire
from states.versioned import write_versioned


class DecisionArgs(TypedDict, total=False):
    """Who decides, when and why: what every door of a transition takes beside the application and the event."""

    actor: Required[Actor]
    at: Required[datetime]
    reason: str  # none: ""
    data: dict[str, Any] | None  # the step's decision data (`states.decision_data`)


@dataclass
class Batch:
    """What the transitions of one batch write: its rows, audit events and mail (`Batch.write`, at the end)."""

    rows: list[Application] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    mail: list[Outgoing] = field(default_factory=list)

    def write(self, session: Session, *, at: datetime) -> int:
        """Write the batch's rows with one UPDATE per set of changed columns (`states.versioned`), insert its
        audit events with one COPY (`models.bulk_copy`; one statement off PostgreSQL) and queue its mail
        with another (rendered when sent, as a sweep's reminders are: `notifications.outbox.render_queued`);
        returns how many messages were new. Inside the caller's transaction."""
        write_versioned(session, Application, {id(row): row for row in self.rows}.values())  # a row fired twice: once
        session.flush()
        insert_rows(session, AuditEvent.__table__, self.events)  # type: ignore[attr-defined]
        return queue_unrendered(session, self.mail, at=at)


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
    return must_get(session, Application, application_id, "application", with_for_update=True, populate_existing=True)


def apply_transition(
    session: Session, application_id: int, event: str, **decision: Unpack[DecisionArgs]
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
    return apply_to_locked(session, application, event, **decision)


def apply_to_locked(
    session: Session,
    application: Application,
    event: str,
    *,
    batch: Batch | None = None,
    **decision: Unpack[DecisionArgs],
) -> TransitionResult:
    """Steps 2–6 of `apply_transition` on a row the caller has loaded and locked (`states.bulk` locks a
    whole batch with one SELECT … FOR UPDATE). A refusal raises before anything is changed.

    With `batch`, the audit row and the step's mail are collected there and nothing is flushed: the
    batch's caller inserts them with one statement each and flushes once (a stale row then fails the
    whole batch)."""
    application_id = application.id
    assert application_id is not None
    enterprise = session.get(Enterprise, application.enterprise_id)
    assert enterprise is not None
    key = table_key(application.season, application.track, enterprise.jurisdiction)
    from_state = application.state
    candidates = _candidates(key, event, from_state, application_id)
    actor = decision["actor"]
    authz.authorise(_merged_who(candidates), actor, application, enterprise)
    at = ensure_aware(decision["at"])
    data = checked_data(event, candidates[0].data, dict(decision.get("data") or {}), source=candidates[0].source)
    ctx = GuardContext(session, application, enterprise, actor, candidates[0], at, decision.get("reason", ""), data)
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
    return _record(session, ctx, step, from_state=from_state, level_before=level_before,
                   previous_holder=previous_holder, batch=batch)  # fmt: skip


def _record(session: Session, ctx: GuardContext, step: Step, *, from_state: str, level_before: int,
            previous_holder: str | None, batch: Batch | None) -> TransitionResult:  # fmt: skip
    """Steps 5–6: the audit event and the step's mail — written now, or collected in the batch."""
    application, actor = ctx.application, ctx.actor
    application_id = application.id
    assert application_id is not None
    moved = {"level": [previous_holder, ctx.holder_unit]} if previous_holder != ctx.holder_unit else {}
    fields: dict[str, Any] = dict(
        subject=f"application:{application_id}", application_id=application_id, actor=actor, event=step.event,
        at=ctx.at, from_state=from_state, to_state=application.state, reason=ctx.reason,
        data={**ctx.data, **({"warnings": ctx.warnings} if ctx.warnings else {}), **moved,
              **(_frozen(application) if step.event in {"submit", "resubmit"} else {})},
    )  # fmt: skip
    mail: dict[str, Any] = dict(application=application, enterprise=ctx.enterprise, step=step, actor=actor,
                                from_state=from_state, level_before=level_before, at=ctx.at,
                                reason=ctx.reason)  # fmt: skip
    if batch is not None:
        row = append_row(session, **fields)
        messages = mail_for_transition(session, **mail, seq=row["seq"])
        batch.rows.append(application)
        batch.events.append(row)
        batch.mail.extend(messages)
        return TransitionResult(application_id, step.event, from_state, application.state, row["seq"],
                                ctx.warnings, len(messages))  # fmt: skip
    audit = append_event(session, **fields)
    mails = queue_for_transition(session, **mail, seq=audit.seq)
    try:
        session.flush()
    except StaleDataError as exc:
        raise ConcurrentUpdate(
            f"application {application_id} was changed by someone else; try again",
            rule="concurrent-update",
            source="optimistic lock (version)",
        ) from exc
    return TransitionResult(application_id, step.event, from_state, application.state, audit.seq, ctx.warnings,
                            mails)  # fmt: skip


def transition(session: Session, application_id: int, event: str, **decision: Unpack[DecisionArgs]) -> TransitionResult:
    """The one door: `apply_transition` and commit — all or nothing. A refusal leaves the database as it
    was and raises a typed `ReviewError`."""
    with unit_of_work(session, f"application {application_id}"):
        return apply_transition(session, application_id, event, **decision)


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


def _frozen(application: Application) -> dict[str, Any]:
    """What the submit event proves on its own: the frozen content's and the rulebook's SHA-256."""
    from states.audit_facts import submission_facts

    return submission_facts(application.content_sha256, application.season)
