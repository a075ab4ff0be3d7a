"""Public notice (网上公示, 251 §2(二)4): open it over the chosen verified list with its working-day end date,
close it (recognise) once the period is over; objections are decisions on each application's page
(收到异议 / 异议不成立 / 异议成立); the 公示名单 downloads as the list of applications on notice."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from flows.params import NOTICE_WORKING_DAYS, NoticeWindow
from models.enums import MINISTRY_UNIT, Role
from models.errors import InvalidInput, ReviewError
from states.lifecycle import State
from states.queries import describe, in_states
from states.service import apply_transition
from web import auth
from web.deps import DB, CurrentAccount, refusal_status, render

router = APIRouter()


def _ministry(account: Any) -> None:
    if account.role != Role.MINISTRY_OFFICER or account.unit != MINISTRY_UNIT:
        raise HTTPException(status_code=404)


def _page(request: Request, session: DB, account: Any, *, status_code: int = 200, **extra: Any) -> Response:
    verified = in_states(session, [State.ONSITE_VERIFICATION], tier="excellent")
    on_notice = in_states(session, [State.PUBLIC_NOTICE])
    window = extra.pop("window", NoticeWindow())
    opens, closes = window.dates(auth.business_clock(session).now())
    return render(request, "notice.html", {
        "account": account, "verified": describe(session, verified), "on_notice": describe(session, on_notice),
        "closes": {a.id: a.milestones.get("notice_closes_on", "") for a in on_notice},
        "opens_on": opens, "closes_on": closes, "working_days": window.working_days, **extra,
    }, status_code=status_code)  # fmt: skip


@router.get("/notice")
def notice_page(request: Request, session: DB, account: CurrentAccount) -> Response:
    _ministry(account)
    return _page(request, session, account)


def _window(form: Any) -> NoticeWindow:
    try:
        opens = str(form.get("opens_on") or "").strip()
        days = int(str(form.get("working_days") or NOTICE_WORKING_DAYS))
        return NoticeWindow(opens_on=date.fromisoformat(opens) if opens else None, working_days=days)
    except ValueError as exc:
        raise InvalidInput(
            f"公示开始日期或工作日数不正确: {exc}".splitlines()[0], rule="input", field="opens_on"
        ) from exc


def _all_or_nothing(session: Session, ids: list[int], event: str, account: Any, data: dict[str, Any]) -> None:
    """Fire `event` on every chosen application in one transaction: all of them, or none."""
    if not ids:
        raise InvalidInput("请至少选择一个项目 (choose at least one application)", rule="input")
    actor = auth.actor_for(session, account)
    at = auth.business_clock(session).now()
    try:
        for application_id in ids:
            apply_transition(session, application_id, event, actor=actor, at=at, data=data)
        session.commit()
    except BaseException:
        session.rollback()
        raise


@router.post("/notice/open")
async def open_notice(request: Request, session: DB, account: CurrentAccount) -> Response:
    _ministry(account)
    form = await request.form()
    try:
        window = _window(form)
        opens, closes = window.dates(auth.business_clock(session).now())
        data = {"notice_opens_on": opens.isoformat(), "notice_closes_on": closes.isoformat()}
        _all_or_nothing(session, [int(str(i)) for i in form.getlist("application")], "pass_verification", account, data)
    except ReviewError as error:
        return _page(request, session, account, status_code=refusal_status(error), error=error)
    return RedirectResponse("/notice?done=1", status_code=303)


@router.post("/notice/close")
async def close_notice(request: Request, session: DB, account: CurrentAccount) -> Response:
    _ministry(account)
    form = await request.form()
    try:
        _all_or_nothing(session, [int(str(i)) for i in form.getlist("application")], "recognise", account, {})
    except ReviewError as error:
        return _page(request, session, account, status_code=refusal_status(error), error=error)
    return RedirectResponse("/notice?done=1", status_code=303)


@router.get("/notice/list.pdf")
def notice_list(session: DB, account: CurrentAccount, season: str = "2025", tier: str = "excellent") -> Response:
    """The 公示名单 as the official document (documents.builders.notice_html), PDF."""
    from documents.builders import notice_html
    from documents.render import html_to_pdf

    _ministry(account)
    pdf = html_to_pdf(notice_html(session, season=season, tier=tier))
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="notice-{season}-{tier}.pdf"'})  # fmt: skip
