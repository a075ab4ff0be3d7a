"""One-line builders of valid enterprises, actors and applications, through the real service functions.

    ent = enterprise(session)                                  # 上海 青浦, eligible for 卓越级
    app = application(session, "public_notice")                # walked there by firing the real events
    app = application(session, "in_cultivation", tier="leading", unit="tj.binhai")
    fire(session, app.id, "reject", actor=officer(session, "sh.qingpu"), reason="…")

Every state is reached by firing the events of the national lifecycle table through the one door
(`states.service.transition`), with the actor the table names (applicant, holder, recommender, ministry,
system) and a time inside the 2025 season's deadlines. The only step that is not a single event is the
ranked recommendation a unit makes before `recommend`: the real one
(`programmes.recommendation.submit_ranked_recommendation`) is one round per unit, tier and season, total
over what the unit holds and within its quota (six per Shanghai district), so it can't build hundreds of
applications one at a time; `rank()` records the unit's rank on the row instead (what the round does
before it fires `recommend` through the door), and `recommend` itself still goes through the door.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from models.clock import SHANGHAI
from models.credit_code import make_credit_code
from models.enums import MINISTRY_UNIT, Role
from models.tables import Actor, Application, Enterprise, Expert
from replay.synthetic import national_file  # the demo's valid baseline file
from states.intake import SYSTEM_ACTOR, add_actor, add_enterprise, create_application
from states.lifecycle import State, Who, steps_for, table_key
from states.service import TransitionResult, transition

SEASON = "2025"
_serial = itertools.count(1)


def at(day: str, hour: int = 10) -> datetime:
    """A Shanghai instant on a day of the season: at("2025-07-01")."""
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), SHANGHAI) + timedelta(hours=hour)


# When each event happens in a walk: inside every 2025 deadline (Shanghai: submit and district
# recommendation by 07-11, province by 08-01), notices 09-04..09-11, cultivation from 2025-10-01.
EVENT_AT: dict[str, datetime] = {
    "create": at("2025-06-20"),
    "submit": at("2025-07-01"),
    "resubmit": at("2025-07-03"),
    "recommend": at("2025-07-05"),
    "return_for_revision": at("2025-07-02"),
    "reject": at("2025-07-02"),
    "withdraw": at("2025-07-02"),
    "open_ministry_review": at("2025-08-05"),
    "pass_review": at("2025-08-20"),
    "pass_verification": at("2025-09-01"),
    "raise_objection": at("2025-09-06"),
    "dismiss_objection": at("2025-09-08"),
    "uphold_objection": at("2025-09-08"),
    "recognise": at("2025-09-15"),
    "start_cultivation": at("2025-10-01"),
    "record_checkpoint": at("2026-04-01"),
    "request_acceptance": at("2026-10-01"),
    "pass_preliminary_review": at("2026-10-15"),
    "fail_preliminary_review": at("2026-10-15"),
    "accept": at("2026-12-01"),
    "not_accept": at("2026-12-01"),
    "expire": at("2027-10-05"),
}
NOTICE = {"notice_opens_on": "2025-09-04", "notice_closes_on": "2025-09-11", "notice_id": "excellent-2025"}
EVENT_DATA: dict[str, dict[str, Any]] = {
    "pass_verification": NOTICE,
    "start_cultivation": {"started_on": "2025-10-01"},
}
NEEDS_REASON = {step.event for step in steps_for("national") if "reason_given" in step.guards}

# The path from draft to each national state (excellent unless the state is leading-only).
PATHS: dict[State, tuple[str, ...]] = {
    State.DRAFT: (),
    State.SUBMITTED: ("submit",),
    State.LOCAL_REVIEW: ("submit", "recommend"),  # a chain of two or more units
    State.RECOMMENDED: ("submit", "recommend*"),  # recommend up to the top of the chain
    State.MINISTRY_REVIEW: ("submit", "recommend*", "open_ministry_review"),
    State.ONSITE_VERIFICATION: ("submit", "recommend*", "open_ministry_review", "pass_review"),
    State.PUBLIC_NOTICE: ("submit", "recommend*", "open_ministry_review", "pass_review", "pass_verification"),
    State.RECOGNISED: ("submit", "recommend*", "open_ministry_review", "pass_review", "pass_verification", "recognise"),
    State.CULTIVATION_OBJECT: ("submit", "recommend*", "open_ministry_review", "pass_review", "pass_verification"),
    State.IN_CULTIVATION: (
        "submit", "recommend*", "open_ministry_review", "pass_review", "pass_verification", "start_cultivation",
    ),
    State.ACCEPTANCE_REQUESTED: (
        "submit", "recommend*", "open_ministry_review", "pass_review", "pass_verification", "start_cultivation",
        "request_acceptance",
    ),
    State.EXPERT_ACCEPTANCE: (
        "submit", "recommend*", "open_ministry_review", "pass_review", "pass_verification", "start_cultivation",
        "request_acceptance", "pass_preliminary_review",
    ),
    State.ACCEPTED: (
        "submit", "recommend*", "open_ministry_review", "pass_review", "pass_verification", "start_cultivation",
        "request_acceptance", "pass_preliminary_review", "accept",
    ),
    State.NOT_ACCEPTED: (
        "submit", "recommend*", "open_ministry_review", "pass_review", "pass_verification", "start_cultivation",
        "request_acceptance", "pass_preliminary_review", "not_accept",
    ),
    State.CULTIVATION_EXPIRED: (
        "submit", "recommend*", "open_ministry_review", "pass_review", "pass_verification", "start_cultivation",
        "expire",
    ),
    State.RETURNED: ("submit", "return_for_revision"),
    State.REJECTED: ("submit", "reject"),
    State.WITHDRAWN: ("submit", "withdraw"),
}  # fmt: skip
LEADING_ONLY = frozenset(
    {
        State.CULTIVATION_OBJECT,
        State.IN_CULTIVATION,
        State.ACCEPTANCE_REQUESTED,
        State.EXPERT_ACCEPTANCE,
        State.ACCEPTED,
        State.NOT_ACCEPTED,
        State.CULTIVATION_EXPIRED,
    }
)


# ---- actors -------------------------------------------------------------------------------------


def officer(session: Session, unit: str, *, email: str | None = None) -> Actor:
    """The local officer of a unit (registered once; idempotent)."""
    return add_actor(
        session,
        name=f"{unit} 审核员",
        email=email if email is not None else f"officer.{unit.replace('.', '-')}@gov.example.cn",
        role=Role.LOCAL_OFFICER,
        unit=unit,
    )


def ministry(session: Session) -> Actor:
    return add_actor(session, name="工信部秘书处", email="secretariat@miit.example.cn", role=Role.MINISTRY_OFFICER,
                     unit=MINISTRY_UNIT)  # fmt: skip


def admin(session: Session, unit: str = "sh") -> Actor:
    return add_actor(session, name=f"{unit} 管理员", email=f"admin.{unit}@gov.example.cn", role=Role.ADMIN, unit=unit)


def system() -> Actor:
    return SYSTEM_ACTOR


def applicant(session: Session, enterprise_row: Enterprise) -> Actor:
    """The enterprise's own actor (registered by add_enterprise from its contact e-mail)."""
    actor = session.scalars(
        select(Actor).where(Actor.role == Role.ENTERPRISE, Actor.unit == enterprise_row.credit_code)
    ).first()
    if actor is not None:
        return actor
    return add_actor(session, name=enterprise_row.name, email=enterprise_row.contact_email, role=Role.ENTERPRISE,
                     unit=enterprise_row.credit_code)  # fmt: skip


# ---- enterprises --------------------------------------------------------------------------------


def division_of(unit: str) -> str:
    """The 6-digit administrative division of a unit (its own or its nearest ancestor's, zero-padded)."""
    from programmes.season import get_season

    season = get_season(SEASON)
    for code in season.lineage(unit):
        division = season.unit(code).division
        if division:
            return division.ljust(6, "0")
    raise ValueError(f"no administrative division for {unit}")


def credit_code_for(unit: str, serial: int | None = None) -> str:
    n = next(_serial) if serial is None else serial
    return make_credit_code(division_of(unit), f"MA{n:07d}")


def enterprise_data(unit: str = "sh.qingpu", *, tier: str = "excellent", serial: int | None = None,
                    **overrides: Any) -> dict[str, Any]:  # fmt: skip
    """A valid enterprise mapping for `add_enterprise`: jurisdiction from the unit, prerequisites held."""
    from programmes.season import get_season

    season = get_season(SEASON)
    lineage = season.lineage(unit)
    levels = {season.unit(c).level: c for c in lineage}
    n = next(_serial) if serial is None else serial
    held = {"excellent": "advanced", "leading": "excellent", "advanced": "basic"}.get(tier)
    data: dict[str, Any] = {
        "credit_code": credit_code_for(unit, n),
        "name": f"测试智能制造有限公司{n}",
        "province": lineage[-1],
        "city": levels.get("city"),
        "district": levels.get("district"),
        "industry": "装备制造",
        "recognitions": [{"tier": held, "year": 2024, "by": "miit" if held == "excellent" else lineage[-1]}]
        if held
        else [],
        "contact_name": f"联系人{n}",
        "contact_email": f"contact{n}@enterprise.example.cn",
        "contact_phone": f"138{n:08d}"[:11],
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def enterprise(session: Session, unit: str = "sh.qingpu", *, tier: str = "excellent", **overrides: Any) -> Enterprise:
    """Register a valid enterprise in `unit` (and its enterprise actor) through `add_enterprise`."""
    return add_enterprise(session, data=enterprise_data(unit, tier=tier, **overrides), actor=SYSTEM_ACTOR,
                          at=EVENT_AT["create"])  # fmt: skip


# ---- applications -------------------------------------------------------------------------------

def content_for(enterprise_row: Enterprise, tier: str = "excellent", **overrides: Any) -> dict[str, Any]:
    """A complete, valid application file for the tier (validated by ApplicationFile, stored as JSON)."""
    from programmes.application_file import ApplicationFile
    from programmes.season import get_season

    raw = national_file(get_season(SEASON), enterprise_row, tier)
    raw.update(overrides)
    return ApplicationFile.model_validate(raw).model_dump(mode="json")


def draft(session: Session, enterprise_row: Enterprise | None = None, *, tier: str = "excellent",
          unit: str = "sh.qingpu") -> Application:  # fmt: skip
    """A draft application through `create_application`, as the enterprise."""
    enterprise_row = enterprise_row or enterprise(session, unit, tier=tier)
    content = content_for(enterprise_row, tier)
    return create_application(
        session,
        enterprise_code=enterprise_row.credit_code,
        tier=tier,
        track="national",
        season=SEASON,
        title=content["title"],
        content=content,
        pledge=content["pledge"],
        actor=applicant(session, enterprise_row),
        at=EVENT_AT["create"],
    )


def actor_for(session: Session, application_row: Application, event: str) -> Actor:
    """The actor the lifecycle table names for `event` from the application's current state."""
    state = State(application_row.state)
    ent = session.get(Enterprise, application_row.enterprise_id)
    assert ent is not None
    key = table_key(application_row.season, application_row.track, ent.jurisdiction)
    steps = [s for s in steps_for(key) if s.event == event and state in s.sources]
    if not steps:
        raise ValueError(f"{event} is not an event from {state}")
    who = steps[0].who[0]
    match who:
        case Who.APPLICANT:
            ent = session.get(Enterprise, application_row.enterprise_id)
            assert ent is not None
            return applicant(session, ent)
        case Who.HOLDER:
            return officer(session, application_row.chain[application_row.review_level])
        case Who.RECOMMENDER:
            return officer(session, application_row.chain[-1])
        case Who.MINISTRY:
            return ministry(session)
        case Who.SYSTEM:
            return system()
    raise AssertionError(who)


def rank(session: Session, application_row: Application, unit: str | None = None, position: int = 1) -> None:
    """The holder unit ranks the application (its recommendation priority), so `recommend` may fire.

    Writes `ranks[unit]` on the row, as the ranked round does before firing `recommend`."""
    unit = unit or application_row.chain[application_row.review_level]
    fresh = session.get(Application, application_row.id, populate_existing=True)
    assert fresh is not None
    if (fresh.ranks or {}).get(unit) is None:
        fresh.ranks = {**(fresh.ranks or {}), unit: position}
        session.commit()


def fire(
    session: Session,
    application_id: int,
    event: str,
    *,
    actor: Actor | None = None,
    when: datetime | None = None,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
) -> TransitionResult:
    """Fire one event through the one door with the table's actor, the walk's time and needed data."""
    row = session.get(Application, application_id, populate_existing=True)
    assert row is not None
    if event == "recommend":
        rank(session, row)
    if actor is None or actor.role == Role.MINISTRY_OFFICER:  # the panel concludes before the ministry decides
        conclude_panel(session, row, event)
    return transition(
        session,
        application_id,
        event,
        actor=actor or actor_for(session, row, event),
        at=when or EVENT_AT[event],
        reason=reason if reason is not None else ("测试理由" if event in NEEDS_REASON else ""),
        data=data if data is not None else dict(EVENT_DATA.get(event, {})),
    )


def walk(session: Session, application_row: Application, to: State | str) -> Application:
    """Fire the events of PATHS[to] in order (recommend* = up to the top of the chain)."""
    target = State(to)
    for event in PATHS[target]:
        if event == "recommend*":
            while True:
                fire(session, application_row.id, "recommend")
                current = session.get(Application, application_row.id, populate_existing=True)
                assert current is not None
                if current.state == State.RECOMMENDED:
                    break
        else:
            fire(session, application_row.id, event)
    final = session.get(Application, application_row.id, populate_existing=True)
    assert final is not None and final.state == target, (final.state if final else None, target)
    return final


def application(session: Session, state: State | str = State.DRAFT, *, tier: str | None = None,
                unit: str = "sh.qingpu", enterprise_row: Enterprise | None = None) -> Application:  # fmt: skip
    """A valid application in `state`, walked there through the one door."""
    target = State(state)
    tier = tier or ("leading" if target in LEADING_ONLY else "excellent")
    return walk(session, draft(session, enterprise_row, tier=tier, unit=unit), target)


# ---- expert panels ------------------------------------------------------------------------------

PANEL_PROVINCES = ("bj", "gd", "js")  # none of them an applicant's province in the walks


def expert(session: Session, province: str = "bj", *, n: int | None = None, **overrides: Any) -> Actor:
    """Register an expert (and the actor it signs in as) from `province`; returns the actor."""
    from programmes.panels import add_expert

    n = next(_serial) if n is None else n
    data = {"name": f"专家{n}", "email": f"expert{n}@experts.example.cn", "province": province,
            "employer": f"研究院{n}", **overrides}  # fmt: skip
    add_expert(session, data=data, actor=ministry(session), at=EVENT_AT["create"])
    return Actor(name=data["name"], email=data["email"], role=Role.EXPERT, unit=province)


def passing_review(rule: Any) -> dict[str, Any]:
    return {"scores": {c.key: 85 for c in rule.criteria}, "recommendation": "pass",
            "findings": [{"item": c.key, "passed": True, "finding": "符合"} for c in rule.checklist]}  # fmt: skip


def conclude_panel(session: Session, row: Application, event: str) -> None:
    """When `event` decides a stage the season reviews by panel, run a panel of conflict-free experts that
    all recommend passing (the decision then records its result)."""
    from programmes.panels import add_members, auto_assign, create_panel
    from programmes.reviews import panel_result, submit_review
    from programmes.season import get_season

    rule = get_season(row.season).panel_rule(state=row.state, tier=row.tier, track=row.track)
    if rule is None or event not in rule.decides:
        return
    if panel_result(session, application_id=row.id or 0, stage=rule.stage).concluded:
        return
    when = EVENT_AT.get(event, EVENT_AT["create"]) - timedelta(days=1)
    organiser = ministry(session)
    panel = create_panel(session, season=row.season, stage=rule.stage, tier=row.tier,
                         name=f"{rule.stage} {row.id}", actor=organiser, at=when)  # fmt: skip
    reviewers = [expert(session, PANEL_PROVINCES[i % 3]) for i in range(rule.reviewers)]
    # By e-mail, not by position: the e-mail index returns rows in text order (expert10 before expert9).
    by_email = {r.email: r for r in reviewers}
    rows = session.scalars(select(Expert).where(Expert.email.in_(list(by_email)))).all()  # type: ignore[attr-defined]
    reviewer_of = {e.id: by_email[e.email] for e in rows}
    add_members(session, panel_id=panel.id or 0, expert_ids=[i for i in reviewer_of if i], actor=organiser, at=when)
    for assignment in auto_assign(session, panel_id=panel.id or 0, actor=organiser, at=when,
                                  application_ids=[row.id or 0]):  # fmt: skip
        reviewer = reviewer_of[assignment.expert_id]
        submit_review(session, assignment_id=assignment.id or 0, actor=reviewer, at=when, **passing_review(rule))
