"""What an application page shows, computed from the services (no rule of its own)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from models.errors import NotAuthorised
from models.tables import Actor, Application, AuditEvent, Enterprise
from programmes.panels import candidates, may_organise, panels_of
from programmes.reviews import PanelResult, visible_result, weighted_score
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


@dataclass
class StageView:
    """One panel stage of an application as the account may see it (the services decide what)."""

    rule: Any
    current: bool  # the application is in this stage now
    reviews: list[dict[str, Any]]
    result: PanelResult | None  # None: the account may not read every review it aggregates
    organiser: bool  # the account's unit builds and assigns this stage's panels
    panels: list[Any]  # (Panel, members) of the stage, for the organiser
    candidates: list[Any]  # (Expert, conflicts with this application), for the organiser of the current stage

    @property
    def conflicts(self) -> dict[int, list[str]]:
        """Expert id → the rules of their conflicts with the application."""
        return {expert.id: [c.rule for c in found] for expert, found in self.candidates}


def panel_stages(session: Session, account: Any, application: Application) -> list[StageView]:
    """The application's panel stages (season data) the account may read: reviews, result, organiser forms."""
    actor = transient_actor(account)
    rules = [r for r in get_season(application.season).panels
             if application.tier in r.tiers and r.track == application.track]  # fmt: skip
    stages = []
    for rule in rules:
        try:
            reviews, result = visible_result(session, application_id=application.id or 0, stage=rule.stage,
                                             viewer=actor)  # fmt: skip
        except NotAuthorised:
            continue  # not a reader of this stage (an enterprise, an expert of another panel)
        for review in reviews:
            done = review["status"] == "submitted" and rule.criteria
            review["weighted"] = weighted_score(rule, review["scores"]) if done else None
        organiser = may_organise(actor, rule)
        current = application.state == rule.state
        stages.append(StageView(
            rule, current, reviews, result, organiser,
            panels_of(session, season=application.season, stage=rule.stage, tier=application.tier,
                      track=application.track) if organiser else [],
            candidates(session, application, rule) if organiser and current else [],
        ))  # fmt: skip
    return stages
