"""Deadline reminders: who still owes an action, computed by set-based SQL; queued once per key.

    report = sweep(session, now=clock.now())              # queue what is due, commit (idempotent)
    for item in plan(session, start=date(2025, 7, 1), end=date(2025, 8, 31)): ...   # no writes

How a sweep works, per rule of `reminder_policy.yaml`:

1. Deadlines, not rows: for every (unit, tier, track) of the season, the effective deadline (extensions
   honoured) and the reminder days that are due at `now` — a few hundred keys, however many applications.
2. One SQL query per rule selects only the applications under a due key that are still waiting for the
   recipient (drafts; submitted / local_review held by the unit; in cultivation), joined to their
   recipients (enterprise contact, `local_officer` actors of the unit, computed from the JSON chain
   with `review_level`). Whoever already acted has no row and gets nothing.
3. Rows are grouped per (recipient, deadline, offset) into one message listing the applications, and
   queued with the dedupe key `reminder:<kind>:<deadline>:<offset>:<unit>:<email>` in one transaction
   (`queue_many`: existing keys are skipped, so two sweeps a day never queue a reminder twice).

A reminder is due at `send_at` (09:00 Asia/Shanghai) on its day, until the end of the deadline day; an
escalation from `send_at` on the day after the deadline, while the step is still open.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import String, and_, case, cast, func, literal, select, tuple_
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from models.clock import end_of_day, ensure_aware, local_date
from models.enums import MINISTRY_UNIT, TIER_LABELS, Role
from models.tables import Actor, Application, DeadlineExtension, Enterprise
from notifications.outbox import Outgoing, existing_keys, queue_many

POLICY_PATH = Path(__file__).resolve().parent / "reminder_policy.yaml"
PENDING_REVIEW = ("submitted", "local_review")
MINISTRY_NAMES = ("工业和信息化部", "MIIT")


# ---- policy as data -------------------------------------------------------------------------------


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["reminder_submit", "reminder_recommend", "reminder_ministry", "reminder_cultivation", "escalation"]
    who: str = ""
    step: Literal["submit", "recommend"] | None = None
    offsets: tuple[int, ...] = ()
    after_days: tuple[int, ...] = ()
    catch_up: Literal["all", "latest"] = "all"
    source: str = Field(min_length=1)


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str = "Asia/Shanghai"
    send_at: time = time(9, 0)
    rules: tuple[Rule, ...]

    def rule(self, kind: str) -> Rule | None:
        return next((r for r in self.rules if r.kind == kind), None)

    def send_instant(self, day: date) -> datetime:
        """When a reminder for `day` becomes due."""
        return datetime.combine(day, self.send_at, ZoneInfo(self.timezone))


@cache
def load_policy(path: str | Path = POLICY_PATH) -> Policy:
    return Policy.model_validate(yaml.safe_load(Path(path).read_text(encoding="utf-8")))


Mode = Literal["due", "on_day"]  # sweep: everything due by now; plan: what falls on this very day


def due_offsets(rule: Rule, policy: Policy, deadline: date, now: datetime, mode: Mode) -> list[int]:
    """Offsets (days before; negative = after) of `rule` whose reminder is due at `now` for `deadline`."""
    today = local_date(now)
    if rule.after_days:
        days = [(-a, deadline + timedelta(days=a)) for a in rule.after_days]
    else:
        if now > end_of_day(deadline):
            return []  # the deadline has passed: reminding is pointless (escalation takes over)
        days = [(o, deadline - timedelta(days=o)) for o in rule.offsets]
    due = [(o, day) for o, day in days if policy.send_instant(day) <= now]
    if mode == "on_day":
        due = [(o, day) for o, day in due if day == today]
    elif rule.catch_up == "latest" and due:
        due = [max(due, key=lambda item: item[1])]
    return [o for o, _ in due]


# ---- SQL expressions over the JSON chain ------------------------------------------------------------


def _chain_at(dialect: str, index: ColumnElement[Any]) -> ColumnElement[Any]:
    """`application.chain[index]` as text, with `index` an SQL expression (review_level, length - 1)."""
    if dialect == "postgresql":
        return Application.chain.op("->>", return_type=String)(index)  # type: ignore[attr-defined]
    path = literal("$[").concat(cast(index, String)).concat("]")
    return func.json_extract(Application.chain, path)


def _chain_length() -> ColumnElement[Any]:
    return func.json_array_length(Application.chain)


def _jurisdiction() -> ColumnElement[Any]:
    """Enterprise.jurisdiction in SQL: the lowest non-empty of district, city, province."""
    return func.coalesce(func.nullif(Enterprise.district, ""), func.nullif(Enterprise.city, ""), Enterprise.province)


# ---- deadlines per key --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DueKey:
    unit: str
    tier: str
    track: str


@dataclass
class _Deadlines:
    """Effective deadlines per (unit, step, tier, track), computed once per sweep."""

    session: Session
    season: Any
    cache: dict[tuple[str, str, str, str], Any] = field(default_factory=dict)

    extended_steps: set[str] | None = None

    def get(self, unit: str, step: str, tier: str, track: str) -> Any:
        key = (unit, step, tier, track)
        if key not in self.cache:
            if self.extended_steps is None:
                # One query instead of one per unit: most seasons have no extension for most steps.
                self.extended_steps = set(
                    self.session.scalars(
                        select(DeadlineExtension.step).where(DeadlineExtension.season == self.season.name).distinct()
                    )
                )
            if step in self.extended_steps:
                from programmes.deadlines import effective_deadline

                self.cache[key] = effective_deadline(self.session, self.season, unit, step, tier, track)
            else:
                self.cache[key] = self.season.deadline_for(unit, step, tier, track)
        return self.cache[key]

    def combos(self, step: str) -> set[tuple[str, str]]:
        """(tier, track) pairs the season has deadlines for at this step."""
        return {(tier, d.track) for d in self.season.deadlines if d.step == step for tier in d.tiers}


def _due_keys(
    deadlines: _Deadlines, rule: Rule, policy: Policy, now: datetime, mode: Mode
) -> dict[DueKey, list[tuple[Any, int]]]:
    """For every declared unit and (tier, track): the (deadline, offset) pairs due now under `rule`."""
    assert rule.step is not None
    out: dict[DueKey, list[tuple[Any, int]]] = {}
    combos = deadlines.combos(rule.step)
    for unit in deadlines.season.units:
        for tier, track in combos:
            deadline = deadlines.get(unit.code, rule.step, tier, track)
            if deadline is None:
                continue
            offsets = due_offsets(rule, policy, deadline.on, now, mode)
            if offsets:
                out[DueKey(unit.code, tier, track)] = [(deadline, o) for o in offsets]
    return out


# ---- candidates ----------------------------------------------------------------------------------------


@dataclass
class _Group:
    kind: str
    email: str
    name: str
    unit: str  # recipient unit code (enterprise: its credit code)
    unit_zh: str
    unit_en: str
    deadline: date
    offset: int
    source: str
    overdue_unit: str = ""
    items: dict[int, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Cultivation:
    """A cultivation end date, shaped like a Deadline for grouping."""

    on: date
    source: str


def _item(row: Any) -> dict[str, Any]:
    return {
        "application_id": row.application_id,
        "title": row.title,
        "tier": row.tier,
        "tier_label": TIER_LABELS.get(row.tier, row.tier),  # type: ignore[call-overload]
        "enterprise_name": row.enterprise_name,
    }


def _unit_names(season: Any, code: str) -> tuple[str, str]:
    if code == MINISTRY_UNIT:
        return MINISTRY_NAMES
    if season.has_unit(code):
        unit = season.unit(code)
        return unit.name_zh, unit.name_en
    return code, code


def _tuple_in(columns: tuple[ColumnElement[Any], ...], keys: Iterable[DueKey]) -> ColumnElement[bool]:
    values = [(k.unit, k.tier, k.track) for k in keys]
    return tuple_(*columns).in_(values)


def _candidates(session: Session, *, season: Any, policy: Policy, now: datetime, mode: Mode) -> list[_Group]:
    dialect = session.get_bind().dialect.name
    deadlines = _Deadlines(session, season)
    groups: dict[tuple[str, str, str, date, int], _Group] = {}

    def add(rule: Rule, row: Any, email: str, name: str, unit: str, deadline: Any, offset: int, over: str = "") -> None:
        if not email:
            return
        key = (rule.kind, unit, email.strip().lower(), deadline.on, offset)
        group = groups.get(key)
        if group is None:
            zh, en = _unit_names(season, unit)
            group = groups[key] = _Group(
                kind=rule.kind,
                email=email,
                name=name,
                unit=unit,
                unit_zh=zh,
                unit_en=en,
                deadline=deadline.on,
                offset=offset,
                source=deadline.source,
                overdue_unit=over,
            )
        group.items[row.application_id] = _item(row)

    base = (
        Application.id.label("application_id"),  # type: ignore[union-attr]
        Application.title,
        Application.tier,
        Application.track,
        Enterprise.name.label("enterprise_name"),  # type: ignore[attr-defined]
    )
    in_season = Application.season == season.name

    # 1. enterprises with drafts before their submission deadline
    rule = policy.rule("reminder_submit")
    if rule is not None:
        keys = _due_keys(deadlines, rule, policy, now, mode)
        if keys:
            juris = _jurisdiction()
            query = (
                select(*base, juris.label("unit"), Enterprise.credit_code, Enterprise.contact_email,
                       Enterprise.contact_name)
                .join(Enterprise, Enterprise.id == Application.enterprise_id)
                .where(in_season, Application.state == "draft")
                .where(_tuple_in((juris, Application.tier, Application.track), keys))
            )  # fmt: skip
            for row in session.execute(query):
                for deadline, offset in keys[DueKey(row.unit, row.tier, row.track)]:
                    name = row.contact_name or row.enterprise_name
                    add(rule, row, row.contact_email, name, row.credit_code, deadline, offset)

    level = Application.review_level
    holder = _chain_at(dialect, level)
    top = _chain_at(dialect, _chain_length() - 1)
    officer = and_(Actor.role == Role.LOCAL_OFFICER.value, Actor.email != "")
    pending = and_(in_season, Application.state.in_(PENDING_REVIEW))  # type: ignore[attr-defined]
    recipient_cols = (Actor.email, Actor.name)

    # 2. recommending units (below the top of the chain) holding pending applications
    rule = policy.rule("reminder_recommend")
    if rule is not None:
        keys = _due_keys(deadlines, rule, policy, now, mode)
        if keys:
            query = (
                select(*base, holder.label("unit"), *recipient_cols)
                .join(Enterprise, Enterprise.id == Application.enterprise_id)
                .join(Actor, and_(officer, Actor.unit == holder))
                .where(pending, level < _chain_length() - 1)
                .where(_tuple_in((holder, Application.tier, Application.track), keys))
            )
            for row in session.execute(query):
                for deadline, offset in keys[DueKey(row.unit, row.tier, row.track)]:
                    add(rule, row, row.email, row.name, row.unit, deadline, offset)

    # 3. provincial-level units (top of the chain) with reviews not finished anywhere in their chain
    rule = policy.rule("reminder_ministry")
    if rule is not None:
        keys = _due_keys(deadlines, rule, policy, now, mode)
        if keys:
            query = (
                select(*base, top.label("unit"), *recipient_cols)
                .join(Enterprise, Enterprise.id == Application.enterprise_id)
                .join(Actor, and_(officer, Actor.unit == top))
                .where(pending)
                .where(_tuple_in((top, Application.tier, Application.track), keys))
            )
            for row in session.execute(query):
                for deadline, offset in keys[DueKey(row.unit, row.tier, row.track)]:
                    add(rule, row, row.email, row.name, row.unit, deadline, offset)

    # 4. escalation: the unit above an overdue holder (ministry officers above the top of the chain)
    rule = policy.rule("escalation")
    if rule is not None and rule.step is not None:
        keys = _due_keys(deadlines, rule, policy, now, mode)
        if keys:
            has_above = level < _chain_length() - 1
            above = case((has_above, _chain_at(dialect, level + 1)), else_=literal(MINISTRY_UNIT))
            above_role = case(
                (has_above, literal(Role.LOCAL_OFFICER.value)), else_=literal(Role.MINISTRY_OFFICER.value)
            )
            query = (
                select(*base, holder.label("unit"), above.label("above"), *recipient_cols)
                .join(Enterprise, Enterprise.id == Application.enterprise_id)
                .join(Actor, and_(Actor.unit == above, Actor.role == above_role, Actor.email != ""))
                .where(pending)
                .where(_tuple_in((holder, Application.tier, Application.track), keys))
            )
            for row in session.execute(query):
                for deadline, offset in keys[DueKey(row.unit, row.tier, row.track)]:
                    add(rule, row, row.email, row.name, row.above, deadline, offset, over=row.unit)

    # 5. cultivation objects and their recommending units before the cultivation period ends
    rule = policy.rule("reminder_cultivation")
    if rule is not None and rule.offsets:
        today = local_date(now)
        window_end = today + timedelta(days=max(rule.offsets))
        query = (
            select(*base, Application.cultivation_ends_on, top.label("unit"), Enterprise.credit_code,
                   Enterprise.contact_email, Enterprise.contact_name)
            .join(Enterprise, Enterprise.id == Application.enterprise_id)
            .where(in_season, Application.state == "in_cultivation")
            .where(Application.cultivation_ends_on >= today, Application.cultivation_ends_on <= window_end)
        )  # fmt: skip
        rows = list(session.execute(query))
        units = {row.unit for row in rows}
        officers: dict[str, list[tuple[str, str]]] = defaultdict(list)
        if units:
            for email, name, unit in session.execute(
                select(Actor.email, Actor.name, Actor.unit).where(officer, Actor.unit.in_(units))  # type: ignore[attr-defined]
            ):
                officers[unit].append((email, name))
        for row in rows:
            ends = _Cultivation(on=row.cultivation_ends_on, source=rule.source)
            for offset in due_offsets(rule, policy, ends.on, now, mode):
                name = row.contact_name or row.enterprise_name
                add(rule, row, row.contact_email, name, row.credit_code, ends, offset)
                for email, officer_name in officers.get(row.unit, []):
                    add(rule, row, email, officer_name, row.unit, ends, offset)

    return sorted(groups.values(), key=lambda g: (g.deadline, -g.offset, g.kind, g.unit, g.email))


def dedupe_key(group: _Group) -> str:
    """recipient × deadline × offset × subject of the reminder (its kind)."""
    return (
        f"reminder:{group.kind}:{group.deadline.isoformat()}:{group.offset}:{group.unit}:{group.email.strip().lower()}"
    )


def _outgoing(group: _Group, policy: Policy, today: date, season: Any) -> Outgoing:
    items = sorted(group.items.values(), key=lambda i: i["application_id"])
    reminder_day = group.deadline - timedelta(days=group.offset)
    context = {
        "deadline": group.deadline.isoformat(),
        "days_left": max(0, (group.deadline - max(today, reminder_day)).days),
        "days_overdue": max(1, (max(today, reminder_day) - group.deadline).days),
        "items": items,
        "count": len(items),
        "source": group.source,
        "unit_zh": group.unit_zh,
        "unit_en": group.unit_en,
        "overdue_unit_zh": "",
        "overdue_unit_en": "",
    }
    if group.overdue_unit:
        context["overdue_unit_zh"], context["overdue_unit_en"] = _unit_names(season, group.overdue_unit)
    return Outgoing(
        kind=group.kind,
        recipient=group.email,
        recipient_name=group.name,
        context=context,
        dedupe_key=dedupe_key(group),
        application_id=items[0]["application_id"] if len(items) == 1 else None,
        deadline_on=group.deadline,
        offset_days=group.offset,
        send_at=policy.send_instant(reminder_day),
    )


# ---- public API ----------------------------------------------------------------------------------------


@dataclass
class SweepReport:
    now: datetime
    candidates: int = 0  # reminders due now (queued earlier or now)
    queued: int = 0  # newly queued by this sweep
    by_kind: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {"now": self.now.isoformat(), "candidates": self.candidates, "queued": self.queued,
                "by_kind": dict(self.by_kind)}  # fmt: skip


def _context(session: Session, season: Any | None, policy: Policy | None) -> tuple[Any, Policy]:
    if season is None:
        from models.settings import get_settings
        from programmes.season import get_season

        season = get_season(get_settings().season)
    return season, policy or load_policy()


def sweep(session: Session, *, now: datetime, season: Any | None = None, policy: Policy | None = None) -> SweepReport:
    """Queue every reminder due at `now` that isn't queued yet, in one transaction (committed here)."""
    now = ensure_aware(now)
    season, policy = _context(session, season, policy)
    groups = _candidates(session, season=season, policy=policy, now=now, mode="due")
    messages = [_outgoing(group, policy, local_date(now), season) for group in groups]
    queued = set(queue_many(session, messages, at=now))
    session.commit()
    report = SweepReport(now=now, candidates=len(messages), queued=len(queued))
    report.by_kind.update(m.kind for m in messages if m.dedupe_key in queued)
    return report


@dataclass(frozen=True)
class Planned:
    send_at: datetime
    kind: str
    recipient: str
    recipient_name: str
    unit: str
    deadline: date
    offset_days: int
    applications: tuple[int, ...]
    dedupe_key: str
    queued: bool  # already in the outbox

    def as_dict(self) -> dict[str, Any]:
        return {
            "send_at": self.send_at.isoformat(),
            "kind": self.kind,
            "recipient": self.recipient,
            "recipient_name": self.recipient_name,
            "unit": self.unit,
            "deadline": self.deadline.isoformat(),
            "offset_days": self.offset_days,
            "applications": list(self.applications),
            "dedupe_key": self.dedupe_key,
            "queued": self.queued,
        }


def _days(start: date, end: date) -> Iterator[date]:
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


def plan(
    session: Session, *, start: date, end: date, season: Any | None = None, policy: Policy | None = None
) -> list[Planned]:
    """What would be sent from `start` to `end`, when and to whom, if nobody acted meanwhile. No writes."""
    season, policy = _context(session, season, policy)
    out: list[Planned] = []
    for day in _days(start, end):
        at = policy.send_instant(day)
        groups = _candidates(session, season=season, policy=policy, now=at, mode="on_day")
        keys = existing_keys(session, (dedupe_key(g) for g in groups))
        for g in groups:
            key = dedupe_key(g)
            out.append(
                Planned(
                    send_at=at,
                    kind=g.kind,
                    recipient=g.email,
                    recipient_name=g.name,
                    unit=g.unit,
                    deadline=g.deadline,
                    offset_days=g.offset,
                    applications=tuple(sorted(g.items)),
                    dedupe_key=key,
                    queued=key in keys,
                )
            )
    return out
