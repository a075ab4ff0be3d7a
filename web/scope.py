"""Scope, checked once on the server (style guide §12): one loader for an application, one filter for lists.

An application is visible to an account when its enterprise's province, city or district, or the first
unit of its recommendation chain (a central SOE channel), is one of the account's visible units
(`web.auth.visible_units`, decided by the accounts service); an enterprise sees its own applications.
Anything else is a 404, the same as an id that does not exist.
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException
from sqlalchemy import ColumnElement, false, or_, true
from sqlmodel import Session, col

from models.enums import Role
from models.tables import Application, Enterprise, ReviewAssignment
from programmes.reviews import assigned_applications
from programmes.season import get_season
from states.queries import chain_at
from web import auth


def scope_clause(session: Session, account: Any) -> ColumnElement[bool]:
    """The SQL condition for "in the account's scope" (needs Enterprise joined).

    Only the roots of the visible set are tested (a province officer's districts lie in its province),
    each on the indexed column of its level, so the planner can start from the enterprise indexes.
    """
    if account.role == Role.ENTERPRISE:
        own: ColumnElement[bool] = col(Enterprise.credit_code) == account.unit
        return own
    if account.role == Role.EXPERT:
        assigned: ColumnElement[bool] = col(Application.id).in_(assigned_applications(account.email))
        return assigned
    units = auth.visible_units(session, account)
    if units is None:
        return true()
    if not units:
        return false()
    season = get_season()
    tests: list[ColumnElement[bool]] = []
    for root in sorted(u for u in units if _parent(season, u) not in units):
        level = season.unit(root).level if season.has_unit(root) else ""
        column = {"province": Enterprise.province, "city": Enterprise.city, "district": Enterprise.district}.get(level)
        if column is not None:
            tests.append(col(column) == root)
        else:  # a recommending channel (central SOE group, XPCC): the first unit of the chain
            tests.append(chain_at(session.get_bind().dialect.name, 0) == root)
    return or_(*tests)


def _parent(season: Any, code: str) -> str | None:
    return season.unit(code).parent if season.has_unit(code) else None


def visible(session: Session, account: Any, application: Application, enterprise: Enterprise) -> bool:
    """The same predicate as `scope_clause`, for one loaded row."""
    if account.role == Role.ENTERPRISE:
        return bool(enterprise.credit_code == account.unit)
    if account.role == Role.EXPERT:
        ids = assigned_applications(account.email).where(col(ReviewAssignment.application_id) == application.id)
        return session.scalars(ids).first() is not None
    units = auth.visible_units(session, account)
    if units is None:
        return True
    mine = {enterprise.province, enterprise.city, enterprise.district, *(application.chain[:1])}
    return bool(units & {u for u in mine if u})


def load_application(session: Session, account: Any, application_id: int) -> tuple[Application, Enterprise]:
    """THE loader: an application the account may see, or 404 (never 403: no leak of existence)."""
    application = session.get(Application, application_id, populate_existing=True)
    enterprise = session.get(Enterprise, application.enterprise_id) if application is not None else None
    if application is None or enterprise is None or not visible(session, account, application, enterprise):
        raise HTTPException(status_code=404, detail="not found")
    return application, enterprise
