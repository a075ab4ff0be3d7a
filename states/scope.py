"""Scope: which units an account may see and act for — the ONE place it is decided.

An account's scope is its unit and every unit below it in the seasons' jurisdiction tree
(province → city → district); "miit" is national; an enterprise account sees its own credit code.
"""

from __future__ import annotations

from functools import cache

from sqlmodel import Session

from models.enums import MINISTRY_UNIT, SYSTEM_UNIT, Role
from models.tables import Account, Actor, Application, Enterprise

NATIONAL_ROLES = frozenset({Role.ADMIN, Role.MINISTRY_OFFICER, Role.AUDITOR, Role.EXPERT})


@cache
def _tree() -> dict[str, tuple[str, ...]]:
    """unit → its lineage (itself first), over every shipped season (their trees agree where they overlap)."""
    from programmes.season import available_seasons, get_season

    lineage: dict[str, tuple[str, ...]] = {}
    for name in available_seasons():
        season = get_season(name)
        for unit in season.units:
            lineage.setdefault(unit.code, tuple(season.lineage(unit.code)))
    return lineage


def is_jurisdiction(unit: str) -> bool:
    return unit in _tree()


def lineage(unit: str) -> tuple[str, ...]:
    return _tree().get(unit, (unit,))


def is_national(account: Account | Actor) -> bool:
    return account.unit == MINISTRY_UNIT and account.role in NATIONAL_ROLES


def in_scope(account: Account | Actor, unit: str) -> bool:
    """May this account see / manage things of `unit` (a jurisdiction code, "miit" or a credit code)?"""
    if is_national(account):
        return True
    if account.role == Role.ENTERPRISE or account.unit == SYSTEM_UNIT:
        return unit == account.unit
    return account.unit in lineage(unit) if is_jurisdiction(unit) else False


def visible_units(session: Session, account: Account) -> set[str] | None:
    """The units the account sees; None means everything (national scope)."""
    if is_national(account):
        return None
    if account.role == Role.ENTERPRISE or account.unit == SYSTEM_UNIT:
        return {account.unit}
    return {code for code, line in _tree().items() if account.unit in line} | {account.unit}


def may_read(account: Account, application: Application, enterprise: Enterprise | None) -> bool:
    """An application is readable by its enterprise, by anyone whose scope holds a unit of its chain or
    its enterprise's unit (officers, auditors, experts of those units), and by national accounts."""
    if not account.active or not account.confirmed:
        return False
    if account.role == Role.ENTERPRISE:
        return enterprise is not None and account.unit == enterprise.credit_code
    units = [*application.chain, *([enterprise.jurisdiction] if enterprise is not None else [])]
    return is_national(account) or any(in_scope(account, unit) for unit in units)
