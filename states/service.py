"""The one door: every state change of an application goes through `transition`.

CLI commands, Prefect flows and tests all call it (or `apply_transition` inside a larger transaction,
e.g. a ranked recommendation of a whole unit, which then commits once).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, col

# The season-data guards and the provincial/district track tables register themselves on import.
import programmes  # noqa: F401
from models.clock import ensure_aware, shanghai_text, to_utc
from models.enums import Role, Tier, Track
from models.errors import ConcurrentUpdate, NotFound, ReviewError, TransitionRefused
from models.tables import Actor, Application, Enterprise
from notifications.outbox import queue
from states import authz
from states.audit import append_event, content_digest
from states.guards import EVIDENCE, GuardContext
from states.lifecycle import STATE_LABELS, State, Step, steps_for
from states.machine import ApplicationAdapter, fire, missing_names

if _missing := missing_names():
    raise RuntimeError(f"lifecycle tables name guards nobody registered: {', '.join(_missing)}")


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
    at = ensure_aware(at)
    data = dict(data or {})
    application = _load_for_update(session, application_id)
    enterprise = session.get(Enterprise, application.enterprise_id)
    assert enterprise is not None
    track = Track(application.track)
    from_state = application.state
    candidates = [s for s in steps_for(track) if s.event == event and State(from_state) in s.sources]
    if not candidates:
        known = {s.event for s in steps_for(track)}
        why = "is not an event of this track" if event not in known else f"is not allowed from state '{from_state}'"
        raise TransitionRefused(
            f"'{event}' {why} (application {application_id})",
            rule="lifecycle",
            source="states/lifecycle.py",
            state=from_state,
            event=event,
        )
    authz.authorise(_merged_who(candidates), actor, application, enterprise)

    ctx = GuardContext(
        session=session,
        application=application,
        enterprise=enterprise,
        actor=actor,
        step=candidates[0],
        at=at,
        reason=reason,
        data=data,
    )
    adapter = ApplicationAdapter(ctx)
    step = fire(track, adapter, event)

    for name in step.records:  # what the decision relied on, computed after the guards passed
        data.update(EVIDENCE[name](ctx))
    previous_holder = ctx.holder_unit
    _apply_effects(application, step, ctx)
    application.state = adapter.state
    application.updated_at = to_utc(at)
    if ctx.warnings:
        application.warnings = [*application.warnings, *ctx.warnings]
    audit = append_event(
        session,
        subject=f"application:{application.id}",
        application_id=application.id,
        actor=actor,
        event=event,
        at=at,
        from_state=from_state,
        to_state=application.state,
        reason=reason,
        data={
            **data,
            **({"warnings": ctx.warnings} if ctx.warnings else {}),
            **({"level": [previous_holder, ctx.holder_unit]} if previous_holder != ctx.holder_unit else {}),
        },
    )
    mails = _queue_mail(session, step, ctx, from_state, audit.seq)
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
    try:
        result = apply_transition(session, application_id, event, actor=actor, at=at, reason=reason, data=data)
        session.commit()
        return result
    except StaleDataError as exc:
        session.rollback()
        raise ConcurrentUpdate(
            f"application {application_id} was changed by someone else; try again",
            rule="concurrent-update",
            source="optimistic lock (version)",
        ) from exc
    except OperationalError as exc:
        session.rollback()
        if _is_conflict(exc):
            raise ConcurrentUpdate(
                f"application {application_id} is locked by another writer; try again",
                rule="concurrent-update",
                source="row lock",
            ) from exc
        raise
    except BaseException:
        session.rollback()
        raise


def _is_conflict(exc: OperationalError) -> bool:
    text = str(exc.orig).lower()
    return "could not serialize" in text or "deadlock" in text or "database is locked" in text


def _merged_who(candidates: list[Step]) -> Step:
    """Rows of one event from one state share their actors; authorise against their union."""
    who = tuple(dict.fromkeys(w for s in candidates for w in s.who))
    first = candidates[0]
    return Step(first.event, first.sources, first.dest, who)


def _apply_effects(application: Application, step: Step, ctx: GuardContext) -> None:
    """What a step implies beyond the state: freeze content, move up the chain, start the clocks."""
    from datetime import date

    match step.event:
        case "submit" | "resubmit":
            # The paper copy must equal the online one (251 §2(二)3): freeze the content at submission.
            application.content_sha256 = content_digest(application.content)
            application.submitted_at = to_utc(ctx.at)
            application.review_level = 0
            application.ranks = {}
        case "recommend" if step.dest == State.LOCAL_REVIEW:
            application.review_level += 1
        case "raise_objection":
            application.open_objections += 1
        case "dismiss_objection" | "uphold_objection":
            application.open_objections -= 1
        case "start_cultivation":
            start = ctx.data.get("started_on")
            start_day = date.fromisoformat(start) if start else ctx.at.astimezone(_shanghai()).date()
            # 251 §3(二)5: 培育期不超过2年 — the period ends two years after the start, the day before.
            application.cultivation_ends_on = _add_years(start_day, 2)
            application.milestones = {
                **application.milestones,
                "cultivation_started_on": start_day.isoformat(),
                "cultivation_ends_on": application.cultivation_ends_on.isoformat(),
            }
        case "pass_verification" if step.dest == State.PUBLIC_NOTICE:
            keys: tuple[str, ...] = ("notice_opens_on", "notice_closes_on", "notice_id")
            notice = {k: ctx.data[k] for k in keys if k in ctx.data}
            application.milestones = {**application.milestones, **notice}
        case _:
            pass
    if "milestone" in ctx.data:
        application.milestones = {**application.milestones, **dict(ctx.data["milestone"])}


def _shanghai() -> Any:
    from models.clock import SHANGHAI

    return SHANGHAI


def _add_years(day: Any, years: int) -> Any:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


# ---- mail ---------------------------------------------------------------------------------------


def _recipients(session: Session, who: str, ctx: GuardContext) -> list[tuple[str, str]]:
    application, enterprise = ctx.application, ctx.enterprise
    if who == "applicant":
        return [(enterprise.contact_email, enterprise.contact_name or enterprise.name)]
    unit: str | None
    if who in {"holder", "next_holder"}:
        unit = ctx.holder_unit if application.state in {State.SUBMITTED, State.LOCAL_REVIEW} else None
    elif who == "recommender":
        unit = application.chain[-1] if application.chain else None
    else:
        unit = None
    if unit is None:
        return []
    officers = session.scalars(
        select(Actor).where(col(Actor.role) == Role.LOCAL_OFFICER, col(Actor.unit) == unit).order_by(col(Actor.id))
    ).all()
    return [(o.email, o.name) for o in officers if o.email]


def _queue_mail(session: Session, step: Step, ctx: GuardContext, from_state: str, seq: int) -> int:
    application, enterprise = ctx.application, ctx.enterprise
    tier = application.tier
    context = {
        "application_id": application.id,
        "title": application.title,
        "enterprise_name": enterprise.name,
        "tier": tier,
        "tier_label": Tier(tier).label if tier in Tier.__members__.values() else tier,
        "from_state": from_state,
        "from_label": STATE_LABELS.get(State(from_state), from_state),
        "state": application.state,
        "state_label": STATE_LABELS.get(State(application.state), application.state),
        "event": step.event,
        "event_label": step.label or step.event,
        "actor_unit": ctx.actor.unit,
        "at_local": shanghai_text(ctx.at),
        "reason": ctx.reason,
    }
    queued = 0
    seen: set[str] = set()
    for who in step.notify:
        for email, name in _recipients(session, who, ctx):
            if email in seen:
                continue
            seen.add(email)
            queued += queue(
                session,
                kind="transition",
                recipient=email,
                recipient_name=name,
                context=context,
                dedupe_key=f"transition:{application.id}:{seq}:{email}",
                at=ctx.at,
                application_id=application.id,
            )
    return queued


def refusal_line(error: ReviewError) -> str:
    return str(error)
