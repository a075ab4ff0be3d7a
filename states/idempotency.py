"""Whether a step was already taken: what makes a flow's retry or re-run safe.

An event counts as already applied when, since the application's latest (re)submission, the same actor
(role and unit) fired the same event — with the same key for steps that stay in their state (objections,
checkpoints) — and nothing since has brought the application back to where the event starts.
"""

from __future__ import annotations

from collections.abc import Sequence

from models.tables import Actor, AuditEvent
from states.lifecycle import TABLES

BOUNDARY_EVENTS = frozenset({"submit", "resubmit"})  # a (re)submission starts a new pass through the chain


def since_last_submission(events: Sequence[AuditEvent]) -> list[AuditEvent]:
    """The events of the application's current pass: from its latest submit/resubmit on."""
    for i in range(len(events) - 1, -1, -1):
        if events[i].event in BOUNDARY_EVENTS:
            return list(events[i:])
    return list(events)


def sources_of(event: str) -> frozenset[str]:
    """Every state an event may be fired from, over all registered tracks."""
    return frozenset(
        str(src) for steps in TABLES.values() for step in steps if step.event == event for src in step.sources
    )


def already_applied(events: Sequence[AuditEvent], event: str, actor: Actor, *, key: str | None = None) -> bool:
    """True when this actor already fired this event (with this key) in the application's current pass,
    and nothing since has brought the application back to where the event starts (e.g. a failed
    preliminary review sends it back to cultivation, so a new acceptance request is a new step)."""
    current = since_last_submission(events)
    sources = sources_of(event)
    for index in range(len(current) - 1, -1, -1):
        e = current[index]
        if e.event != event or e.actor_role != actor.role or e.actor_unit != actor.unit:
            continue
        if key is not None:
            if (e.data or {}).get("flow_key") == key:
                return True
            continue
        later = current[index + 1 :]
        return not any(x.to_state in sources and x.to_state != x.from_state for x in later)
    return False


def current_state(events: Sequence[AuditEvent]) -> str:
    """The state the latest event left the application in."""
    return next((e.to_state for e in reversed(events) if e.to_state), "")
