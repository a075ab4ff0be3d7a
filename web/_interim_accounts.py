"""A stand-in for `states.accounts` (issue #11) with the contract's names, until that lands on main.

Process-local (accounts and sessions live in memory); web.auth imports it only when `states.accounts`
is missing. Delete this file once the accounts service is on main.
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from models.clock import Clock, clock_from_env
from models.enums import MINISTRY_UNIT, Role
from models.errors import NotFound, ReviewError
from models.tables import Actor
from programmes.season import get_season
from states.intake import add_actor

MAX_FAILURES = 5
LOCK_FOR = timedelta(minutes=15)


class NotAuthenticated(ReviewError):
    default_rule = "not-authenticated"


class AccountLocked(NotAuthenticated):
    default_rule = "lock-out"


@dataclass
class Account:
    id: int
    email: str
    display_name: str
    role: str
    unit: str
    password_hash: str
    enterprise_id: int | None = None
    active: bool = True
    failed_logins: int = 0
    locked_until: datetime | None = None


_ids = itertools.count(1)
ACCOUNTS: dict[str, Account] = {}
SESSIONS: dict[str, tuple[int, datetime]] = {}


def _hash(password: str, salt: str) -> str:
    return salt + "$" + hashlib.scrypt(password.encode(), salt=salt.encode(), n=2**12, r=8, p=1).hex()


def clock_for(session: Session, *, requested: str | None = None) -> Clock:
    return clock_from_env(requested)


def grant_account(session: Session, *, by: object, email: str, password: str, role: str, unit: str,
                  display_name: str, enterprise_credit_code: str | None = None, at: datetime) -> Account:  # fmt: skip
    account = Account(next(_ids), email.lower(), display_name, str(role), unit, _hash(password, secrets.token_hex(8)))
    ACCOUNTS[account.email] = account
    return account


def authenticate(session: Session, *, email: str, password: str, at: datetime) -> Account:
    account = ACCOUNTS.get(email.strip().lower())
    if account is None:
        raise NotAuthenticated("邮箱或密码不正确 (wrong e-mail or password)")
    if account.locked_until is not None and at < account.locked_until:
        raise AccountLocked("账户已锁定，请稍后再试 (account locked after repeated failures)")
    if _hash(password, account.password_hash.split("$")[0]) != account.password_hash:
        account.failed_logins += 1
        if account.failed_logins >= MAX_FAILURES:
            account.locked_until = at + LOCK_FOR
        raise NotAuthenticated("邮箱或密码不正确 (wrong e-mail or password)")
    account.failed_logins = 0
    return account


def open_session(session: Session, *, account: Account, kind: str, at: datetime, ttl: timedelta) -> str:
    token = secrets.token_urlsafe(32)
    SESSIONS[hashlib.sha256(token.encode()).hexdigest()] = (account.id, at + ttl)
    return token


def account_for_token(session: Session, token: str, *, at: datetime) -> Account:
    found = SESSIONS.get(hashlib.sha256(token.encode()).hexdigest())
    if found is None or found[1] <= at:
        raise NotAuthenticated("未登录或会话已过期 (not signed in)")
    account = next((a for a in ACCOUNTS.values() if a.id == found[0]), None)
    if account is None or not account.active:
        raise NotAuthenticated("未登录或会话已过期 (not signed in)")
    return account


def close_session(session: Session, token: str, *, at: datetime) -> None:
    SESSIONS.pop(hashlib.sha256(token.encode()).hexdigest(), None)


def actor_row(session: Session, account: Account) -> Actor:
    role = Role.LOCAL_OFFICER if account.role == "auditor" else account.role
    return add_actor(session, name=account.display_name, email=account.email, role=role, unit=account.unit)


def in_scope(account: Account, unit: str) -> bool:
    if account.unit == MINISTRY_UNIT:
        return True
    season = get_season()
    return season.has_unit(unit) and account.unit in season.lineage(unit)


def visible_units(session: Session, account: Account) -> set[str] | None:
    if account.unit == MINISTRY_UNIT:
        return None
    if account.role == Role.ENTERPRISE:
        return {account.unit}
    season = get_season()
    try:
        season.unit(account.unit)
    except (NotFound, ReviewError, KeyError):
        return {account.unit}
    return {u.code for u in season.units if account.unit in season.lineage(u.code)}
