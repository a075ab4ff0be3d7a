"""An enterprise's own accounts: registrations waiting for their district, and colleagues invited.

`states.accounts` grants accounts from above (administrators, officers); here an enterprise account that its
district has confirmed invites a colleague of the same enterprise (issue 14 §1). The colleague's account is
confirmed at once (the enterprise already is), gets a one-time password the inviter hands over, and is
audited on its own chain like every account.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from models.clock import ensure_aware, to_utc
from models.enums import Role
from models.errors import NotAuthorised
from models.tables import Account
from states.accounts import _display_name, _record, _unique, actor_for, list_accounts
from states.passwords import hash_password, normalise_email

SOURCE = "issue 14 §1 (an enterprise account may invite colleagues of the same enterprise)"


def invite_colleague(session: Session, *, by: Account, email: str, display_name: str,
                     at: datetime) -> tuple[Account, str]:  # fmt: skip
    """A confirmed enterprise account adds a colleague of its enterprise → (account, one-time password)."""
    actor = actor_for(by)  # refuses an unconfirmed or deactivated inviter
    if by.role != Role.ENTERPRISE or by.enterprise_id is None:
        raise NotAuthorised("only an enterprise account invites colleagues of its enterprise", rule="grant-role",
                            source=SOURCE)  # fmt: skip
    email = normalise_email(email)
    name = _display_name(display_name, email)
    _unique(session, email)
    password = secrets.token_urlsafe(12)
    account = Account(email=email, display_name=name, role=Role.ENTERPRISE, unit=by.unit,
                      enterprise_id=by.enterprise_id, password_hash=hash_password(password), confirmed=True,
                      created_by=by.id, created_at=to_utc(at))  # fmt: skip
    session.add(account)
    try:
        _record(session, account, actor, "invite_colleague", ensure_aware(at), invited_by=by.id)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return account, password


def pending_registrations(session: Session, *, by: Account) -> list[Account]:
    """Self-registered enterprise accounts in `by`'s scope still waiting for confirmation."""
    return [a for a in list_accounts(session, by=by)
            if a.role == Role.ENTERPRISE and not a.confirmed and a.active]  # fmt: skip


def colleagues(session: Session, account: Any) -> list[Account]:
    """The accounts of the same enterprise (the account's own included)."""
    if account.enterprise_id is None:
        return []
    return list(session.scalars(select(Account).where(col(Account.enterprise_id) == account.enterprise_id)
                                .order_by(col(Account.id))))  # fmt: skip
