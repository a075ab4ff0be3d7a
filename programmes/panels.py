"""Expert panels: built by the organising unit, assigned with conflicts computed and load balanced.

251 §3(二)4-5: the national expert committee (国家智能制造专家委) does the leading tier's material review and
on-site verification and decides its acceptance; 青浦 §5(二): experts and a joint panel evaluate. How many
reviewers, the form and the stage come from the season (`panels:` in the season file). Every change here is
an audited event on the panel's chain (`panel:<id>`) or the expert's (`expert:<id>`), in one transaction.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from models.clock import local_date, to_utc
from models.database import must_get
from models.enums import Role
from models.errors import InvalidInput, NotAuthorised, NotFound, TransitionRefused
from models.tables import Actor, Application, Enterprise, Expert, Panel, PanelMember, ReviewAssignment
from programmes.conflicts import Conflict, conflicts
from programmes.season import PanelRule, Season, get_season
from states.audit import add_audited, append_event

ORGANISER_ROLES = frozenset({Role.MINISTRY_OFFICER, Role.LOCAL_OFFICER, Role.ADMIN})
# The stages as the notices name them (251 §3(二)4-5: 材料评审、现场核查、验收认定; 青浦 §5(二): 专家评审).
STAGE_LABELS = {
    "material_review": "材料评审",
    "onsite_verification": "现场核查",
    "acceptance": "验收认定",
    "district_evaluation": "专家评审",
}


class PanelTooSmall(TransitionRefused, rule="panel-size"):
    """Fewer conflict-free members than the season's number of reviewers."""


def rule_of(panel: Panel, season: Season | None = None) -> PanelRule:
    rule = (season or get_season(panel.season)).panel_rule(stage=panel.stage, tier=panel.tier, track=panel.track)
    if rule is None:
        raise NotFound(f"season {panel.season} has no {panel.stage} panels for {panel.tier}", rule="panel-rule")
    return rule


def may_organise(actor: Actor, rule: PanelRule) -> bool:
    """Only the stage's organising unit builds and assigns its panels (the web shows its forms by this)."""
    return actor.role in ORGANISER_ROLES and actor.unit == rule.organiser


def _authorise_organiser(actor: Actor, rule: PanelRule, what: str) -> None:
    if not may_organise(actor, rule):
        raise NotAuthorised(
            f"{actor.role}@{actor.unit} may not {what}: only the organiser {rule.organiser} may",
            rule="panel-organiser",
            source=rule.source,
        )


def add_expert(session: Session, *, data: dict[str, Any], actor: Actor, at: datetime) -> Expert:
    """Register an expert (name, email, province, employer, employer credit code, declared ties); audited."""
    try:
        expert = Expert.model_validate({**data, "created_at": to_utc(at)})
        expert = Expert(**expert.model_dump())
    except ValueError as exc:
        raise InvalidInput(f"expert: {str(exc).splitlines()[0]}", rule="expert-schema") from None
    if not expert.name.strip() or not expert.province.strip():
        raise InvalidInput("expert: name and province are required", rule="expert-schema")
    expert.email = expert.email.strip().lower()
    expert.ties = [t.strip().upper() for t in expert.ties]
    shown = ("name", "province", "employer", "employer_credit_code", "ties")
    add_audited(session, expert, lambda e: f"expert:{e.id}", actor=actor, event="add_expert", at=at,
                data={k: getattr(expert, k) for k in shown})  # fmt: skip
    session.commit()
    return expert


def create_panel(
    session: Session,
    *,
    season: str,
    stage: str,
    tier: str,
    name: str,
    actor: Actor,
    at: datetime,
    track: str = "national",
) -> Panel:
    """A panel for a stage of the season, built by the stage's organising unit."""
    rule = get_season(season).panel_rule(stage=stage, tier=tier, track=track)
    if rule is None:
        raise InvalidInput(f"season {season} declares no {stage} panels for {tier} ({track})", rule="panel-rule")
    _authorise_organiser(actor, rule, "build this panel")
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("panel name: 1 to 200 characters", rule="panel-name", field="name")
    taken = select(col(Panel.id)).where(
        col(Panel.season) == season, col(Panel.stage) == stage, col(Panel.tier) == tier, col(Panel.name) == name
    )
    if session.scalars(taken).first() is not None:
        raise InvalidInput(f"a {stage} panel named {name} exists already", rule="panel-name", field="name")
    panel = Panel(
        season=season,
        stage=stage,
        tier=tier,
        track=track,
        organiser=rule.organiser,
        name=name,
        created_by=f"{actor.role}@{actor.unit} {actor.name}",
        created_at=to_utc(at),
    )
    add_audited(session, panel, lambda p: f"panel:{p.id}", actor=actor, event="create_panel", at=at,
                data={"season": season, "stage": stage, "tier": tier, "track": track, "name": name})  # fmt: skip
    session.commit()
    return panel


def get_panel(session: Session, panel_id: int) -> Panel:
    return must_get(session, Panel, panel_id, "panel")


def add_members(session: Session, *, panel_id: int, expert_ids: list[int], actor: Actor, at: datetime) -> int:
    """Add experts to a panel (idempotent per expert); returns how many were new."""
    panel = get_panel(session, panel_id)
    _authorise_organiser(actor, rule_of(panel), "change this panel")
    present = set(session.scalars(select(col(PanelMember.expert_id)).where(col(PanelMember.panel_id) == panel_id)))
    added = []
    for expert_id in dict.fromkeys(expert_ids):
        expert = session.get(Expert, expert_id)
        if expert is None or not expert.active:
            raise NotFound(f"expert {expert_id} does not exist or is inactive", rule="not-found")
        if expert_id not in present:
            session.add(PanelMember(panel_id=panel_id, expert_id=expert_id))
            added.append(expert_id)
    if added:
        append_event(
            session, subject=f"panel:{panel_id}", actor=actor, event="add_members", at=at, data={"expert_ids": added}
        )
    session.commit()
    return len(added)


def conflicts_for(session: Session, expert: Expert, application: Application, rule: PanelRule) -> list[Conflict]:
    """The conflicts between one expert and one application under the stage's rule."""
    enterprise = session.get(Enterprise, application.enterprise_id)
    assert enterprise is not None
    own = (
        set(
            session.scalars(
                select(col(Enterprise.credit_code)).where(
                    func.lower(col(Enterprise.contact_email)) == expert.email.lower()
                )
            )
        )
        if expert.email
        else set()
    )
    province = get_season(application.season).province_of(enterprise.province).code
    return conflicts(
        expert,
        enterprise,
        applicant_province=province,
        same_province_rule=rule.same_province_conflict and rule.track == "national",
        own_enterprises=own,
    )


def _waiting(session: Session, panel: Panel, rule: PanelRule, ids: list[int] | None) -> list[Application]:
    query = select(Application).where(
        col(Application.season) == panel.season,
        col(Application.tier) == panel.tier,
        col(Application.track) == panel.track,
        col(Application.state) == rule.state,
    )
    if ids is not None:
        query = query.where(col(Application.id).in_(ids))
    return list(session.scalars(query.order_by(col(Application.id))))


def _load(session: Session, panel_id: int) -> Counter[int]:
    """Open assignments per member: what balances the load."""
    rows = session.execute(
        select(col(ReviewAssignment.expert_id), func.count())
        .where(col(ReviewAssignment.panel_id) == panel_id)
        .group_by(col(ReviewAssignment.expert_id))
    )
    return Counter({int(expert_id): int(n) for expert_id, n in rows})


def auto_assign(
    session: Session, *, panel_id: int, actor: Actor, at: datetime, application_ids: list[int] | None = None
) -> list[ReviewAssignment]:
    """Give each waiting application the season's number of conflict-free reviewers, least-loaded first.

    All or nothing: if one application cannot get enough conflict-free members, nothing is assigned."""
    panel = get_panel(session, panel_id)
    rule = rule_of(panel)
    _authorise_organiser(actor, rule, "assign this panel")
    members = list(
        session.scalars(
            select(Expert)
            .join(PanelMember, col(PanelMember.expert_id) == col(Expert.id))
            .where(col(PanelMember.panel_id) == panel_id, col(Expert.active))
            .order_by(col(Expert.id))
        )
    )
    load = _load(session, panel_id)
    made: list[ReviewAssignment] = []
    for application in _waiting(session, panel, rule, application_ids):
        made += _assign_one(session, panel, rule, application, members, load, actor, at)
    if made:
        append_event(
            session,
            subject=f"panel:{panel_id}",
            actor=actor,
            event="auto_assign",
            at=at,
            data={"assignments": [[a.application_id, a.expert_id] for a in made]},
        )
    session.commit()
    return made


def _assign_one(
    session: Session,
    panel: Panel,
    rule: PanelRule,
    application: Application,
    members: list[Expert],
    load: Counter[int],
    actor: Actor,
    at: datetime,
) -> list[ReviewAssignment]:
    taken = set(
        session.scalars(
            select(col(ReviewAssignment.expert_id)).where(
                col(ReviewAssignment.panel_id) == panel.id, col(ReviewAssignment.application_id) == application.id
            )
        )
    )
    needed = rule.reviewers - len(taken)
    if needed <= 0:
        return []
    free = [m for m in members if m.id not in taken and not conflicts_for(session, m, application, rule)]
    if len(free) < needed:
        session.rollback()
        raise PanelTooSmall(
            f"application {application.id}: only {len(free)} conflict-free members for {needed} more reviewers "
            f"(panel {panel.id}); add experts from other provinces or employers",
            rule="panel-size",
            source=rule.source,
        )
    chosen = sorted(free, key=lambda m: (load[m.id or 0], m.id))[:needed]
    due = local_date(at) + timedelta(days=rule.review_days)
    made = []
    for expert in chosen:
        assert expert.id is not None and application.id is not None and panel.id is not None
        load[expert.id] += 1
        made.append(
            ReviewAssignment(
                panel_id=panel.id,
                application_id=application.id,
                expert_id=expert.id,
                assigned_by=f"auto ({actor.role}@{actor.unit})",
                due_on=due,
                assigned_at=to_utc(at),
            )
        )
    session.add_all(made)
    return made


def assign_manually(
    session: Session,
    *,
    panel_id: int,
    application_id: int,
    expert_id: int,
    actor: Actor,
    at: datetime,
    reason: str = "",
) -> ReviewAssignment:
    """Assign one expert by hand. A conflict is refused unless overridden with a reason (audited)."""
    panel = get_panel(session, panel_id)
    rule = rule_of(panel)
    _authorise_organiser(actor, rule, "assign this panel")
    application, expert = session.get(Application, application_id), session.get(Expert, expert_id)
    if application is None or expert is None:
        raise NotFound(f"application {application_id} or expert {expert_id} does not exist", rule="not-found")
    if (application.season, application.tier, application.track) != (panel.season, panel.tier, panel.track):
        raise InvalidInput(
            f"panel {panel_id} reviews {panel.tier} ({panel.track}, {panel.season}); application {application_id} "
            f"is {application.tier} ({application.track}, {application.season})",
            rule="panel-application",
            source=rule.source,
        )
    found = conflicts_for(session, expert, application, rule)
    if found and not reason.strip():
        first = found[0]
        raise NotAuthorised(
            f"conflict of interest: {first.message}; an override needs a reason",
            rule=f"conflict:{first.rule}",
            source=first.source,
        )
    assignment = ReviewAssignment(
        panel_id=panel_id,
        application_id=application_id,
        expert_id=expert_id,
        assigned_by=f"{actor.role}@{actor.unit} {actor.name}",
        override_reason=reason.strip() if found else "",
        due_on=local_date(at) + timedelta(days=rule.review_days),
        assigned_at=to_utc(at),
    )
    add_audited(
        session,
        assignment,
        f"panel:{panel_id}",
        actor=actor,
        event="assign",
        at=at,
        reason=reason,
        data={"application_id": application_id, "expert_id": expert_id, "overridden": [c.rule for c in found]},
    )
    session.commit()
    return assignment


def panels_of(session: Session, *, season: str, stage: str, tier: str, track: str) -> list[tuple[Panel, list[Expert]]]:
    """The panels built for one stage of a season's tier and track, each with its members."""
    panels = list(
        session.scalars(
            select(Panel)
            .where(col(Panel.season) == season, col(Panel.stage) == stage, col(Panel.tier) == tier,
                   col(Panel.track) == track)
            .order_by(col(Panel.id))
        )
    )  # fmt: skip
    members: dict[int, list[Expert]] = {p.id or 0: [] for p in panels}
    rows = session.execute(
        select(col(PanelMember.panel_id), Expert)
        .join(Expert, col(Expert.id) == col(PanelMember.expert_id))
        .where(col(PanelMember.panel_id).in_(list(members)))
        .order_by(col(Expert.id))
    )
    for panel_id, expert in rows:
        members[panel_id].append(expert)
    return [(p, members[p.id or 0]) for p in panels]


def candidates(session: Session, application: Application, rule: PanelRule) -> list[tuple[Expert, list[Conflict]]]:
    """Every active expert with their conflicts with `application` under the stage's rule (computed)."""
    pool = session.scalars(select(Expert).where(col(Expert.active)).order_by(col(Expert.id)))
    return [(expert, conflicts_for(session, expert, application, rule)) for expert in pool]
