"""The one place the web calls the accounts service (ACCOUNTS-CONTRACT.md, issue #11).

Everything the web needs from accounts goes through these functions, so wiring the accounts service (or
changing it) touches this file only. Until `states.accounts` lands on main, `web._interim_accounts`
stands in with the contract's names and signatures (process-local; never used once the real one exists).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session

from models.clock import Clock
from models.tables import Actor

try:  # the accounts helper's service (issue #11)
    from states import accounts as _accounts  # type: ignore[attr-defined,unused-ignore]

    INTERIM = False
except ImportError:  # pragma: no cover - removed once accounts lands
    from web import _interim_accounts as _accounts  # type: ignore[no-redef]

    INTERIM = True

Account = Any  # models.tables.Account once accounts lands: id, email, display_name, role, unit, enterprise_id

AUDITOR = "auditor"
WEB_SESSION_TTL = timedelta(hours=8)  # a working day; OWASP ASVS V3.3 (absolute session timeout)


def wall_clock() -> datetime:
    """Sign-in, sessions and lock-out run on the real clock, also on a replay database: a replay moves the
    business time of decisions, not the age of a person's session."""
    return datetime.now(UTC)


def business_clock(session: Session) -> Clock:
    """Production: the server clock; a replay database: FACTORY_REVIEW_NOW, else its stored instant."""
    if INTERIM:
        return _accounts.clock_for(session)
    from states.system import clock_for, is_replay, requested_now  # type: ignore[import-not-found,unused-ignore]

    return clock_for(session, requested=requested_now() if is_replay(session) else None)  # type: ignore[no-any-return]


def sign_in(session: Session, *, email: str, password: str, at: datetime) -> str:
    """Authenticate (throttled, lock-out, failures audited by the service) and open a web session."""
    account = _accounts.authenticate(session, email=email, password=password, at=at)
    return str(_accounts.open_session(session, account=account, kind="web", at=at, ttl=WEB_SESSION_TTL))


def account_for_token(session: Session, token: str, *, at: datetime) -> Account:
    return _accounts.account_for_token(session, token, at=at)


def sign_out(session: Session, token: str, *, at: datetime) -> None:
    _accounts.close_session(session, token, at=at)


def actor_for(session: Session, account: Account) -> Actor:
    """The Actor the one door records for the signed-in account."""
    return _accounts.actor_for(account) if not INTERIM else _accounts.actor_row(session, account)  # type: ignore[no-any-return,unused-ignore]


def visible_units(session: Session, account: Account) -> set[str] | None:
    """The units the account may see (None: national scope). Decided by the accounts service only."""
    return _accounts.visible_units(session, account)


def in_scope(account: Account, unit: str) -> bool:
    return bool(_accounts.in_scope(account, unit))


def grant(session: Session, *, email: str, password: str, role: str, unit: str, display_name: str,
          enterprise_credit_code: str | None = None, at: datetime) -> Account:  # fmt: skip
    """Create an account (tests and the demo): the first admin grants it, as the contract's CLI does."""
    return _accounts.grant_account(
        session,
        by=_first_admin(session, at),
        email=email,
        password=password,
        role=role,
        unit=unit,
        display_name=display_name,
        enterprise_credit_code=enterprise_credit_code,
        at=at,
    )


def _first_admin(session: Session, at: datetime) -> Account:
    from sqlalchemy import select

    if INTERIM:
        return None
    from models.tables import Account as AccountRow  # type: ignore[attr-defined,unused-ignore]

    admin = session.scalars(select(AccountRow).where(AccountRow.role == "admin").order_by(AccountRow.id)).first()
    if admin is not None:
        return admin
    return _accounts.create_first_admin(
        session, email="admin@factory-review.local", password="admin-" + "x" * 12, display_name="管理员", at=at
    )
