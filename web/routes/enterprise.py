"""The enterprise's side (issue 14 §1-4): its applications, the form, attachments, submission, status,
withdrawal, its documents and its colleagues. Each route reads the form, calls a service (the one door for
state changes) and renders; an application outside the account's scope is a 404 (`web.scope`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session
from starlette.datastructures import UploadFile

from models.errors import InvalidInput, ReviewError
from models.limits import MAX_ATTACHMENT_BYTES
from models.settings import get_settings
from models.tables import Application, Attachment, Enterprise
from programmes.season import get_season
from states import attachments as files
from states.enterprise_accounts import colleagues, invite_colleague
from states.intake import EDITABLE, create_application, update_content
from states.lifecycle import WITHDRAWABLE
from states.service import transition
from states.submission import save_and_submit, submit_event
from web import auth, enterprise_form, enterprise_status
from web.deps import DB, CurrentAccount, refusal_status, render
from web.scope import load_application

router = APIRouter()


def attachment_root(request: Request) -> Path:
    """Where the files are kept: outside the database, under the data directory."""
    configured = getattr(request.app.state, "attachment_root", None)
    return Path(configured) if configured else get_settings().data_dir / "attachments"


def _enterprise_only(account: Any) -> None:
    if account.role != "enterprise" or account.enterprise_id is None:
        raise HTTPException(status_code=404, detail="not found")


def _mine(session: Session, account: Any) -> tuple[Enterprise, list[Application]]:
    from sqlalchemy import select
    from sqlmodel import col

    enterprise = session.get(Enterprise, account.enterprise_id)
    if enterprise is None:
        raise HTTPException(status_code=404, detail="not found")
    rows = session.scalars(select(Application).where(col(Application.enterprise_id) == enterprise.id)
                           .order_by(col(Application.id).desc())).all()  # fmt: skip
    return enterprise, list(rows)


@router.get("/enterprise")
def home_page(request: Request, session: DB, account: CurrentAccount) -> Response:
    return home(request, session, account)


def home(request: Request, session: Session, account: Any, *, status_code: int = 200, **extra: Any) -> Response:
    """The enterprise's start page: its registration, applications with their status, colleagues, mails."""
    _enterprise_only(account)
    enterprise, applications = _mine(session, account)
    people = colleagues(session, account)
    recipients = {p.email for p in people} | {enterprise.contact_email}
    return render(request, "enterprise_home.html", {
        "account": account, "enterprise": enterprise, "colleagues": people,
        "applications": [(a, enterprise_status.status_line(session, a, enterprise)) for a in applications],
        "choices": enterprise_form.choices(get_season(), enterprise.jurisdiction),
        "reminders": enterprise_status.reminders(session, [a.id for a in applications if a.id], recipients),
        **extra}, status_code=status_code)  # fmt: skip


def _home_refused(request: Request, session: DB, account: Any, error: ReviewError, **extra: Any) -> Response:
    session.rollback()
    return home(request, session, account, status_code=refusal_status(error), error=error, **extra)


@router.post("/enterprise/applications")
async def new_application(request: Request, session: DB, account: CurrentAccount) -> Response:
    _enterprise_only(account)
    form = await request.form()
    tier, _, track = str(form.get("choice") or "").partition("/")
    try:
        actor = auth.actor_for(session, account)
        season = get_season()
        application = create_application(session, enterprise_code=account.unit, tier=tier, track=track,
                                         season=season.name, title="", content={}, pledge=None, actor=actor,
                                         at=auth.business_clock(session).now())  # fmt: skip
    except ReviewError as error:
        return _home_refused(request, session, account, error)
    return RedirectResponse(f"/enterprise/applications/{application.id}", status_code=303)


@router.post("/enterprise/colleagues")
async def invite(request: Request, session: DB, account: CurrentAccount) -> Response:
    _enterprise_only(account)
    form = await request.form()
    try:
        colleague, password = invite_colleague(session, by=account, email=str(form.get("email") or ""),
                                               display_name=str(form.get("display_name") or ""),
                                               at=auth.wall_clock())  # fmt: skip
    except ReviewError as error:
        return _home_refused(request, session, account, error)
    return home(request, session, account, invited=colleague, one_time_password=password)


# ---- one application ---------------------------------------------------------------------------


def _base(application: Application, enterprise: Enterprise) -> dict[str, Any]:
    """What the form never asks: identity, tier, track, season, and the materials the uploads set."""
    materials = dict((application.content or {}).get("materials") or {})
    return {"credit_code": enterprise.credit_code, "tier": application.tier, "track": application.track,
            "season": application.season, "materials": materials}  # fmt: skip


def _page(request: Request, session: Session, account: Any, application_id: int, *, status_code: int = 200,
          **extra: Any) -> Response:  # fmt: skip
    application, enterprise = load_application(session, account, application_id)
    season = get_season(application.season)
    deadline = enterprise_status.submit_deadline(session, application, enterprise)
    now = auth.business_clock(session).now()
    values = extra.pop("values", None) or enterprise_form.values_of(application.content or {}, season,
                                                                    enterprise.jurisdiction)
    return render(request, "enterprise_application.html", {
        "account": account, "application": application, "enterprise": enterprise, "values": values,
        "sections": enterprise_form.form_for(season, application.tier, application.track, enterprise.jurisdiction),
        "materials": enterprise_form.materials_for(season, application.tier, application.track,
                                                   enterprise.jurisdiction),
        "attachments": {a.material_key: a for a in files.attachments_of(session, application_id)},
        "editable": application.state in EDITABLE, "withdrawable": application.state in WITHDRAWABLE,
        "submit_label": "修改后重新提交" if submit_event(application.state) == "resubmit" else "提交申报",
        "deadline": deadline, "countdown": enterprise_status.countdown(deadline.on, now) if deadline else "",
        "status": enterprise_status.status_line(session, application, enterprise),
        "reason": enterprise_status.reviewer_reason(session, application),
        "timeline": enterprise_status.timeline(session, application, enterprise),
        "max_file_mb": MAX_ATTACHMENT_BYTES // (1024 * 1024), **extra}, status_code=status_code)  # fmt: skip


@router.get("/enterprise/applications/{application_id}")
def application_page(request: Request, session: DB, account: CurrentAccount, application_id: int) -> Response:
    return _page(request, session, account, application_id, saved=request.query_params.get("saved", ""))


@router.post("/enterprise/applications/{application_id}")
async def save_or_submit(request: Request, session: DB, account: CurrentAccount, application_id: int) -> Response:
    """`action=save` keeps a draft; `action=submit` saves and submits at once (states.submission)."""
    application, enterprise = load_application(session, account, application_id)  # another's: 404
    form = {k: str(v) for k, v in (await request.form()).items() if isinstance(v, str)}
    submitting = form.get("action") == "submit"
    content, errors = enterprise_form.read_form(form, base=_base(application, enterprise), submitting=submitting,
                                                unit=enterprise.jurisdiction)
    if errors:
        return _page(request, session, account, application_id, status_code=422, field_errors=errors, values=form)
    try:
        actor = auth.actor_for(session, account)
        at = auth.business_clock(session).now()
        if submitting:
            save_and_submit(session, application_id, content=content, pledge=content["pledge"], actor=actor, at=at)
        else:
            update_content(session, application_id, content=content, pledge=content.get("pledge"), actor=actor,
                           at=at)  # fmt: skip
    except ReviewError as error:
        session.rollback()
        return _page(request, session, account, application_id, status_code=refusal_status(error), error=error,
                     values=form)  # fmt: skip
    return RedirectResponse(f"/enterprise/applications/{application_id}?saved={form.get('action', 'save')}",
                            status_code=303)  # fmt: skip


@router.post("/enterprise/applications/{application_id}/attachments")
async def upload(request: Request, session: DB, account: CurrentAccount, application_id: int) -> Response:
    load_application(session, account, application_id)
    form = await request.form()
    upload_file = form.get("file")
    try:
        if not isinstance(upload_file, UploadFile):
            raise InvalidInput("choose a file to upload (选择要上传的文件)", rule="attachment-empty")
        data = await upload_file.read(MAX_ATTACHMENT_BYTES + 1)
        files.attach(session, application_id=application_id, material_key=str(form.get("material_key") or ""),
                     filename=upload_file.filename or "", data=data, actor=auth.actor_for(session, account),
                     at=auth.business_clock(session).now(), root=attachment_root(request))  # fmt: skip
    except ReviewError as error:
        session.rollback()
        status = 413 if error.rule in ("attachment-size", "attachment-total") else refusal_status(error)
        return _page(request, session, account, application_id, status_code=status, error=error)
    return RedirectResponse(f"/enterprise/applications/{application_id}?saved=upload", status_code=303)


@router.get("/enterprise/applications/{application_id}/attachments/{attachment_id}")
def download(request: Request, session: DB, account: CurrentAccount, application_id: int,
             attachment_id: int) -> Response:  # fmt: skip
    load_application(session, account, application_id)  # never served outside the account's scope
    row = session.get(Attachment, attachment_id)
    if row is None or row.application_id != application_id:
        raise HTTPException(status_code=404, detail="not found")
    try:
        data = files.read(attachment_root(request), row)
    except ReviewError as error:
        return Response(str(error), status_code=409, media_type="text/plain; charset=utf-8")
    return Response(data, media_type=row.media_type, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{_quoted(row.filename)}",
        "X-Content-Type-Options": "nosniff"})  # fmt: skip


def _quoted(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


@router.post("/enterprise/applications/{application_id}/withdraw")
async def withdraw(request: Request, session: DB, account: CurrentAccount, application_id: int) -> Response:
    load_application(session, account, application_id)
    reason = str((await request.form()).get("reason") or "").strip()[:4000]
    try:
        transition(session, application_id, "withdraw", actor=auth.actor_for(session, account),
                   at=auth.business_clock(session).now(), reason=reason)  # fmt: skip
    except ReviewError as error:
        session.rollback()
        return _page(request, session, account, application_id, status_code=refusal_status(error), error=error)
    return RedirectResponse(f"/enterprise/applications/{application_id}?saved=withdraw", status_code=303)


@router.get("/enterprise/applications/{application_id}/{document}.pdf")
def document_pdf(request: Request, session: DB, account: CurrentAccount, application_id: int,
                 document: str) -> Response:  # fmt: skip
    """The 申报书 (with its frozen hash and QR code) or the 承诺书, as PDF (documents/)."""
    from documents.builders import application_html, pledge_html
    from documents.render import html_to_pdf
    from web.views import transient_actor

    load_application(session, account, application_id)
    builders = {"application": application_html, "pledge": pledge_html}
    if document not in builders:
        raise HTTPException(status_code=404, detail="not found")
    try:
        html = builders[document](session, application_id, transient_actor(account))
    except ReviewError:
        raise HTTPException(status_code=404, detail="not found") from None
    return Response(html_to_pdf(html), media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{document}-{application_id}.pdf"'})  # fmt: skip
