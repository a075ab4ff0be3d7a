"""Sign-in and sign-out. Throttling and lock-out are the accounts service's (web.auth.sign_in)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from models.errors import ReviewError
from web import auth, security
from web.deps import DB, CurrentAccount, render

router = APIRouter()


class SignInForm(BaseModel):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=1024)
    next: str = "/"


def _safe_next(target: str) -> str:
    """Only a path on this site (no open redirect)."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


@router.get("/")
def home(account: CurrentAccount) -> Response:
    landing = {"expert": "/reviews", "enterprise": "/enterprise"}.get(str(account.role), "/inbox")
    return RedirectResponse(landing, status_code=303)


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    return render(request, "login.html", {"next": _safe_next(next), "email": ""})


@router.post("/login")
def login(request: Request, session: DB, form: Annotated[SignInForm, Form()]) -> Response:
    at = auth.wall_clock()
    try:
        token = auth.sign_in(session, email=form.email, password=form.password, at=at)
    except ReviewError as error:
        return render(request, "login.html", {"next": _safe_next(form.next), "email": form.email, "error": error},
                      status_code=401)  # fmt: skip
    response = RedirectResponse(_safe_next(form.next), status_code=303)
    response.set_cookie(security.SESSION_COOKIE, security.sign_token(token), max_age=security.SESSION_MAX_AGE,
                        httponly=True, samesite="lax", secure=security.secure_cookies(), path="/")  # fmt: skip
    return response


@router.post("/logout")
def logout(request: Request, session: DB, account: CurrentAccount) -> Response:
    auth.sign_out(session, request.state.session_token, at=auth.wall_clock())
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(security.SESSION_COOKIE, path="/")
    return response


@router.get("/lang/{code}")
def switch_language(code: str, back: str = "/") -> Response:
    response = RedirectResponse(_safe_next(back), status_code=303)
    response.set_cookie("fr_lang", "en" if code == "en" else "zh", max_age=365 * 86400, samesite="lax", path="/")
    return response
