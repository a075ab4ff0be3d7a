"""Lists for administrators: applications and enterprises with filters, as plain rows (read-only).

The CLI renders them as a table, JSON or CSV; the rows carry names beside codes, and times in the one
display form (`models.clock.shanghai_text`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from models.clock import is_on_or_before, shanghai_text
from models.tables import Application, Enterprise
from programmes.deadlines import effective_deadline
from programmes.season import get_season
from states.lifecycle import AWAITING_LOCAL_REVIEW, STATE_LABELS, State

# The step a state waits for, and whose deadline makes it overdue.
WAITING_STEP = {State.DRAFT: "submit", State.RETURNED: "submit", **{s: "recommend" for s in AWAITING_LOCAL_REVIEW}}


@dataclass(frozen=True)
class ApplicationFilter:
    season: str | None = None
    tier: str | None = None
    states: tuple[str, ...] = ()
    unit: str | None = None  # the unit holds it now or is on its chain
    overdue: bool = False


def _holder(application: Application) -> str:
    """The unit that must act next while the application is under local review; "" otherwise (a draft or a
    returned one is with the applicant, later stages with the ministry)."""
    chain = application.chain or []
    if State(application.state) not in AWAITING_LOCAL_REVIEW or not 0 <= application.review_level < len(chain):
        return ""
    return chain[application.review_level]


def _unit_name(season_name: str, code: str) -> str:
    try:
        season = get_season(season_name)
        return season.unit(code).name_zh if season.has_unit(code) else code
    except LookupError:
        return code


def due_date(session: Session, application: Application) -> tuple[str, str] | None:
    """(step, date) of the deadline the application waits for, or None when nothing it waits for is dated."""
    step = WAITING_STEP.get(State(application.state))
    # The submission deadline is the applicant's jurisdiction's (the chain's first unit).
    unit = _holder(application) if step == "recommend" else (application.chain or [""])[0]
    if step is None or not unit:
        return None
    deadline = effective_deadline(session, application.season, unit, step, application.tier, application.track)
    return (step, deadline.on.isoformat()) if deadline is not None else None


def application_rows(session: Session, flt: ApplicationFilter, *, now: datetime) -> list[dict[str, Any]]:
    """Applications matching the filter, oldest first, with enterprise and holder names."""
    query = select(Application, Enterprise).join(Enterprise, col(Enterprise.id) == col(Application.enterprise_id))
    if flt.season:
        query = query.where(col(Application.season) == flt.season)
    if flt.tier:
        query = query.where(col(Application.tier) == flt.tier)
    if flt.states:
        query = query.where(col(Application.state).in_(list(flt.states)))
    rows = []
    for application, enterprise in session.execute(query.order_by(col(Application.id))).all():
        if flt.unit and flt.unit not in (application.chain or []):
            continue
        due = due_date(session, application)
        overdue = due is not None and not is_on_or_before(now, datetime.fromisoformat(due[1]).date())
        if flt.overdue and not overdue:
            continue
        holder = _holder(application)
        rows.append({
            "id": application.id, "enterprise": enterprise.name, "credit_code": enterprise.credit_code,
            "tier": application.tier, "track": application.track, "season": application.season,
            "state": application.state, "state_label": STATE_LABELS.get(State(application.state), ""),
            "holder": holder, "holder_name": _unit_name(application.season, holder) if holder else "",
            "title": application.title,
            "submitted_at": shanghai_text(application.submitted_at) if application.submitted_at else "",
            "waiting_for": due[0] if due else "", "due_on": due[1] if due else "", "overdue": overdue,
        })  # fmt: skip
    return rows


def enterprise_rows(
    session: Session, *, unit: str | None = None, season: str | None = None, flt: ApplicationFilter | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Enterprises (in `unit`'s jurisdiction if given), with how many applications each has. With an
    application filter (season, tier, state, overdue), only enterprises with a matching application, and
    the count of those."""
    s = get_season(season)
    counts: dict[str, int] = {}
    if flt is not None and flt != ApplicationFilter():
        assert now is not None, "an application filter needs the instant that decides what is overdue"
        for row in application_rows(session, flt, now=now):
            counts[row["credit_code"]] = counts.get(row["credit_code"], 0) + 1
        wanted: set[str] | None = set(counts)
    else:
        wanted = None
        query = select(col(Enterprise.credit_code)).join(
            Application, col(Application.enterprise_id) == col(Enterprise.id)
        )
        for (code,) in session.execute(query).all():
            counts[code] = counts.get(code, 0) + 1
    rows = []
    for e in session.scalars(select(Enterprise).order_by(col(Enterprise.id))).all():
        if wanted is not None and e.credit_code not in wanted:
            continue
        if unit and not (s.has_unit(e.jurisdiction) and s.is_within(e.jurisdiction, unit)):
            continue
        rows.append({
            "id": e.id, "credit_code": e.credit_code, "name": e.name, "jurisdiction": e.jurisdiction,
            "jurisdiction_name": _unit_name(s.name, e.jurisdiction), "industry": e.industry,
            "contact_name": e.contact_name, "applications": counts.get(e.credit_code, 0),
        })  # fmt: skip
    return rows
