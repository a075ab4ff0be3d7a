"""What an application page shows, computed from the services (no rule of its own)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from models.tables import Actor, Application, AuditEvent, Enterprise
from programmes.season import get_season
from states import authz
from states.audit import audit_key, history, verify_chain
from states.lifecycle import State, Step, steps_for, table_key


@dataclass
class Decision:
    event: str
    label: str
    source: str


def transient_actor(account: Any) -> Actor:
    """The account as the door would see it, without writing anything (for showing buttons)."""
    return Actor(name=account.display_name, email=account.email, role=str(account.role), unit=account.unit)


def open_decisions(account: Any, application: Application, enterprise: Enterprise) -> list[Decision]:
    """The events the lifecycle table lets this account fire now (states.authz decides; no rule here)."""
    actor = transient_actor(account)
    state = State(application.state)
    seen: dict[str, Decision] = {}
    key = table_key(application.season, application.track, enterprise.jurisdiction)  # the door's own table
    for step in steps_for(key):
        if state in step.sources and step.event not in seen and _allowed(step, actor, application, enterprise):
            seen[step.event] = Decision(step.event, step.label or step.event, step.source)
    return list(seen.values())


def _allowed(step: Step, actor: Actor, application: Application, enterprise: Enterprise) -> bool:
    return any(authz.allowed(who, actor, application, enterprise) for who in step.who)


def timeline(session: Session, application: Application) -> tuple[list[AuditEvent], list[str]]:
    """The application's audit events and the problems its hash chain has (empty: verified)."""
    subject = f"application:{application.id}"
    events = history(session, subject)
    problems = list(verify_chain(subject, events, application.audit_head, application.audit_count, audit_key()))
    return events, problems


def materials(application: Application) -> list[dict[str, Any]]:
    """The tier's checklist against what the application provides."""
    checklist = get_season(application.season).checklist(application.tier)
    given = dict((application.content or {}).get("materials") or {})
    items = checklist.items if checklist else ()
    rows = []
    for m in items:
        value = str(given.get(m.key, "")).strip()
        rows.append({"key": m.key, "name": m.name_zh, "required": m.required, "present": bool(value), "value": value})
    return rows


def sections(application: Application) -> list[tuple[str, Any]]:
    """The content by section, in the file's order (materials and pledge shown elsewhere)."""
    skip = {"materials", "pledge", "credit_code"}
    return [(k, v) for k, v in (application.content or {}).items() if k not in skip and v not in (None, "", [], {})]
