"""The season dashboard: funnel per stage, tier and province; deadlines with today; quota use per unit."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlmodel import col

from models.clock import local_date
from models.tables import Application, Enterprise, RecommendationRound
from programmes.season import get_season
from web import auth, charts, labels
from web.deps import DB, CurrentAccount, Lang, render
from web.scope import scope_clause

router = APIRouter()


def _counts(session: DB, account: object, column: Any, season: str) -> list[tuple[str, int]]:
    query = (select(column, func.count(col(Application.id)))
             .join(Enterprise, col(Enterprise.id) == col(Application.enterprise_id))
             .where(scope_clause(session, account), col(Application.season) == season)
             .group_by(column).order_by(column))  # fmt: skip
    return [(str(k), int(v)) for k, v in session.execute(query).all()]


@router.get("/dashboard")
def dashboard(request: Request, session: DB, account: CurrentAccount, lang: Lang, season: str = "2025") -> Response:
    if getattr(account, "role", "") == "enterprise":
        raise HTTPException(status_code=404)
    s = get_season(season)
    units = auth.visible_units(session, account)
    by_state = [(labels.state_label(k, lang), v) for k, v in _counts(session, account, Application.state, s.name)]
    by_tier = [(labels.tier_label(k, lang), v) for k, v in _counts(session, account, Application.tier, s.name)]
    names = {u.code: (u.name_en if lang == "en" else u.name_zh) for u in s.units}
    by_province = [(names.get(k, k), v) for k, v in _counts(session, account, Enterprise.province, s.name)]
    rounds = session.scalars(select(RecommendationRound).where(col(RecommendationRound.season) == s.name)).all()
    mine = [r for r in rounds if units is None or r.unit in units]
    quota_items = [
        (f"{names.get(r.unit, r.unit)} {labels.tier_label(r.tier, lang)}", r.counted_against_quota) for r in mine
    ]
    limits = {
        f"{names.get(r.unit, r.unit)} {labels.tier_label(r.tier, lang)}": r.quota for r in mine if r.quota is not None
    }
    shown = {
        (d.on, f"{d.step} {d.what}".strip()) for d in s.deadlines if units is None or d.unit in units or d.unit == "*"
    }
    today = local_date(auth.business_clock(session).now())
    return render(request, "dashboard.html", {
        "account": account, "season": s.name,
        "funnel": charts.bars(by_state, title=labels.text("funnel", lang)),
        "tiers": charts.bars(by_tier, title=labels.text("tier", lang)),
        "provinces": charts.bars(by_province, title="province"),
        "quotas": charts.bars(quota_items, title=labels.text("quota", lang), limit_of=limits) if quota_items else "",
        "deadlines": charts.timeline(sorted(shown)[:30], today, title=labels.text("deadlines", lang),
                                     today_label=labels.text("today", lang)),
    })  # fmt: skip
