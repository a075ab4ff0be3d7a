"""Who receives a message: the audiences that `kinds.yaml` names, computed here and nowhere else.

- For a transition (the one door): `for_transition(...)` turns the step's `notify` names into addresses.
- For a reminder sweep: `unit_column(...)` and `audience_columns(...)` are SQL over the JSON chain, so one
  query per (kind, audience) selects the applications still waiting together with their recipients.
- For a late expert review: `reviewer(expert)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, literal, select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col

from models.enums import MINISTRY_UNIT, Role
from models.memo import remembered
from models.tables import Actor, Application, Enterprise, Expert
from states.queries import chain_at

PENDING_REVIEW = frozenset({"submitted", "local_review"})


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str
    unit: str  # the officers' unit, or the enterprise's credit code


# ---- transitions ------------------------------------------------------------------------------------


def holder(application: Application, state: str, level: int) -> str | None:
    """The unit holding an application in `state` at chain `level` (None when no unit holds it)."""
    chain = application.chain
    return chain[level] if state in PENDING_REVIEW and 0 <= level < len(chain) else None


def officers(session: Session, unit: str, role: Role = Role.LOCAL_OFFICER) -> list[Recipient]:
    """A unit's officers with an address (read once per batch of transitions: `models.memo`)."""
    rows = remembered(session, ("officers", unit, role), lambda: session.scalars(
        select(Actor).where(col(Actor.role) == role, col(Actor.unit) == unit).order_by(col(Actor.id))
    ).all())  # fmt: skip
    return [Recipient(o.email, o.name, unit) for o in rows if o.email]


def for_transition(
    session: Session,
    who: str,
    *,
    application: Application,
    enterprise: Enterprise,
    held_by_before: str | None,
) -> list[Recipient]:
    """The addresses behind one `notify` name of a step.

    `holder` is the unit that holds the application after the step, or — when the step took it away from a
    unit (withdrawal, return) — the unit that held it before; `next_holder` only the one after.
    """
    if who == "applicant":
        return [Recipient(enterprise.contact_email, enterprise.contact_name or enterprise.name,
                          enterprise.credit_code)] if enterprise.contact_email else []  # fmt: skip
    after = holder(application, application.state, application.review_level)
    unit: str | None
    if who == "holder":
        unit = after or held_by_before
    elif who == "next_holder":
        unit = after
    elif who == "recommender":
        unit = application.chain[-1] if application.chain else None
    else:
        raise ValueError(f"unknown audience {who!r} in a lifecycle step's notify")
    return officers(session, unit) if unit else []


def reviewer(expert: Expert) -> list[Recipient]:
    """The expert a review is assigned to (none without an address)."""
    return [Recipient(expert.email, expert.name, f"expert:{expert.id}")] if expert.email else []


# ---- sweeps: SQL over the JSON chain ------------------------------------------------------------------


def chain_length() -> ColumnElement[Any]:
    return func.json_array_length(Application.chain)


def below_top() -> ColumnElement[bool]:
    return Application.review_level < chain_length() - 1


def unit_column(dialect: str, which: str) -> ColumnElement[Any]:
    """The unit a kind's date belongs to: the enterprise's jurisdiction, the holder, or the chain's top."""
    if which == "jurisdiction":  # Enterprise.jurisdiction: the lowest non-empty of district, city, province
        return func.coalesce(func.nullif(Enterprise.district, ""), func.nullif(Enterprise.city, ""),
                             Enterprise.province)  # fmt: skip
    if which == "holder":
        return chain_at(dialect, Application.review_level)
    if which == "top":
        return chain_at(dialect, chain_length() - 1)
    raise ValueError(f"unknown unit {which!r}")


def audience_columns(dialect: str, audience: str, unit: ColumnElement[Any]) -> tuple[Any, ...]:
    """(email, name, recipient unit) columns and the join condition for `Actor`, or None when no join."""
    if audience == "applicant":
        return (Enterprise.contact_email, func.coalesce(func.nullif(Enterprise.contact_name, ""), Enterprise.name),
                Enterprise.credit_code, None)  # fmt: skip
    if audience == "unit_officers":
        on = and_(col(Actor.role) == Role.LOCAL_OFFICER.value, col(Actor.email) != "", col(Actor.unit) == unit)
        return Actor.email, Actor.name, unit, on
    if audience == "officers_above":
        has_above = below_top()
        above = case((has_above, chain_at(dialect, col(Application.review_level) + 1)), else_=literal(MINISTRY_UNIT))
        role = case((has_above, literal(Role.LOCAL_OFFICER.value)), else_=literal(Role.MINISTRY_OFFICER.value))
        on = and_(col(Actor.unit) == above, col(Actor.role) == role, col(Actor.email) != "")
        return Actor.email, Actor.name, above, on
    raise ValueError(f"unknown audience {audience!r}")
