"""Officers' downloads (issue 14 §4): the 推荐函, the 推荐汇总表 and the 公示名单 as PDF (ready to stamp) or HTML.

Each document comes from its builder in `documents.builders`, the same one `factory-review document …` prints,
and the same `documents.render.as_format`; the builder checks whose documents they are, so another unit's
letter is a 404 here (no leak), and a unit without a submitted round gets the builder's one line.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from sqlmodel import Session

from documents.render import MEDIA_TYPES, as_format
from models.clock import local_date
from models.enums import Role
from models.errors import NotAuthorised, NotFound, ReviewError
from models.settings import get_settings
from web import auth
from web.deps import DB, CurrentAccount, refusal_status, render
from web.routes.ranking import NATIONAL_TIERS

router = APIRouter()
OFFICERS = frozenset({Role.LOCAL_OFFICER, Role.MINISTRY_OFFICER, Role.ADMIN})
Tier = Annotated[str, Query(max_length=20)]
Text = Annotated[str, Query(max_length=80)]


def _officer(account: Any) -> None:
    if account.role not in OFFICERS:
        raise HTTPException(status_code=404)


def _choice(fmt: str, tier: str, season: str) -> tuple[str, str]:
    if fmt not in MEDIA_TYPES or tier not in NATIONAL_TIERS:
        raise HTTPException(status_code=404)
    return tier, season or get_settings().season


def _deliver(request: Request, build: Callable[[], str], fmt: str, filename: str) -> Response:
    """Build the HTML (the builder authorises), then send it as the asked format."""
    try:
        html = build()
    except NotAuthorised as exc:  # another unit's documents: as if they did not exist
        raise HTTPException(status_code=404) from exc
    except ReviewError as error:  # no submitted round, an unknown season, a quota overrun: the rule's line
        status = 404 if isinstance(error, NotFound) else refusal_status(error)
        return render(request, "error.html", {"message": str(error)}, status_code=status)
    return Response(as_format(html, fmt), media_type=MEDIA_TYPES[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{filename}.{fmt}"'})  # fmt: skip


def _unit_doc(session: Session, account: Any, unit: str) -> tuple[str, Any]:
    return unit or account.unit, auth.actor_for(session, account)


@router.get("/documents/letter.{fmt}")
def letter(request: Request, session: DB, account: CurrentAccount, fmt: str, tier: Tier = "excellent",
           season: Text = "", unit: Text = "") -> Response:  # fmt: skip
    """The unit's 推荐函, dated on the business day (a replay's clock on a replay database)."""
    from documents.builders import letter_html

    _officer(account)
    tier, season = _choice(fmt, tier, season)
    unit, viewer = _unit_doc(session, account, unit)
    today = local_date(auth.business_clock(session).now())
    build = partial(letter_html, session, unit=unit, tier=tier, season=season, viewer=viewer, today=today)
    return _deliver(request, build, fmt, f"letter-{unit}-{tier}-{season}")


@router.get("/documents/summary-table.{fmt}")
def summary_table(request: Request, session: DB, account: CurrentAccount, fmt: str,
                  tier: Tier = "excellent", season: Text = "", unit: Text = "") -> Response:  # fmt: skip
    """The unit's 推荐汇总表 as the printable form (landscape A4, ready to stamp); the xlsx is /rank/summary.xlsx."""
    from documents.builders import summary_table_html

    _officer(account)
    tier, season = _choice(fmt, tier, season)
    unit, viewer = _unit_doc(session, account, unit)
    build = partial(summary_table_html, session, unit=unit, tier=tier, season=season, viewer=viewer)
    return _deliver(request, build, fmt, f"summary-{unit}-{tier}-{season}")


@router.get("/documents/notice.{fmt}")
def notice(request: Request, session: DB, account: CurrentAccount, fmt: str, tier: Tier = "excellent",
           season: Text = "") -> Response:  # fmt: skip
    """The 公示名单: the applications on public notice (a public list; any officer downloads it)."""
    from documents.builders import notice_html

    _officer(account)
    tier, season = _choice(fmt, tier, season)
    return _deliver(request, partial(notice_html, session, season=season, tier=tier), fmt, f"notice-{season}-{tier}")


@router.get("/documents")
def documents_page(request: Request, account: CurrentAccount, season: Text = "") -> Response:
    """The downloads open to the officer, per tier and format."""
    _officer(account)
    return render(request, "documents.html", {"account": account, "tiers": NATIONAL_TIERS,
                                              "season": season or get_settings().season})  # fmt: skip
