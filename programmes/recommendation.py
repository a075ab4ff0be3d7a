"""Ranked recommendation with quotas, and deadline extensions: unit-level actions, all or nothing.

A recommending unit forwards a tier's applications as one total priority order (按推荐项目优先顺序填写推荐汇总表,
251 §2(二)3, §3(二)3; 430 §1(二)2), within its quota at that moment and by its (effective) deadline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from models.clock import ensure_aware, is_on_or_before, to_utc
from models.database import unit_of_work
from models.enums import Role, Tier, Track
from models.errors import (
    InvalidInput,
    NotAuthorised,
    QuotaExceeded,
    QuotaUnknown,
    ReviewError,
    TransitionRefused,
)
from models.tables import Actor, Application, DeadlineExtension, Enterprise, RecommendationRound
from programmes.deadlines import effective_deadline
from programmes.season import QuotaRule, Season, get_season
from programmes.statistics import with_statistics
from states.audit import append_event, application_histories
from states.idempotency import already_applied, current_state
from states.lifecycle import AWAITING_LOCAL_REVIEW

SOE_LEADING = "leading projects of central enterprises are recommended by the province where they are (251 §3(二)2)"
RANK_SOURCE = "251 §2(二)3, §3(二)3; 430 §1(二)2, §2(二)2 (按推荐项目优先顺序填写推荐汇总表)"


@dataclass(frozen=True)
class Quota:
    """A unit's ceiling for a tier; `limit` None means the seeds set none at this level."""

    unit: str
    tier: str
    limit: int | None
    source: str
    exempt: str | None = None  # an Enterprise attribute; such applicants don't count against the limit


def quota_for(season: Season, unit: str, tier: str, *, top_of_chain: bool, track: str = "national") -> Quota:
    """The unit's quota for the tier, from the season data. Never a guess:

    an administrator-entered quota (statistics `entered_quota_<tier>`) wins; else the nearest quota rule
    (fixed, or bands over a season statistic); a rule whose statistic has no value for the unit, or a
    unit recommending to the ministry with no rule at all, raises `QuotaUnknown`.
    """
    entered = season.statistics.get(f"entered_quota_{tier}")
    if entered is not None and unit in entered.values:
        return Quota(unit, tier, entered.values[unit], entered.source)
    rule: QuotaRule | None = season.quota_rule_for(unit, tier, track)
    if rule is None:
        if top_of_chain:
            raise QuotaUnknown(
                f"season {season.name} declares no {tier} quota for {unit}, which recommends to the ministry; "
                f"enter one (statistics.entered_quota_{tier}.values.{unit}) — it is never guessed",
                rule="quota-unknown",
                source="251 §2(二)2, §3(二)2",
                unit=unit,
            )
        return Quota(unit, tier, None, "no ceiling at this level in the seeds")
    if rule.fixed is not None:
        return Quota(unit, tier, rule.fixed, rule.source, rule.exempt)
    assert rule.by is not None
    stat = season.statistics[rule.by]
    value = stat.values.get(unit)
    if value is None:
        raise QuotaUnknown(
            f"season {season.name} has no '{stat.label}' for {unit}, so its {tier} quota can't be computed; "
            f"enter it (statistics.{rule.by}.values.{unit}) or a quota (statistics.entered_quota_{tier}) — "
            "it is never guessed",
            rule="quota-unknown",
            source=rule.source,
            unit=unit,
        )
    band = next((b for b in rule.bands if b.holds(value)), None)
    if band is None:
        raise QuotaUnknown(
            f"no band of {rule.source} covers {stat.label} = {value} for {unit}",
            rule="quota-unknown",
            source=rule.source,
        )
    return Quota(unit, tier, band.quota, f"{rule.source}; {stat.label} {value}", rule.exempt)


def quota_overview(session: Session, season: Season, units: list[str] | None = None) -> list[dict[str, Any]]:
    """Each unit's excellent and leading quota with the rule and figure it comes from (loaded statistics
    included); a quota that can't be computed is listed as unknown with the reason, never guessed."""
    effective = with_statistics(session, season)
    if units is None:  # the units that recommend to the ministry
        units = [u.code for u in season.units if u.level in ("province", "xpcc") or (u.level == "soe" and u.parent)]
    rows: list[dict[str, Any]] = []
    for code in units:
        for tier in (Tier.EXCELLENT.value, Tier.LEADING.value):
            if tier == Tier.LEADING and season.unit(code).level == "soe":
                rows.append({"unit": code, "name": season.unit(code).name_zh, "tier": tier, "quota": None,
                             "rule": f"none: {SOE_LEADING}"})  # fmt: skip
                continue
            try:
                quota = quota_for(effective, code, tier, top_of_chain=True)
                limit, rule = quota.limit, quota.source
            except QuotaUnknown as exc:
                limit, rule = None, f"unknown: {exc.message}"
            rows.append({"unit": code, "name": season.unit(code).name_zh, "tier": tier, "quota": limit, "rule": rule})
    return rows


def held_applications(session: Session, *, unit: str, tier: str, season: str) -> list[Application]:
    """National-track applications of the tier and season that `unit` holds now (awaiting its review)."""
    rows = session.scalars(
        select(Application).where(
            Application.season == season,  # type: ignore[arg-type]
            Application.tier == str(tier),  # type: ignore[arg-type]
            Application.track == Track.NATIONAL.value,  # type: ignore[arg-type]
            Application.state.in_([s.value for s in AWAITING_LOCAL_REVIEW]),  # type: ignore[attr-defined]
        )
    ).all()
    return [a for a in rows if 0 <= a.review_level < len(a.chain) and a.chain[a.review_level] == unit]


def _actor_label(actor: Actor) -> str:
    return f"{actor.role}@{actor.unit} {actor.name}".strip()


def submit_ranked_recommendation(
    session: Session,
    *,
    unit: str,
    tier: str,
    ranked_application_ids: list[int],
    actor: Actor,
    at: datetime,
    season: str | None = None,
    reason: str = "",
) -> RecommendationRound:
    """Forward a tier's applications as one ranked round. Steps, all or nothing (one commit):

    1. authorise: a local officer of `unit`;
    2. total order: every application the unit holds for the tier and season is ranked exactly once
       (return or reject the others first), and nothing else is;
    3. deadline: the unit's effective recommendation deadline (with extensions), end of day Asia/Shanghai;
    4. quota at this moment: counted applicants (not the exempt ones) ≤ the unit's quota;
    5. set `application.ranks[unit] = i` and fire `recommend` on each through the one door;
    6. insert the `RecommendationRound` and append a unit-level audit event; commit.
    """
    at = ensure_aware(at)
    tier = str(tier)
    with unit_of_work(session, "an application in the round"):
        return _ranked_round(session, unit, tier, list(ranked_application_ids), actor, at, season, reason)


@dataclass(frozen=True)
class Forwarded:
    """What became of one application of a forwarded list (a flow reports it as an outcome)."""

    application_id: int
    result: str  # applied | skipped | refused
    from_state: str = ""
    to_state: str = ""
    rule: str = ""
    message: str = ""


def forward_unless_forwarded(
    session: Session, *, unit: str, tier: str, season: str, ranked: list[int], actor: Actor, at: datetime
) -> list[Forwarded]:
    """Forward the unit's ranked list (`submit_ranked_recommendation`: quota, deadline, one transaction),
    unless this unit already recommended every one of them in their current pass (a re-run): then skip."""
    if not ranked:
        return []
    histories = application_histories(session, ranked)
    done: dict[int, str] = {}
    for application_id in ranked:
        events = histories.get(application_id, [])
        if events and already_applied(events, "recommend", actor):
            done[application_id] = current_state(events)
    if len(done) == len(ranked):
        return [Forwarded(i, "skipped", s, s, message="already forwarded") for i, s in done.items()]
    try:
        submit_ranked_recommendation(
            session, unit=unit, tier=tier, ranked_application_ids=ranked, actor=actor, at=at, season=season
        )
    except ReviewError as error:
        return [Forwarded(i, "refused", rule=error.rule, message=error.message) for i in ranked]
    rows = session.execute(select(col(Application.id), col(Application.state)).where(col(Application.id).in_(ranked)))
    states = {ident: state for ident, state in rows}
    return [Forwarded(i, "applied", to_state=states[i]) for i in ranked]


def _check_round(
    session: Session, season: Season, unit: str, tier: str, ids: list[int], held: list[Application]
) -> None:
    """The list is the unit's whole holding for the tier, once each, and the unit's first round."""
    held_ids = {a.id for a in held}
    foreign = [i for i in ids if i not in held_ids]
    if foreign:
        raise TransitionRefused(
            f"{unit} does not hold {tier} application(s) {foreign} of season {season.name} awaiting its review",
            rule="ranked-recommendation",
            source=RANK_SOURCE,
        )
    unranked = sorted(i for i in held_ids if i is not None and i not in ids)
    if unranked:
        raise TransitionRefused(
            f"the priority order must be total: {unit} also holds {tier} application(s) {unranked}; "
            "rank them, or return or reject them first",
            rule="ranked-recommendation",
            source=RANK_SOURCE,
        )
    existing = session.scalars(
        select(RecommendationRound).where(
            col(RecommendationRound.season) == season.name,
            col(RecommendationRound.unit) == unit,
            col(RecommendationRound.tier) == tier,
        )
    ).first()
    if existing is not None:
        raise TransitionRefused(
            f"{unit} already submitted its {tier} recommendation for season {season.name} (round {existing.id})",
            rule="ranked-recommendation",
            source=RANK_SOURCE,
        )


def _counted_within_quota(
    session: Session, season: Season, unit: str, tier: str, ordered: list[Application]
) -> tuple[Quota, int, list[int]]:
    """(quota, counted, exempt ids): the round counts within the unit's quota at this moment, or is refused."""
    top = any(a.chain and a.chain[-1] == unit for a in ordered)
    quota = quota_for(season, unit, tier, top_of_chain=top)
    exempt_ids: list[int] = []
    if quota.exempt:
        for a in ordered:
            enterprise = session.get(Enterprise, a.enterprise_id)
            if enterprise is not None and a.id is not None and bool(getattr(enterprise, quota.exempt, False)):
                exempt_ids.append(a.id)
    counted = len(ordered) - len(exempt_ids)
    if quota.limit is not None and counted > quota.limit:
        raise QuotaExceeded(
            f"{unit} may recommend at most {quota.limit} {tier} application(s); this round counts {counted}"
            + (f" ({len(exempt_ids)} exempt not counted)" if exempt_ids else ""),
            rule="quota",
            source=quota.source,
            unit=unit,
            quota=quota.limit,
            counted=counted,
        )
    return quota, counted, exempt_ids


def _locked(session: Session, ids: list[int]) -> list[Application]:
    """The round's rows, locked in one lock order (SELECT … FOR UPDATE on PostgreSQL, as the one door locks
    one row) and read afresh; in the order of `ids`."""
    rows = session.scalars(select(Application).where(col(Application.id).in_(ids)).order_by(col(Application.id))
                           .with_for_update().execution_options(populate_existing=True))  # fmt: skip
    by_id = {a.id: a for a in rows}
    return [by_id[i] for i in ids]


def _ranked_round(
    session: Session, unit: str, tier: str, ids: list[int], actor: Actor, at: datetime, season_name: str | None,
    reason: str = "",
) -> RecommendationRound:
    from states.service import Batch, apply_to_locked

    if actor.role != Role.LOCAL_OFFICER or actor.unit != unit:
        raise NotAuthorised(
            f"{actor.role}@{actor.unit} may not submit {unit}'s ranked recommendation: only its local officer may",
            rule="authorisation",
            source=RANK_SOURCE,
        )
    if not ids:
        raise InvalidInput("a ranked recommendation lists at least one application", rule="ranked-recommendation")
    if len(set(ids)) != len(ids):
        raise InvalidInput(
            "each application appears once in the priority order", rule="ranked-recommendation", source=RANK_SOURCE
        )
    if season_name is None:
        first = session.get(Application, ids[0])
        season_name = first.season if first is not None else None
    season = with_statistics(session, get_season(season_name))
    season.unit(unit)
    held = held_applications(session, unit=unit, tier=tier, season=season.name)
    _check_round(session, season, unit, tier, ids, held)
    deadline = effective_deadline(session, season, unit, "recommend", tier, Track.NATIONAL)
    if deadline is not None and not is_on_or_before(at, deadline.on):
        from programmes.rules import deadline_error

        raise deadline_error("recommend", unit, deadline.on, deadline.source, at, deadline.extended)

    ordered = _locked(session, ids)
    quota, counted, exempt_ids = _counted_within_quota(session, season, unit, tier, ordered)
    batch = Batch()  # the round's audit events and mail, written with one statement each
    for rank, application in enumerate(ordered, start=1):
        application.ranks = {**(application.ranks or {}), unit: rank}
        apply_to_locked(session, application, "recommend", actor=actor, at=at, reason=reason, data={"rank": rank},
                        batch=batch)  # fmt: skip
    batch.write(session, at=at)

    round_ = RecommendationRound(
        season=season.name, unit=unit, tier=tier, ranked_application_ids=ids, counted_against_quota=counted,
        quota=quota.limit, submitted_by=_actor_label(actor), submitted_at=to_utc(at),
    )  # fmt: skip
    session.add(round_)
    session.flush()  # the round's id goes into the event's snapshot of it (states.audit_rows)
    data: dict[str, Any] = {
        "tier": tier, "ranked_application_ids": ids, "quota": quota.limit, "quota_source": quota.source,
        "counted_against_quota": counted, "exempt_application_ids": exempt_ids,
        "deadline": deadline.on.isoformat() if deadline else None,
        "deadline_source": deadline.source if deadline else None,
    }  # fmt: skip
    append_event(
        session, subject=f"unit:{unit}:{season.name}", actor=actor, event="ranked_recommendation", data=data, at=at,
        reason=reason, record=round_,
    )
    session.flush()
    return round_


def _check_extension(s: Season, *, unit: str, step: str, until: date, actor: Actor, reason: str) -> None:
    """An admin at the unit or above, a reason, a known step, a date after the season's deadline."""
    if step not in ("submit", "recommend"):
        raise InvalidInput(f"step must be submit or recommend, not {step!r}", rule="extension")
    if actor.role != Role.ADMIN or actor.unit not in s.lineage(unit):
        raise NotAuthorised(
            f"{actor.role}@{actor.unit} may not extend {unit}'s deadline: only an admin at {unit} or above may",
            rule="authorisation",
            source="issue 3 §3 (an administrator with the right role records an explicit extension)",
        )
    if not reason.strip():
        raise InvalidInput("an extension needs a reason", rule="reason-required")
    current = [d for d in s.deadlines if d.step == step and d.covers(s, unit)]
    latest = max((d.on for d in current), default=None)
    if latest is not None and until <= latest:
        raise InvalidInput(
            f"{until.isoformat()} is not after {unit}'s {step} deadline {latest.isoformat()}", rule="extension"
        )


def grant_extension(
    session: Session,
    *,
    unit: str,
    step: str,
    until: date,
    actor: Actor,
    reason: str,
    at: datetime,
    season: str | None = None,
) -> DeadlineExtension:
    """Record an explicit, audited extension of one unit's deadline for one step; commits.

    Only an administrator at the unit or one of its ancestors may grant it, with a reason, to a date
    after the season's deadline (an extension never shortens one).
    """
    at = ensure_aware(at)
    s = get_season(season)
    s.unit(unit)
    with unit_of_work(session):
        _check_extension(s, unit=unit, step=step, until=until, actor=actor, reason=reason)
        same = (col(DeadlineExtension.season) == s.name, col(DeadlineExtension.unit) == unit,
                col(DeadlineExtension.step) == step)  # fmt: skip
        row = session.scalars(select(DeadlineExtension).where(*same)).first()
        previous = row.until.isoformat() if row is not None else None
        if row is None:
            row = DeadlineExtension(season=s.name, unit=unit, step=step, until=until, granted_by="", reason="")
            session.add(row)
        row.until = until
        row.granted_by = _actor_label(actor)
        row.reason = reason
        row.granted_at = to_utc(at)
        session.flush()
        append_event(
            session,
            subject=f"unit:{unit}:{s.name}",
            actor=actor,
            event="deadline_extension",
            reason=reason,
            data={"step": step, "until": until.isoformat(), "previous_extension": previous},
            at=at,
            record=row,
        )
        from notifications.due import recheck

        recheck(session, s.name)  # the reminders of the unit's applications move with the deadline
        return row
