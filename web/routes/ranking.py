"""Ranking and recommendation: my unit's held list with rank inputs, the quota meter, one bulk decision;
and the 推荐汇总表 download of a submitted round."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from models.enums import Role
from models.errors import ReviewError
from programmes.recommendation import Quota, held_applications, quota_for, submit_ranked_recommendation
from programmes.season import get_season
from programmes.statistics import with_statistics
from programmes.summary_table import write_summary_table
from states.queries import describe
from web import auth
from web.deps import DB, CurrentAccount, refusal_status, render

router = APIRouter()
NATIONAL_TIERS = ("excellent", "leading")


def _officer(account: Any) -> None:
    """Ranking is a local officer's page; anyone else gets 404 (not a leak of the unit's list)."""
    if account.role != Role.LOCAL_OFFICER:
        raise HTTPException(status_code=404)


def _choice(tier: str, season: str) -> tuple[str, str]:
    if tier not in NATIONAL_TIERS:
        raise HTTPException(status_code=404)
    get_season(season or "2025")
    return tier, season or "2025"


def _quota(session: DB, unit: str, tier: str, season: str, held: list[Any]) -> Quota | ReviewError:
    top = any(a.chain and a.chain[-1] == unit for a in held)
    try:  # with the loaded statistics, as submit_ranked_recommendation counts them
        return quota_for(with_statistics(session, get_season(season)), unit, tier, top_of_chain=top)
    except ReviewError as error:  # QuotaUnknown: shown as the rule's line (never guessed)
        return error


def _page(request: Request, session: DB, account: Any, tier: str, season: str, *, status_code: int = 200,
          **extra: Any) -> Response:  # fmt: skip
    held = held_applications(session, unit=account.unit, tier=tier, season=season)
    held.sort(key=lambda a: ((a.ranks or {}).get(account.unit, 10**6), a.id))
    return render(request, "ranking.html", {
        "account": account, "tier": tier, "season": season, "tiers": NATIONAL_TIERS,
        "rows": describe(session, held), "quota": _quota(session, account.unit, tier, season, held),
        "quota_by": _statistic_of(account.unit, tier, season), **extra,
    }, status_code=status_code)  # fmt: skip


def _statistic_of(unit: str, tier: str, season: str) -> str | None:
    """The statistic the unit's quota rule is computed from (the meter links to its entry page), or None."""
    rule = get_season(season).quota_rule_for(unit, tier, "national")
    return rule.by if rule is not None else None


@router.get("/rank")
def ranking_page(request: Request, session: DB, account: CurrentAccount, tier: str = "excellent",
                 season: str = "2025") -> Response:  # fmt: skip
    _officer(account)
    tier, season = _choice(tier, season)
    return _page(request, session, account, tier, season)


def _order(form: Any) -> list[int]:
    """rank_<id> = position; blanks last; ties by id. Bad values are bad input (InvalidInput)."""
    from models.errors import InvalidInput

    positions: list[tuple[int, int]] = []
    for key, value in form.multi_items():
        if not key.startswith("rank_"):
            continue
        try:
            positions.append((int(str(value) or 10**6), int(key.removeprefix("rank_"))))
        except ValueError as exc:
            raise InvalidInput(f"推荐顺序须为数字: {key}={value!r}", rule="input", field=key) from exc
    return [app_id for _, app_id in sorted(positions)]


@router.post("/rank")
async def recommend(request: Request, session: DB, account: CurrentAccount) -> Response:
    _officer(account)
    form = await request.form()
    tier, season = _choice(str(form.get("tier", "")), str(form.get("season", "")))
    try:
        ids = _order(form)
        submit_ranked_recommendation(session, unit=account.unit, tier=tier, ranked_application_ids=ids,
                                     actor=auth.actor_for(session, account),
                                     at=auth.business_clock(session).now(), season=season)  # fmt: skip
    except ReviewError as error:
        return _page(request, session, account, tier, season, status_code=refusal_status(error), error=error)
    return RedirectResponse(f"/rank?tier={tier}&season={season}&done=1", status_code=303)


@router.get("/rank/summary.xlsx")
def summary_table(session: DB, account: CurrentAccount, tier: str = "excellent", season: str = "2025") -> Response:
    """The unit's 推荐汇总表 (附件3/附件5) of its submitted round, from programmes.summary_table."""
    _officer(account)
    tier, season = _choice(tier, season)
    with tempfile.TemporaryDirectory() as folder:
        try:
            path = write_summary_table(session, unit=account.unit, tier=tier, season=season,
                                       path=Path(folder) / "summary.xlsx")  # fmt: skip
        except ReviewError as error:
            return Response(str(error), status_code=404, media_type="text/plain; charset=utf-8")
        data = path.read_bytes()
    name = f"summary-{account.unit}-{tier}-{season}.xlsx"
    return Response(data, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip
