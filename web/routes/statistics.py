"""Statistics a quota depends on (2024 value-added rank, 2024 excellent count; 251 §2(二)2, §3(二)2).

Officers whose quota is computed from them see the figures in force for their units and the quotas they give;
the people `programmes.statistics.may_load` names (the ministry) enter and correct the whole table. The page
calls the same functions as `stats show` / `stats load`: the table is checked whole, and a table with any
problem is given back with the values kept and each problem beside its field; nothing is saved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from models.enums import Role
from models.errors import NotFound, ReviewError
from models.settings import get_settings
from programmes.recommendation import quota_overview
from programmes.season import Season, get_season
from programmes.statistics import (
    NAME_HEADER,
    SOURCE,
    UNIT_HEADER,
    StatColumn,
    authorise_load,
    columns,
    load_statistics,
    may_load,
    parse_statistics,
    template_rows,
    versions,
)
from web import auth
from web.deps import DB, CurrentAccount, refusal_status, render
from web.views import transient_actor

router = APIRouter()
FORM_LABEL = "网页表单 web form"
PROBLEM_AT = re.compile(r"row (\d+), column [A-Z]+ \((\w+)\): ([^;]+)")


@dataclass
class Sheet:
    """The statistics table an account may see: one row per unit in its scope, one column per statistic."""

    season: Season
    columns: list[StatColumn]
    rows: list[list[Any]]  # [code, name, *figures], in the season's order
    editable: bool


def _sheet(session: DB, account: Any, season: str) -> Sheet:
    """The account's table, or 404 (an enterprise, an unknown season, no unit of the account's scope)."""
    if account.role == Role.ENTERPRISE:
        raise HTTPException(status_code=404)
    try:
        s = get_season(season or get_settings().season)
    except NotFound as exc:
        raise HTTPException(status_code=404) from exc
    rows = template_rows(session, s)[1:]
    units = auth.visible_units(session, account)
    if units is not None:
        rows = [r for r in rows if r[0] in units]
    if not rows:
        raise HTTPException(status_code=404)
    return Sheet(s, columns(s), rows, editable=units is None and may_load(transient_actor(account)))


def _page(request: Request, session: DB, account: Any, sheet: Sheet, *, status_code: int = 200,
          **extra: Any) -> Response:  # fmt: skip
    quotas = quota_overview(session, sheet.season, [r[0] for r in sheet.rows])
    return render(request, "statistics.html", {
        "account": account, "sheet": sheet, "source": SOURCE, "versions": versions(session, sheet.season.name),
        "quotas": quotas, "entered": extra.pop("entered", None), "field_errors": extra.pop("field_errors", {}),
        **extra,
    }, status_code=status_code)  # fmt: skip


@router.get("/statistics")
def statistics_page(request: Request, session: DB, account: CurrentAccount, season: str = "") -> Response:
    return _page(request, session, account, _sheet(session, account, season))


def _cells(sheet: Sheet, form: Any) -> tuple[list[list[Any]], dict[str, str]]:
    """The form as the rows of a statistics file (units from the server's list, never from the form)."""
    entered: dict[str, str] = {}
    cells: list[list[Any]] = [[UNIT_HEADER, NAME_HEADER, *[c.header for c in sheet.columns]]]
    for code, name, *_ in sheet.rows:
        figures = []
        for column in sheet.columns:
            field = f"{column.key}.{code}"
            entered[field] = str(form.get(field) or "").strip()[:20]
            figures.append(entered[field])
        cells.append([code, name, *figures])
    return cells, entered


def _field_errors(sheet: Sheet, error: ReviewError) -> dict[str, str]:
    """Each "row N, column X (key)" problem of the whole-table check, beside its field."""
    out: dict[str, str] = {}
    for number, key, problem in PROBLEM_AT.findall(error.message):
        index = int(number) - 2  # row 1 is the header
        if 0 <= index < len(sheet.rows):
            out.setdefault(f"{key}.{sheet.rows[index][0]}", problem.strip())
    return out


@router.post("/statistics")
async def enter_statistics(request: Request, session: DB, account: CurrentAccount) -> Response:
    """Check the whole table, then store it as the season's next audited version (`stats load`'s functions)."""
    form = await request.form()
    sheet = _sheet(session, account, str(form.get("season") or ""))
    cells, entered = _cells(sheet, form)
    try:
        actor = auth.actor_for(session, account)
        authorise_load(actor)  # before the figures: a reader is told who may enter them, not what is missing
        values = parse_statistics(sheet.season, cells, FORM_LABEL)
        row, created = load_statistics(session, sheet.season, values, actor=actor,
                                       at=auth.business_clock(session).now(), file_name=FORM_LABEL)  # fmt: skip
    except ReviewError as error:
        session.rollback()
        return _page(request, session, account, sheet, status_code=refusal_status(error), error=error,
                     entered=entered, field_errors=_field_errors(sheet, error))  # fmt: skip
    return RedirectResponse(
        f"/statistics?season={sheet.season.name}&version={row.version}&created={int(created)}", status_code=303
    )
