"""The application page and its decisions (approve, return, reject, … as the lifecycle table allows)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field, ValidationError

from models.errors import ReviewError
from programmes.paper_copies import paper_copies, record_paper_copy
from states.service import transition
from web import auth, views
from web.deps import DB, CurrentAccount, refusal_status, render
from web.scope import load_application

router = APIRouter()
AUDITOR = auth.AUDITOR


class DecisionForm(BaseModel):
    event: str = Field(min_length=1, max_length=60, pattern=r"^[a-z_]+$")
    reason: str = Field(min_length=1, max_length=4000)


def page(request: Request, session: DB, account: Any, application_id: int, *, status_code: int = 200,
          **extra: Any) -> Response:  # fmt: skip
    application, enterprise = load_application(session, account, application_id)
    events, problems = views.timeline(session, application)
    read_only = account.role == AUDITOR
    return render(request, "application.html", {
        "account": account, "application": application, "enterprise": enterprise,
        "sections": views.sections(application), "materials": views.materials(application),
        "events": events, "problems": problems, "read_only": read_only,
        "decisions": [] if read_only else views.open_decisions(account, application, enterprise),
        "panels": views.panel_stages(session, account, application),
        "paper_copies": paper_copies(session, application_id), **extra,
    }, status_code=status_code)  # fmt: skip


@router.get("/applications/{application_id}")
def application_page(request: Request, session: DB, account: CurrentAccount, application_id: int) -> Response:
    return page(request, session, account, application_id)


@router.post("/applications/{application_id}/decide")
def decide(request: Request, session: DB, account: CurrentAccount, application_id: int,
           event: Annotated[str, Form()] = "", reason: Annotated[str, Form()] = "") -> Response:  # fmt: skip
    load_application(session, account, application_id)  # out of scope: 404 before anything else
    try:
        form = DecisionForm(event=event, reason=reason.strip())
    except ValidationError as exc:
        fields = {".".join(str(p) for p in e["loc"]): e["msg"] for e in exc.errors()}
        return page(request, session, account, application_id, status_code=422, field_errors=fields,
                     chosen=event, reason=reason)  # fmt: skip
    if account.role == AUDITOR:
        return Response("auditors read; they never decide", status_code=403)
    try:
        actor = auth.actor_for(session, account)
        at = auth.business_clock(session).now()
        transition(session, application_id, form.event, actor=actor, at=at, reason=form.reason)
    except ReviewError as error:
        return page(request, session, account, application_id, status_code=refusal_status(error), error=error,
                     chosen=form.event, reason=form.reason)  # fmt: skip
    return RedirectResponse(f"/applications/{application_id}?done={form.event}", status_code=303)


@router.post("/applications/{application_id}/paper-copy")
def paper_copy(request: Request, session: DB, account: CurrentAccount, application_id: int,
               printed_sha256: Annotated[str, Form()] = "", note: Annotated[str, Form()] = "") -> Response:  # fmt: skip
    """The paper copy's arrival with the hash printed on it (251 §2(二)3): a match is recorded; a mismatch is
    recorded, then refused (the page says so)."""
    load_application(session, account, application_id)
    if account.role == AUDITOR:
        return Response("auditors read; they never record", status_code=403)
    try:
        record_paper_copy(session, application_id=application_id, printed_sha256=printed_sha256[:200],
                          actor=auth.actor_for(session, account), at=auth.business_clock(session).now(),
                          note=note.strip()[:2000])  # fmt: skip
    except ReviewError as error:
        session.rollback()
        return page(request, session, account, application_id, status_code=refusal_status(error),
                    paper_error=error, printed_sha256=printed_sha256[:200], note=note[:2000])  # fmt: skip
    return RedirectResponse(f"/applications/{application_id}?done=paper_copy", status_code=303)
