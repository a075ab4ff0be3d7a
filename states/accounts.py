"""Accounts: who may grant what, enterprise self-registration, and the audited changes of an account.

Rules (issue #11 §2): a ministry administrator grants anywhere; a provincial account grants in its own
province's units; a district in its district. Nobody grants a role above their own or outside their
scope (`states.scope`). Enterprises register themselves with their credit code (企业注册账号) and their
district confirms them before they can act. Every grant, role change, deactivation, password reset and
confirmation is an audited event on the chain `account:<id>`; each function commits itself.
Sign-in (sessions, throttling) is in `states.signin`; its names are re-exported here.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from models.clock import ensure_aware, to_utc
from models.credit_code import CreditCodeError, validate_credit_code
from models.database import must_get
from models.enums import MINISTRY_UNIT, SYSTEM_UNIT, Role
from models.errors import InvalidInput, NotAuthenticated, NotAuthorised, NotFound
from models.tables import Account, Actor, Enterprise
from states.audit import append_event
from states.passwords import check_password_policy, hash_password, normalise_email
from states.scope import in_scope, is_jurisdiction, lineage, may_read, visible_units
from states.signin import account_for_token, authenticate, close_session, open_session

__all__ = [
    "account_for_token", "actor_for", "authenticate", "change_role", "close_session", "confirm_enterprise",
    "create_first_admin", "deactivate", "grant_account", "in_scope", "issue_service_token", "may_read", "open_session",
    "register_enterprise", "reset_password", "visible_units",
]  # fmt: skip

# Who outranks whom. A granter may give its own rank or lower (issue #11 §2: "nobody above their own").
RANK = {
    Role.ADMIN: 4,
    Role.SYSTEM: 4,
    Role.MINISTRY_OFFICER: 3,
    Role.LOCAL_OFFICER: 2,
    Role.AUDITOR: 2,
    Role.EXPERT: 1,
    Role.ENTERPRISE: 1,
}
GRANTERS = frozenset({Role.ADMIN, Role.LOCAL_OFFICER})
SOURCE = "issue #11 §2 (who may grant what)"
INIT_ACTOR = Actor(name="factory-review init", email="", role=Role.SYSTEM, unit=SYSTEM_UNIT)


def actor_for(account: Account) -> Actor:
    """The actor the one door records for an account. An unconfirmed enterprise account can't act yet."""
    if not account.active:
        raise NotAuthenticated(f"account {account.email} is deactivated", rule="account-inactive")
    if not account.confirmed:
        raise NotAuthorised(
            f"account {account.email} waits for its district to confirm the registration",
            rule="enterprise-unconfirmed",
            source="企业注册账号: the district confirms before the enterprise submits",
        )
    return Actor(name=f"{account.display_name} #{account.id}"[:100], email=account.email, role=account.role,
                 unit=account.unit)  # fmt: skip


def _display_name(name: str | None, email: str) -> str:
    text = (name or email.split("@", 1)[0]).strip()
    if not text or len(text) > 100 or any(ord(c) < 32 for c in text):
        raise InvalidInput("a display name has 1 to 100 characters and no line breaks", rule="account-name")
    return text


def _unique(session: Session, email: str) -> None:
    if session.scalars(select(Account).where(col(Account.email) == email)).first() is not None:
        raise InvalidInput(f"an account for {email} exists already", rule="account-unique")


def _record(session: Session, account: Account, actor: Actor, event: str, at: datetime, **data: Any) -> None:
    session.flush()
    append_event(session, subject=f"account:{account.id}", actor=actor, event=event, at=at,
                 data={"email": account.email, "role": account.role, "unit": account.unit, **data},
                 record=account)  # fmt: skip


def _commit(session: Session) -> None:
    try:
        session.commit()
    except BaseException:
        session.rollback()
        raise


def create_first_admin(session: Session, *, email: str, password: str, display_name: str | None = None,
                       at: datetime) -> Account:  # fmt: skip
    """`init --admin`: the first ministry administrator; refused once any account exists."""
    email = normalise_email(email)
    if session.scalars(select(Account)).first() is not None:
        raise NotAuthorised("the first administrator exists already; accounts are granted by administrators",
                            rule="first-admin", source=SOURCE)  # fmt: skip
    account = Account(email=email, display_name=_display_name(display_name, email), role=Role.ADMIN,
                      unit=MINISTRY_UNIT, password_hash=hash_password(password), created_at=to_utc(at))  # fmt: skip
    session.add(account)
    _record(session, account, INIT_ACTOR, "grant_account", ensure_aware(at), first_admin=True)
    _commit(session)
    return account


def _target_enterprise(session: Session, role: Role, unit: str, code: str | None) -> Enterprise | None:
    if role != Role.ENTERPRISE:
        if code:
            raise InvalidInput("--enterprise is for enterprise accounts only", rule="account-role")
        return None
    try:
        code = validate_credit_code(code or unit)
    except CreditCodeError as exc:
        raise InvalidInput(str(exc), rule="credit-code", source="GB 32100-2015") from None
    enterprise = session.scalars(select(Enterprise).where(col(Enterprise.credit_code) == code)).first()
    if enterprise is None:
        raise NotFound(f"enterprise {code} is not registered", rule="not-found")
    return enterprise


def _check_role_unit(role: Role, unit: str) -> None:
    """What unit each role belongs to (deny by default)."""
    ok = {
        Role.MINISTRY_OFFICER: unit == MINISTRY_UNIT,
        Role.SYSTEM: unit == SYSTEM_UNIT,
        Role.LOCAL_OFFICER: is_jurisdiction(unit),
        Role.ENTERPRISE: True,  # checked against the enterprise register
    }.get(role, unit == MINISTRY_UNIT or is_jurisdiction(unit))
    if not ok:
        raise InvalidInput(f"a {role} account cannot belong to unit {unit!r}", rule="account-unit", source=SOURCE)


def check_may_manage(by: Account, role: Role, unit: str, enterprise: Enterprise | None = None) -> None:
    """Raise `NotAuthorised` unless `by` may grant (or change) an account of this role at this unit."""
    actor_for(by)
    who = f"{by.role}@{by.unit}"
    if by.role not in GRANTERS:
        raise NotAuthorised(f"{who} may not grant or change accounts", rule="grant-role", source=SOURCE)
    if RANK[role] > RANK[Role(by.role)]:
        raise NotAuthorised(f"{who} may not grant the role {role}, above its own", rule="grant-role", source=SOURCE)
    where = enterprise.jurisdiction if enterprise is not None else unit
    national_only = unit in {MINISTRY_UNIT, SYSTEM_UNIT}
    if not in_scope(by, where) or (national_only and by.unit != MINISTRY_UNIT):
        raise NotAuthorised(f"{who} may not grant accounts in {where}, outside its scope", rule="grant-scope",
                            source=SOURCE)  # fmt: skip


def check_may_register(actor: Actor, data: dict[str, Any]) -> None:
    """`enterprise add` in production: an administrator or officer registers enterprises of its scope."""
    where = str(data.get("district") or data.get("city") or data.get("province") or "")
    if actor.role not in GRANTERS or not in_scope(actor, where):
        raise NotAuthorised(f"{actor.role}@{actor.unit} may not register enterprises in {where or '?'}",
                            rule="grant-scope", source=SOURCE)  # fmt: skip


def _role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise InvalidInput(f"unknown role {role!r}; one of {', '.join(r.value for r in Role)}",
                           rule="account-role") from None  # fmt: skip


def grant_account(session: Session, *, by: Account, email: str, password: str | None, role: Role | str, unit: str,
                  display_name: str | None = None, enterprise_credit_code: str | None = None, at: datetime,
                  service: bool = False) -> Account:  # fmt: skip
    """Create an account in `by`'s scope at or below its rank; audited on the new account's chain.

    A service account (a deployment's) gets no usable password: it signs in with a token only."""
    email, role, unit = normalise_email(email), _role(role), (unit or "").strip()
    enterprise = _target_enterprise(session, role, unit, enterprise_credit_code)
    unit = enterprise.credit_code if enterprise is not None else unit
    _check_role_unit(role, unit)
    check_may_manage(by, role, unit, enterprise)
    _unique(session, email)
    secret = secrets.token_urlsafe(32) + "!" if service or password is None else password
    account = Account(email=email, display_name=_display_name(display_name, email), role=role, unit=unit,
                      enterprise_id=enterprise.id if enterprise else None, password_hash=hash_password(secret),
                      service=service, created_by=by.id, created_at=to_utc(at))  # fmt: skip
    session.add(account)
    if role == Role.LOCAL_OFFICER and not session.scalars(select(Actor).where(
            col(Actor.role) == role, col(Actor.unit) == unit, col(Actor.email) == email)).first():  # fmt: skip
        session.add(Actor(name=account.display_name, email=email, role=role, unit=unit))  # the unit's mail goes here
    _record(session, account, actor_for(by), "grant_account", ensure_aware(at), service=service)
    _commit(session)
    return account


def _account(session: Session, account_id: int) -> Account:
    return must_get(session, Account, account_id, "account", rule="unknown-account")


def _enterprise_of(session: Session, account: Account) -> Enterprise | None:
    return session.get(Enterprise, account.enterprise_id) if account.enterprise_id else None


def change_role(session: Session, *, by: Account, account_id: int, role: Role | str, unit: str | None = None,
                at: datetime) -> Account:  # fmt: skip
    """Move an account to another role (and unit); `by` must manage both the old and the new."""
    account, role = _account(session, account_id), _role(role)
    unit = (unit or account.unit).strip()
    check_may_manage(by, Role(account.role), account.unit, _enterprise_of(session, account))
    _check_role_unit(role, unit)
    if role == Role.ENTERPRISE or account.role == Role.ENTERPRISE:
        raise InvalidInput("an enterprise account keeps its role; grant a new account instead", rule="account-role")
    check_may_manage(by, role, unit)
    before = {"role": account.role, "unit": account.unit}
    account.role, account.unit = role, unit
    _record(session, account, actor_for(by), "change_role", ensure_aware(at), before=before)
    _commit(session)
    return account


def deactivate(session: Session, *, by: Account, account_id: int, reason: str, at: datetime) -> Account:
    """Deactivate an account and revoke its sessions."""
    from states.signin import revoke_all

    account = _account(session, account_id)
    check_may_manage(by, Role(account.role), account.unit, _enterprise_of(session, account))
    if not reason.strip():
        raise InvalidInput("say why the account is deactivated (--reason)", rule="reason-required")
    account.active = False
    revoked = revoke_all(session, account, at)
    _record(session, account, actor_for(by), "deactivate", ensure_aware(at), reason=reason[:500], sessions=revoked)
    _commit(session)
    return account


def reset_password(session: Session, *, by: Account, account_id: int, password: str, at: datetime) -> Account:
    """Set a new password (by someone who manages the account, or the account itself); ends every session
    and lifts a lock-out."""
    from states.signin import revoke_all

    account = _account(session, account_id)
    if by.id != account.id:
        check_may_manage(by, Role(account.role), account.unit, _enterprise_of(session, account))
    account.password_hash = hash_password(password)
    account.failed_logins, account.locked_until = 0, None
    revoked = revoke_all(session, account, at)
    _record(session, account, actor_for(by), "reset_password", ensure_aware(at), sessions=revoked)
    _commit(session)
    return account


def issue_service_token(session: Session, *, by: Account, account_id: int, ttl: timedelta, at: datetime) -> str:
    """A token for a deployment's service account (FACTORY_REVIEW_TOKEN); `by` must manage the account."""
    account = _account(session, account_id)
    if not account.service:
        raise InvalidInput(f"{account.email} is not a service account; people sign in with `login`",
                           rule="service-account")  # fmt: skip
    check_may_manage(by, Role(account.role), account.unit, _enterprise_of(session, account))
    actor_for(account)
    return open_session(session, account=account, kind="service", at=at, ttl=ttl)


def _enterprise_units(district: str) -> dict[str, str | None]:
    line = lineage(district)
    if not is_jurisdiction(district):
        raise InvalidInput(f"{district!r} is not a district of any season", rule="jurisdiction")
    return {"province": line[-1], "city": line[1] if len(line) > 2 else None, "district": district}


def register_enterprise(session: Session, *, email: str, password: str, display_name: str, credit_code: str,
                        name: str, district: str, contact_name: str, contact_phone: str, at: datetime,
                        industry: str = "未填写", details: dict[str, Any] | None = None) -> Account:  # fmt: skip
    """An enterprise registers itself (企业注册账号): the enterprise record is created or linked, and the
    account waits, unconfirmed, for its district (`confirm_enterprise`). `details`: more enterprise fields
    it declares (要素 一 basics, recognitions held), checked as every enterprise's are."""
    from states.intake import add_enterprise

    email = normalise_email(email)
    _unique(session, email)
    check_password_policy(password)  # before the enterprise record is written: a refusal leaves nothing
    try:
        code = validate_credit_code(credit_code)
    except CreditCodeError as exc:
        raise InvalidInput(str(exc), rule="credit-code", source="GB 32100-2015") from None
    actor = Actor(name=_display_name(display_name, email), email=email, role=Role.ENTERPRISE, unit=code)
    data = {"credit_code": code, "name": name, "industry": industry, "contact_name": contact_name,
            "contact_phone": contact_phone, "contact_email": email, **(details or {}),
            **_enterprise_units(district)}  # fmt: skip
    enterprise = add_enterprise(session, data=data, actor=actor, at=at)
    account = Account(email=email, display_name=actor.name, role=Role.ENTERPRISE, unit=code,
                      enterprise_id=enterprise.id, password_hash=hash_password(password), confirmed=False,
                      created_at=to_utc(at))  # fmt: skip
    session.add(account)
    _record(session, account, actor, "register_enterprise_account", ensure_aware(at),
            jurisdiction=enterprise.jurisdiction)  # fmt: skip
    _commit(session)
    return account


def confirm_enterprise(session: Session, *, by: Account, account_id: int, approve: bool, reason: str,
                       at: datetime) -> Account:  # fmt: skip
    """The enterprise's district (or a unit above it) confirms — or rejects — a self-registration."""
    account = _account(session, account_id)
    enterprise = _enterprise_of(session, account)
    if account.role != Role.ENTERPRISE or enterprise is None:
        raise InvalidInput(f"account {account_id} is not an enterprise account", rule="account-role")
    check_may_manage(by, Role.ENTERPRISE, account.unit, enterprise)
    if not approve and not reason.strip():
        raise InvalidInput("say why the registration is rejected (--reason)", rule="reason-required")
    account.confirmed, account.active = approve, approve
    event = "confirm_enterprise_account" if approve else "reject_enterprise_account"
    _record(session, account, actor_for(by), event, ensure_aware(at), reason=reason[:500])
    _commit(session)
    return account


def account_by_email(session: Session, email: str) -> Account:
    account = session.scalars(select(Account).where(col(Account.email) == normalise_email(email))).first()
    if account is None:
        raise NotFound(f"no account {normalise_email(email)}", rule="unknown-account")
    return account


def list_accounts(session: Session, *, by: Account) -> list[Account]:
    """Accounts `by` may see: those of its scope (an enterprise sees only itself)."""
    actor_for(by)
    rows = session.scalars(select(Account).order_by(col(Account.id))).all()
    if by.role == Role.ENTERPRISE:
        return [a for a in rows if a.id == by.id]
    units = visible_units(session, by)
    if units is None:
        return list(rows)
    out = []
    for a in rows:
        enterprise = _enterprise_of(session, a)
        if (enterprise.jurisdiction if enterprise else a.unit) in units:
            out.append(a)
    return out
