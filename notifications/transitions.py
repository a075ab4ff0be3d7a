"""The mail of a state change: the one door calls `queue_for_transition` inside its transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from models.clock import shanghai_text
from models.enums import Tier
from models.memo import remembered
from models.tables import Actor, Application, Enterprise
from notifications import facts, recipients
from notifications.kinds import load_policy
from notifications.outbox import Outgoing, queue_many


def _context(session: Session, season: Any, application: Application, enterprise: Enterprise,
             change: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    from states.lifecycle import STATE_LABELS, State

    tier, acting = application.tier, change["actor_unit"]
    # Season data, read once per batch of transitions (`models.memo`): a batch's 500 filings of a district
    # ask for the same unit's names and footer.
    if acting == enterprise.credit_code:  # the applicant acted: its name, not its credit code
        actor_zh = actor_en = enterprise.name
    else:
        actor_zh, actor_en = remembered(session, ("unit-names", season.name, acting),
                                        lambda: facts.unit_names(season, acting))  # fmt: skip
    unit, track = change["held_by"] or enterprise.jurisdiction, application.track
    footer = remembered(session, ("mail-footer", season.name, unit, str(track)),
                        lambda: facts.common(season, unit, track))  # fmt: skip
    return {
        "application_id": application.id,
        "title": application.title,
        "enterprise_name": enterprise.name,
        "tier": tier,
        "tier_label": Tier(tier).label if tier in Tier.__members__.values() else tier,
        "from_state": change["from_state"],
        "from_label": STATE_LABELS.get(State(change["from_state"]), change["from_state"]),
        "state": application.state,
        "state_label": STATE_LABELS.get(State(application.state), application.state),
        "event": change["event"],
        "event_label": change["event_label"],
        "actor_unit": change["actor_unit"],
        "actor_unit_zh": actor_zh,
        "actor_unit_en": actor_en,
        "at_local": shanghai_text(change["at"]),
        "reason": change["reason"],
        "source": change["source"],
        **footer,  # the contact nearest the unit that holds it
    }


def queue_for_transition(session: Session, **change: Any) -> int:
    """Queue the step's mail (`step.notify` names the audiences) in the caller's transaction; returns how
    many were new. `change` is what `mail_for_transition` takes."""
    return len(queue_many(session, mail_for_transition(session, **change), at=change["at"]))


def mail_for_transition(
    session: Session,
    *,
    application: Application,
    enterprise: Enterprise,
    step: Any,
    actor: Actor,
    from_state: str,
    level_before: int,
    seq: int,
    at: datetime,
    reason: str,
) -> list[Outgoing]:
    """The step's mail, one message per address, not yet queued: `queue_for_transition` queues it at once,
    a batch of transitions (`states.bulk`) collects it and queues the whole batch's with one statement.

    The unit that held the application before the step still hears of it when the step took it away
    (a withdrawal: the state has already changed when we get here).
    """
    from programmes.season import get_season

    season = get_season(application.season)
    held_by_before = recipients.holder(application, from_state, level_before)
    change = {"from_state": from_state, "event": step.event, "event_label": step.label or step.event,
              "actor_unit": actor.unit, "at": at, "reason": reason, "source": step.source,
              "held_by": recipients.holder(application, application.state, application.review_level)
              or held_by_before}  # fmt: skip
    context = _context(session, season, application, enterprise, change)
    kind = load_policy().kind("transition")
    messages: dict[str, Outgoing] = {}
    for who in step.notify:
        for person in recipients.for_transition(session, who, application=application, enterprise=enterprise,
                                                held_by_before=held_by_before):  # fmt: skip
            if not person.email or person.email.lower() in messages:  # an empty address queues nothing
                continue
            messages[person.email.lower()] = Outgoing(
                kind=kind.kind,
                recipient=person.email,
                recipient_name=person.name,
                context=context,
                dedupe_key=kind.key_for(application_id=application.id, seq=seq, email=person.email),
                application_id=application.id,
            )
    return list(messages.values())
