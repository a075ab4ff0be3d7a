"""Sign-in: password checks with throttling, session tokens kept hashed, revocation.

5 wrong passwords in a row lock the account for 15 minutes (OWASP ASVS V2.2.1); every failure, lock,
sign-in and sign-out is an audit event — on the account's chain `account:<id>`, or on `security:sign-in`
when the e-mail matches no account. Tokens: 32 random bytes, shown once; only their SHA-256 is stored.
Instants here are real ones: callers pass the server clock, even on a replay database.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlmodel import Session, col

from models.clock import ensure_aware, to_utc
from models.enums import SYSTEM_UNIT, Role
from models.errors import AccountLocked, InvalidInput, NotAuthenticated
from models.tables import Account, AccountSession, Actor
from states.audit import append_event
from states.passwords import burn_time, normalise_email, verify_password

MAX_FAILURES = 5
LOCK_FOR = timedelta(minutes=15)
DEFAULT_TTL = timedelta(hours=12)
SERVICE_TTL = timedelta(days=90)
KINDS = frozenset({"cli", "web", "service", "form"})  # form: one-time, for a Prefect pause form
ANONYMOUS = Actor(name="(not signed in)", email="", role=Role.SYSTEM, unit=SYSTEM_UNIT)
SOURCE = "OWASP ASVS V2.2.1 (5 failures, 15 minutes)"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _audit(session: Session, account: Account | None, event: str, at: datetime, **data: object) -> None:
    subject = f"account:{account.id}" if account is not None else "security:sign-in"
    actor = ANONYMOUS
    if account is not None:
        actor = Actor(name=f"{account.display_name} #{account.id}"[:100], email=account.email, role=account.role,
                      unit=account.unit)  # fmt: skip
    append_event(session, subject=subject, actor=actor, event=event, at=at, data=dict(data))


def _refuse(session: Session, error: NotAuthenticated) -> NotAuthenticated:
    """Keep the audit record of a refused sign-in, then let the caller raise."""
    try:
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return error


def authenticate(session: Session, *, email: str, password: str, at: datetime) -> Account:
    """Check e-mail and password. Wrong ones count towards the lock-out; all failures are audited."""
    at = ensure_aware(at)
    try:
        address = normalise_email(email)
    except InvalidInput:
        address = None
    account = (
        session.scalars(select(Account).where(col(Account.email) == address).with_for_update()).first()
        if address else None
    )  # fmt: skip
    if account is None:
        burn_time(password)
        # Only a well-formed address is kept: text typed into the wrong field may be a password.
        _audit(session, None, "sign_in_failed", at, email=address or "(not an e-mail address)", why="unknown account")
        raise _refuse(session, NotAuthenticated("unknown e-mail or wrong password", rule="sign-in"))
    if account.locked_until is not None and to_utc(account.locked_until) > to_utc(at):
        _audit(session, account, "sign_in_failed", at, why="locked")
        raise _refuse(session, AccountLocked(
            f"account locked after {MAX_FAILURES} wrong passwords until {to_utc(account.locked_until):%H:%M} UTC",
            rule="lock-out", source=SOURCE))  # fmt: skip
    if not verify_password(account.password_hash, password) or account.service:
        return _count_failure(session, account, at)
    if not account.active:
        _audit(session, account, "sign_in_failed", at, why="deactivated")
        raise _refuse(session, NotAuthenticated(f"account {address} is deactivated", rule="account-inactive"))
    account.failed_logins, account.locked_until = 0, None
    session.commit()
    return account


def _count_failure(session: Session, account: Account, at: datetime) -> Account:
    account.failed_logins += 1
    _audit(session, account, "sign_in_failed", at, why="wrong password", failures=account.failed_logins)
    if account.failed_logins >= MAX_FAILURES:
        account.failed_logins, account.locked_until = 0, to_utc(at + LOCK_FOR)
        _audit(session, account, "account_locked", at, until=account.locked_until.isoformat())
    raise _refuse(session, NotAuthenticated("unknown e-mail or wrong password", rule="sign-in"))


def open_session(session: Session, *, account: Account, kind: str, at: datetime,
                 ttl: timedelta = DEFAULT_TTL) -> str:  # fmt: skip
    """Issue a token (returned once, stored hashed); audited."""
    if kind not in KINDS:
        raise InvalidInput(f"session kind is one of {', '.join(sorted(KINDS))}", rule="session-kind")
    if ttl <= timedelta(0) or ttl > timedelta(days=366):
        raise InvalidInput("a session lasts between a moment and a year", rule="session-ttl")
    at = ensure_aware(at)
    token = secrets.token_urlsafe(32)
    assert account.id is not None
    row = AccountSession(account_id=account.id, token_sha256=token_digest(token), kind=kind, created_at=to_utc(at),
                         expires_at=to_utc(at + ttl), last_seen_at=to_utc(at))  # fmt: skip
    session.add(row)
    _audit(session, account, "sign_in" if kind != "service" else "issue_service_token", at, kind=kind,
           expires_at=row.expires_at.isoformat() if row.expires_at else "")  # fmt: skip
    session.commit()
    return token


def _session_row(session: Session, token: str) -> AccountSession | None:
    if not isinstance(token, str) or not 20 <= len(token) <= 200:
        return None
    query = select(AccountSession).where(col(AccountSession.token_sha256) == token_digest(token))
    return session.scalars(query).first()


def account_for_token(session: Session, token: str, *, at: datetime) -> Account:
    """The account a token signs in; NotAuthenticated when unknown, expired, revoked or deactivated."""
    at = ensure_aware(at)
    row = _session_row(session, token)
    account = session.get(Account, row.account_id) if row is not None else None
    why = _token_problem(row, account, at)
    if why:
        _audit(session, account if row is not None else None, "token_refused", at, why=why)
        raise _refuse(session, NotAuthenticated(f"session {why}: sign in again (`factory-review login EMAIL`)",
                                                rule="session"))  # fmt: skip
    assert row is not None and account is not None
    row.last_seen_at = to_utc(at)
    session.commit()
    return account


def _token_problem(row: AccountSession | None, account: Account | None, at: datetime) -> str:
    if row is None or account is None:
        return "unknown"
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is None or to_utc(row.expires_at) <= to_utc(at):
        return "expired"
    if not account.active:
        return "of a deactivated account"
    return ""


def redeem_form_token(session: Session, token: str) -> Account:
    """A Prefect form's one-time token: valid, of kind "form", revoked as it is read (Prefect keeps the
    form's input, so the copy it keeps must open nothing)."""
    now = datetime.now(UTC)
    account = account_for_token(session, token, at=now)
    row = _session_row(session, token)
    assert row is not None
    if row.kind != "form":
        raise NotAuthenticated("a decision form takes a one-time token from `factory-review form-token`, not a "
                               "session token", rule="form-token")  # fmt: skip
    close_session(session, token, at=now)
    return account


def close_session(session: Session, token: str, *, at: datetime) -> None:
    """Revoke a token (logout); audited. An unknown or already revoked token is refused."""
    row = _session_row(session, token)
    if row is None or row.revoked_at is not None:
        raise NotAuthenticated("no such session (already signed out?)", rule="session")
    row.revoked_at = to_utc(at)
    account = session.get(Account, row.account_id)
    _audit(session, account, "sign_out", ensure_aware(at), kind=row.kind)
    session.commit()


def revoke_all(session: Session, account: Account, at: datetime) -> int:
    """Revoke every open session of an account (inside the caller's transaction)."""
    result = session.execute(
        update(AccountSession)
        .where(col(AccountSession.account_id) == account.id, col(AccountSession.revoked_at).is_(None))
        .values(revoked_at=to_utc(at))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
