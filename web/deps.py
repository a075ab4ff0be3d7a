"""Request dependencies: the database session, the signed-in account (`current_account`), the language,
the CSRF check, and one `render` that gives every page the same context."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.clock import SHANGHAI, shanghai_text
from models.errors import ReviewError
from web import auth, labels, security

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.globals.update(
    t=labels.text,
    state_label=labels.state_label,
    tier_label=labels.tier_label,
    role_label=labels.role_label,
    track_label=labels.track_label,
    stage_label=labels.stage_label,
    recommendation_label=labels.recommendation_label,
    conflict_label=labels.conflict_label,
    plain_number=lambda value: f"{value:g}",  # a weight of 10.0 reads 10
    shanghai=lambda at: shanghai_text(at) if at else "",
    csrf_field=security.CSRF_FIELD,
    tier_options=lambda tiers, lang: [(t, labels.tier_label(t, lang)) for t in tiers],
    state_options=lambda states, lang: [(s, labels.state_label(s, lang)) for s in states],
    pager_query=lambda request, page: urlencode({**dict(request.query_params), "page": page}),
)


class NotSignedIn(Exception):
    """No valid session: pages redirect to the sign-in page."""


class CsrfRefused(Exception):
    pass


def db(request: Request) -> Iterator[Session]:
    reading = request.method in {"GET", "HEAD"}
    engine: Engine = request.app.state.read_engine if reading else request.app.state.engine
    with Session(engine, expire_on_commit=False) as session:
        yield session


DB = Annotated[Session, Depends(db)]


def lang(request: Request) -> str:
    chosen = request.cookies.get("fr_lang", "zh")
    return chosen if chosen in labels.LANGS else "zh"


def current_account(request: Request, session: DB) -> Any:
    """The signed-in account, or NotSignedIn. Every page route depends on it (deny by default)."""
    token = security.unsign_token(request.cookies.get(security.SESSION_COOKIE, ""))
    if token is None:
        raise NotSignedIn
    at = auth.wall_clock()
    try:
        account = auth.account_for_token(session, token, at=at)
    except ReviewError as exc:
        raise NotSignedIn from exc
    request.state.session_token = token
    return account


CurrentAccount = Annotated[Any, Depends(current_account)]
Lang = Annotated[str, Depends(lang)]


async def csrf_checked(request: Request) -> None:
    """Every POST carries the form's CSRF token (router-wide dependency)."""
    if request.method != "POST":
        return
    form = await request.form()
    submitted = form.get(security.CSRF_FIELD)
    if not security.csrf_ok(
        request.cookies.get(security.CSRF_COOKIE), submitted if isinstance(submitted, str) else None
    ):
        raise CsrfRefused


def render(request: Request, template: str, context: dict[str, Any], *, status_code: int = 200) -> HTMLResponse:
    """Render with the shared context: language, account, CSRF token (its cookie set when new)."""
    cookie = request.cookies.get(security.CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    fresh = cookie is None
    if cookie is None:
        cookie = security.new_csrf_cookie()
        request.state.new_csrf = cookie
    base = {
        "request": request,
        "lang": lang(request),
        "csrf": security.csrf_token(cookie),
        "shanghai_zone": SHANGHAI,
        "account": context.pop("account", None),
        "replay_now": _replay_now(request),
    }
    response = TEMPLATES.TemplateResponse(request, template, {**base, **context}, status_code=status_code)
    if fresh:
        response.set_cookie(security.CSRF_COOKIE, cookie, httponly=True, samesite="strict",
                            secure=security.secure_cookies(), path="/")  # fmt: skip
    return response


def _replay_now(request: Request) -> Any:
    """The replay's instant for the page's marker (None on a production database), read with a short session."""
    with Session(request.app.state.read_engine) as session:
        return auth.replay_instant(session)


def refusal_status(error: ReviewError) -> int:
    """HTTP status of a refusal: bad input 422, not allowed 403, any other rule 409."""
    from models.errors import InvalidInput, NotAuthorised

    if isinstance(error, InvalidInput):
        return 422
    if isinstance(error, NotAuthorised):
        return 403
    return 409
