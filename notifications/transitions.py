"""The mail of a state change: the one door calls `queue_for_transition` inside its transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from models.clock import shanghai_text
from models.enums import Tier
from models.tables import Actor, Application, Enterprise
from notifications import facts, recipients
from notifications.kinds import load_policy
from notifications.outbox import queue


def _context(season: Any, application: Application, enterprise: Enterprise, change: dict[str, Any]) -> dict[str, Any]:
    from states.lifecycle import STATE_LABELS, State

    tier = application.tier
    if change["actor_unit"] == enterprise.credit_code:  # the applicant acted: its name, not its credit code
        actor_zh = actor_en = enterprise.name
    else:
        actor_zh, actor_en = facts.unit_names(season, change["actor_unit"])
    unit = change["held_by"] or enterprise.jurisdiction
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
        **facts.common(season, unit, application.track),  # the contact nearest the unit that holds it
    }


def queue_for_transition(
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
) -> int:
    """Queue the step's mail (`step.notify` names the audiences) in the caller's transaction; returns how many.

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
    context = _context(season, application, enterprise, change)
    kind = load_policy().kind("transition")
    queued, seen = 0, set()
    for who in step.notify:
        for person in recipients.for_transition(session, who, application=application, enterprise=enterprise,
                                                held_by_before=held_by_before):  # fmt: skip
            if person.email.lower() in seen:
                continue
            seen.add(person.email.lower())
            queued += queue(
                session,
                kind=kind.kind,
                recipient=person.email,
                recipient_name=person.name,
                context=context,
                dedupe_key=kind.key_for(application_id=application.id, seq=seq, email=person.email),
                at=at,
                application_id=application.id,
            )
    return queued
