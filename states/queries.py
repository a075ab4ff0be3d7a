"""Read-only look-ups that pick a batch (the flows and the CLI share them; writes go through the door)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import String, cast, func, literal, select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col

from models.database import must_get
from models.tables import Application, Enterprise
from states.lifecycle import State

CLOSED = frozenset({State.WITHDRAWN, State.REJECTED})


def chain_at(dialect: str, index: Any) -> ColumnElement[Any]:
    """`application.chain[index]` as text in SQL (`index` an SQL expression or an int): the unit at a
    level of the review chain, for the inbox, the scope and the recipients of a reminder."""
    if dialect == "postgresql":
        expression: ColumnElement[Any] = col(Application.chain).op("->>", return_type=String)(index)
        return expression
    path = literal("$[").concat(cast(index, String)).concat("]")
    return func.json_extract(Application.chain, path)


def find_application(session: Session, *, credit_code: str, tier: str, track: str, season: str) -> Application | None:
    """The enterprise's live application for this tier, track and season (the newest not withdrawn or
    rejected), if any: what an intake re-run finds instead of creating a duplicate."""
    rows = session.scalars(
        select(Application)
        .join(Enterprise, Enterprise.id == Application.enterprise_id)  # type: ignore[arg-type]
        .where(
            col(Enterprise.credit_code) == credit_code,
            col(Application.tier) == tier,
            col(Application.track) == track,
            col(Application.season) == season,
        )
        .order_by(Application.id.desc())  # type: ignore[union-attr]
    ).all()
    return next((a for a in rows if a.state not in CLOSED), None)


def application_and_enterprise(session: Session, application_id: int) -> tuple[Application, Enterprise]:
    """The application and its enterprise; `NotFound` if there is no such application."""
    application = must_get(session, Application, application_id, "application")
    enterprise = session.get(Enterprise, application.enterprise_id)
    assert enterprise is not None
    return application, enterprise


def held_by(session: Session, *, unit: str, tier: str, season: str) -> list[Application]:
    """Applications waiting for `unit`'s local review (held at its level of their chain)."""
    rows = session.scalars(
        select(Application)
        .where(
            col(Application.season) == season,
            col(Application.tier) == tier,
            Application.state.in_([State.SUBMITTED, State.LOCAL_REVIEW]),  # type: ignore[attr-defined]
        )
        .order_by(Application.id)  # type: ignore[arg-type]
    ).all()
    return [a for a in rows if 0 <= a.review_level < len(a.chain) and a.chain[a.review_level] == unit]


def in_states(
    session: Session, states: Iterable[str], *, tier: str | None = None, season: str | None = None
) -> list[Application]:
    query = select(Application).where(Application.state.in_(list(states)))  # type: ignore[attr-defined]
    if tier:
        query = query.where(Application.tier == tier)  # type: ignore[arg-type]
    if season:
        query = query.where(Application.season == season)  # type: ignore[arg-type]
    return list(session.scalars(query.order_by(Application.id)).all())  # type: ignore[arg-type]


def applications(session: Session, ids: Iterable[int]) -> dict[int, Application]:
    wanted = list(ids)
    if not wanted:
        return {}
    rows = session.scalars(select(Application).where(Application.id.in_(wanted))).all()  # type: ignore[union-attr]
    return {a.id: a for a in rows if a.id is not None}


def cultivation_ends(session: Session, ids: Iterable[int]) -> dict[int, date]:
    """When each application's cultivation period ends (set by `start_cultivation`)."""
    return {i: a.cultivation_ends_on for i, a in applications(session, ids).items() if a.cultivation_ends_on}


def by_day(days: dict[int, date]) -> dict[date, list[int]]:
    """Applications grouped by a day of theirs (a notice closing, a cultivation ending)."""
    grouped: dict[date, list[int]] = {}
    for i, day in days.items():
        grouped.setdefault(day, []).append(i)
    return grouped


def cultivation_end_days(session: Session, ids: Iterable[int], *, states: Iterable[str]) -> dict[date, list[int]]:
    """The applications among `ids` still in one of `states`, by the day their cultivation ends."""
    wanted = set(states)
    rows = applications(session, ids)
    return by_day({i: a.cultivation_ends_on for i, a in rows.items() if a.cultivation_ends_on and a.state in wanted})


def notice_closing_days(session: Session, ids: Iterable[int]) -> dict[date, list[int]]:
    """The applications among `ids` that are on public notice, by the day their notice closes."""
    rows = applications(session, sorted(ids))
    closes = {i: a.milestones.get("notice_closes_on") for i, a in rows.items() if a.state == State.PUBLIC_NOTICE}
    return by_day({i: date.fromisoformat(c) for i, c in closes.items() if c})


def describe(session: Session, rows: Iterable[Application]) -> list[dict[str, Any]]:
    """Rows for a decision form's description: id, enterprise, title, state."""
    rows = list(rows)
    names: dict[int | None, str] = dict(
        session.execute(  # type: ignore[arg-type]
            select(Enterprise.id, Enterprise.name).where(  # type: ignore[call-overload]
                Enterprise.id.in_({a.enterprise_id for a in rows})  # type: ignore[union-attr]
            )
        ).all()
    )
    return [
        {"id": a.id, "enterprise": names.get(a.enterprise_id, ""), "title": a.title, "state": a.state} for a in rows
    ]


def markdown_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "_(none)_"
    head = list(rows[0])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(r[h]).replace("|", "/") for h in head) + " |" for r in rows]
    return "\n".join(lines)


def applicant_specs(session: Session, application_ids: Iterable[int]) -> dict[int, str]:
    """Application id → its applicant as `enterprise@CREDIT_CODE` (who files for it)."""
    rows = session.execute(
        select(col(Application.id), col(Enterprise.credit_code))
        .join(Enterprise, col(Enterprise.id) == col(Application.enterprise_id))
        .where(col(Application.id).in_(list(application_ids)))
    )
    return {app_id: f"enterprise@{code}" for app_id, code in rows}
