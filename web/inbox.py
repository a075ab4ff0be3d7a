"""The officers' inbox as queries: what waits on my unit, in my scope, filtered, one page at a time.

Indexed: the state filter uses ix_application_state_level; the page is LIMIT/OFFSET over (state, id);
the holder test reads `chain[review_level]` from the JSON chain in SQL (as notifications.reminders does).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, true
from sqlmodel import Session, col

from models.clock import local_date
from models.enums import MINISTRY_UNIT, Role
from models.tables import Application, DeadlineExtension, Enterprise
from programmes.deadlines import effective_deadline
from programmes.season import get_season
from states.lifecycle import AWAITING_LOCAL_REVIEW, State
from states.queries import chain_at
from web.scope import scope_clause

PAGE_SIZE = 50
COUNT_CAP = 2_000
AWAITING = frozenset(s.value for s in AWAITING_LOCAL_REVIEW)
PUBLIC_NOTICE, IN_CULTIVATION = State.PUBLIC_NOTICE.value, State.IN_CULTIVATION.value
CREDIT_CODE = re.compile(r"[0-9A-HJ-NPQRTUWXY]{18}")  # GB 32100-2015 alphabet
MINISTRY_STATES = (State.RECOMMENDED, State.MINISTRY_REVIEW, State.ONSITE_VERIFICATION, State.PUBLIC_NOTICE,
                   State.CULTIVATION_OBJECT, State.EXPERT_ACCEPTANCE)  # fmt: skip


@dataclass
class Filters:
    tier: str = ""
    state: str = ""
    season: str = ""
    district: str = ""
    q: str = ""
    view: str = "waiting"  # waiting | all
    page: int = 1


@dataclass
class InboxPage:
    rows: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0
    page: int = 1
    pages: int = 1
    capped: bool = False


def waiting_clause(session: Session, account: Any) -> ColumnElement[bool] | None:
    """What waits on the account's unit now (None: the role has no queue of its own)."""
    dialect = session.get_bind().dialect.name
    state = col(Application.state)
    if account.role == Role.MINISTRY_OFFICER and account.unit == MINISTRY_UNIT:
        return state.in_([s.value for s in MINISTRY_STATES])
    if account.role == Role.LOCAL_OFFICER:
        last = func.json_array_length(Application.chain) - 1
        return or_(
            and_(state.in_([s.value for s in AWAITING_LOCAL_REVIEW]),
                 chain_at(dialect, col(Application.review_level)) == account.unit),
            and_(state == State.ACCEPTANCE_REQUESTED.value, chain_at(dialect, last) == account.unit),
        )  # fmt: skip
    return None


def _enterprise_tests(session: Session, account: Any, filters: Filters) -> list[ColumnElement[bool]]:
    """Conditions on the enterprise: scope, district filter, search (credit code by its unique index)."""
    tests = [scope_clause(session, account)]
    if filters.district:
        tests.append(col(Enterprise.district) == filters.district)
    needle = filters.q.strip()
    if needle and CREDIT_CODE.fullmatch(needle.upper()):
        tests.append(col(Enterprise.credit_code) == needle.upper())
    elif needle:
        tests.append(col(Enterprise.name).contains(needle))
    return [t for t in tests if t is not true()]


def _query(session: Session, account: Any, filters: Filters, columns: tuple[Any, ...], *,
           dense: bool = False) -> Select[Any]:  # fmt: skip
    """The inbox's rows. `dense`: many rows match, so walk applications in id order and test membership
    of the enterprise set (`enterprise_id + 0` keeps the planner off the enterprise index, which would
    sort every match to find one page); otherwise start from the enterprise indexes and sort the few."""
    tests = _enterprise_tests(session, account, filters)
    wants_enterprise = any(getattr(c, "class_", None) is Enterprise for c in columns)
    query = select(*columns)
    if wants_enterprise or (tests and not dense):
        query = query.join(Enterprise, col(Enterprise.id) == col(Application.enterprise_id))
    if tests and dense:
        query = query.where((col(Application.enterprise_id) + 0).in_(select(col(Enterprise.id)).where(*tests)))
    elif tests:
        query = query.where(*tests)
    waiting = waiting_clause(session, account) if filters.view == "waiting" else None
    if waiting is not None:
        query = query.where(waiting)
    elif account.role != Role.ENTERPRISE:
        query = query.where(col(Application.state) != State.DRAFT.value)  # drafts are the enterprise's own
    for column, value in ((Application.tier, filters.tier), (Application.state, filters.state),
                          (Application.season, filters.season)):  # fmt: skip
        if value:
            query = query.where(col(column) == value)
    return query


DENSE_FROM = 1_000  # matches from which walking by id beats sorting every match


def page_of(session: Session, account: Any, filters: Filters, *, size: int = PAGE_SIZE) -> InboxPage:
    """One page, oldest first (a queue is worked first-in first-out), grouped by stage on the page.

    The total is counted up to COUNT_CAP ("2000+" beyond): an exact count of a national list would
    cost more than the page itself and tells an officer nothing more."""
    matching = _query(session, account, filters, (col(Application.id),)).limit(COUNT_CAP + 1).subquery()
    total = session.execute(select(func.count()).select_from(matching)).scalar_one()
    pages = max(1, -(-total // size))
    page = min(max(1, filters.page), pages)
    rows = list_rows(session, account, filters, limit=size, offset=(page - 1) * size, dense=total >= DENSE_FROM)
    return InboxPage(rows, total, page, pages, capped=total > COUNT_CAP)


def list_rows(session: Session, account: Any, filters: Filters, *, limit: int, offset: int = 0,
              dense: bool = True) -> list[dict[str, Any]]:  # fmt: skip
    columns = (Application.id, Application.title, Application.tier, Application.track, Application.state,
               Application.season, Application.review_level, Application.chain, Application.milestones,
               Application.cultivation_ends_on, Application.submitted_at, Enterprise.name, Enterprise.credit_code,
               Enterprise.district)  # fmt: skip
    query = _query(session, account, filters, columns, dense=dense).order_by(col(Application.id))
    result = session.execute(query.limit(limit).offset(offset)).mappings().all()
    deadlines = _Deadlines(session)
    today = local_date(_now(session))
    return [_row(dict(r), today, deadlines) for r in result]


class _Deadlines:
    """Recommendation deadlines of a page's rows, one look-up per (season, unit, tier, track). Without any
    extension in the season (one query), the season's rule is the effective deadline (programmes.deadlines)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.cache: dict[tuple[str, str, str, str], date | None] = {}
        self.extended: dict[str, bool] = {}

    def recommend(self, season_name: str, unit: str, tier: str, track: str) -> date | None:
        key = (season_name, unit, tier, track)
        if key not in self.cache:
            season = get_season(season_name)
            if season_name not in self.extended:
                any_extension = select(col(DeadlineExtension.id)).where(col(DeadlineExtension.season) == season.name)
                self.extended[season_name] = self.session.execute(any_extension.limit(1)).first() is not None
            if not season.has_unit(unit):
                found = None
            elif self.extended[season_name]:
                found = effective_deadline(self.session, season, unit, "recommend", tier, track)
            else:
                found = season.deadline_for(unit, "recommend", tier, track)
            self.cache[key] = found.on if found else None
        return self.cache[key]


def _now(session: Session) -> Any:
    from web.auth import business_clock

    return business_clock(session).now()


def _row(row: dict[str, Any], today: date, deadlines: _Deadlines) -> dict[str, Any]:
    """Add the row's deadline (recommend by the holder; notice close; cultivation end) and countdown."""
    deadline: date | None = None
    chain, level = row["chain"] or [], row["review_level"]
    if row["state"] in AWAITING and 0 <= level < len(chain):
        deadline = deadlines.recommend(row["season"], chain[level], row["tier"], row["track"])
    elif row["state"] == PUBLIC_NOTICE and (row["milestones"] or {}).get("notice_closes_on"):
        deadline = date.fromisoformat(row["milestones"]["notice_closes_on"])
    elif row["state"] == IN_CULTIVATION:
        deadline = row["cultivation_ends_on"]
    row["deadline"] = deadline
    row["days_left"] = (deadline - today).days if deadline else None
    return row
