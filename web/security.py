"""Cookies, CSRF and the request-size limit (OWASP ASVS V3 sessions, V4 access control, V13 API).

- The session cookie holds the accounts service's plain session token, signed (itsdangerous) with an
  expiry, HttpOnly and SameSite=Lax; the server-side session (AccountSession) expires too.
- CSRF: every visitor gets a random HttpOnly `fr_csrf` cookie (SameSite=Strict); each form carries
  HMAC(secret, cookie). A POST whose field does not match is refused (403) before any route runs.
- A request body over `MAX_BODY` is refused (413) from its Content-Length, before it is read; a chunked
  body is counted while streamed and cut off at the limit.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from functools import lru_cache
from typing import Any

from itsdangerous import BadSignature, TimestampSigner
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SESSION_COOKIE = "fr_session"
CSRF_COOKIE = "fr_csrf"
CSRF_FIELD = "csrf_token"
SESSION_MAX_AGE = 8 * 3600
MAX_BODY = int(os.environ.get("FACTORY_REVIEW_WEB_MAX_BODY", str(1024 * 1024)))  # forms only: 1 MB
UPLOAD_SUFFIX = "/attachments"  # an upload route (web/routes/enterprise.py): room for one file and its form


def upload_body_limit() -> int:
    """Twice the per-file limit, so a file slightly too large reaches the route and gets the form back."""
    from models.limits import MAX_ATTACHMENT_BYTES

    return 2 * MAX_ATTACHMENT_BYTES + 64 * 1024


@lru_cache(maxsize=1)
def secret() -> bytes:
    """FACTORY_REVIEW_WEB_SECRET, else a random key per process (sessions end when the server restarts)."""
    configured = os.environ.get("FACTORY_REVIEW_WEB_SECRET", "")
    return configured.encode() if configured else secrets.token_bytes(32)


def secure_cookies() -> bool:
    return os.environ.get("FACTORY_REVIEW_WEB_SECURE_COOKIES", "") == "1"


def sign_token(token: str) -> str:
    return TimestampSigner(secret(), salt="fr-session").sign(token.encode()).decode()


def unsign_token(value: str) -> str | None:
    try:
        return TimestampSigner(secret(), salt="fr-session").unsign(value, max_age=SESSION_MAX_AGE).decode()
    except BadSignature:
        return None


def new_csrf_cookie() -> str:
    return secrets.token_urlsafe(24)


def csrf_token(cookie_value: str) -> str:
    return hmac.new(secret(), b"csrf:" + cookie_value.encode(), hashlib.sha256).hexdigest()


def csrf_ok(cookie_value: str | None, submitted: str | None) -> bool:
    if not cookie_value or not submitted:
        return False
    return hmac.compare_digest(csrf_token(cookie_value), submitted)


class BodyLimit:
    """Pure ASGI middleware: 413 before reading a body that is (or becomes) larger than `limit`."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = upload_body_limit() if str(scope.get("path", "")).endswith(UPLOAD_SUFFIX) else self.limit
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await _too_large(send)
            return
        seen = 0
        refused = False

        async def counted() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # Answer 413 now and tell the app the client went away; whatever it sends is dropped.
                    refused = True
                    await _too_large(send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: Message) -> None:
            if not refused:
                await send(message)

        await self.app(scope, counted, guarded)


async def _too_large(send: Send) -> None:
    body = "请求内容过大 (request body too large)".encode()
    headers: list[Any] = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
