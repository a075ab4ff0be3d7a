"""The one place the web calls the accounts service (`states.accounts`, issue #11).

Everything the web needs from accounts goes through these functions, so changing the accounts service
touches this file only.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session

from models.clock import Clock
from models.tables import Actor
from states import accounts as _accounts

Account = Any  # models.tables.Account: id, email, display_name, role, unit, enterprise_id

AUDITOR = "auditor"
WEB_SESSION_TTL = timedelta(hours=8)  # a working day; OWASP ASVS V3.3 (absolute session timeout)


def wall_clock() -> datetime:
    """Sign-in, sessions and lock-out run on the real clock, also on a replay database: a replay moves the
    business time of decisions, not the age of a person's session."""
    return datetime.now(UTC)


def business_clock(session: Session) -> Clock:
    """Production: the server clock; a replay database: FACTORY_REVIEW_NOW, else its stored instant."""
    from states.system import clock_for, is_replay, requested_now

    return clock_for(session, requested=requested_now() if is_replay(session) else None)


def replay_instant(session: Session) -> datetime | None:
    """The instant a replay database stands at (every page shows it beside the replay marker); None on a
    production database, which takes the server clock and shows no marker."""
    from states.system import is_replay

    return business_clock(session).now() if is_replay(session) else None


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
    return _accounts.actor_for(account)


def visible_units(session: Session, account: Account) -> set[str] | None:
    """The units the account may see (None: national scope). Decided by the accounts service only."""
    return _accounts.visible_units(session, account)


def in_scope(account: Account, unit: str) -> bool:
    return bool(_accounts.in_scope(account, unit))
