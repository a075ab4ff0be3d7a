"""Deadline reminders: who still owes an action, computed by set-based SQL; queued once per key.

    report = sweep(session, now=clock.now())              # queue what is due, commit (idempotent)
    for item in plan(session, start=date(2025, 7, 1), end=date(2025, 8, 31)): ...   # no writes

The kinds, their days and their recipients are declared once in `kinds.yaml`; this module only runs them.
How a sweep works, per reminder kind:

1. Deadlines, not rows: for every (unit, tier, track) of the season, the effective deadline (extensions
   honoured) and the reminder days that are due at `now` — a few hundred keys, however many applications.
2. The due-item index: only applications whose `remind_at` has come are looked at (`notifications.due`);
   with nothing due, a sweep is one indexed probe.
3. One SQL query per (kind, audience) selects the applications under a due key that are still waiting,
   joined to their recipients (`notifications.recipients`). Whoever already acted has no row.
4. Rows are grouped by the kind's declared outbox key into one message listing the applications, queued
   unrendered in one set-based insert that skips existing keys (the template is rendered at send time).

A reminder is due at `send_at` (09:00 Asia/Shanghai) on its day, until the end of the deadline day; an
escalation from `send_at` on the day after the deadline, while the step is still open. A late expert review
(`notifications.late_reviews`) is reminded on the days after its due day that `kinds.yaml` names.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select, tuple_
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col

from models.clock import end_of_day, ensure_aware, local_date
from models.enums import TIER_LABELS
from models.tables import Actor, Application, DeadlineExtension, Enterprise
from notifications import due, facts, recipients
from notifications.kinds import Kind, Policy, load_policy
from notifications.late_reviews import late_review_mail
from notifications.outbox import Outgoing, existing_keys, queue_many

Mode = Literal["due", "on_day"]  # sweep: everything due by now; plan: what falls on this very day


def due_offsets(rule: Kind, policy: Policy, deadline: date, now: datetime, mode: Mode) -> list[int]:
    """Offsets (days before; negative = after) of `rule` whose reminder is due at `now` for `deadline`."""
    today = local_date(now)
    if rule.after_days:
        days = [(-a, deadline + timedelta(days=a)) for a in rule.after_days]
    else:
        if now > end_of_day(deadline):
            return []  # the deadline has passed: reminding is pointless (escalation takes over)
        days = [(o, deadline - timedelta(days=o)) for o in rule.offsets]
    due_now = [(o, day) for o, day in days if policy.send_instant(day) <= now]
    if mode == "on_day":
        due_now = [(o, day) for o, day in due_now if day == today]
    elif rule.catch_up == "latest" and due_now:
        due_now = [max(due_now, key=lambda item: item[1])]
    return [o for o, _ in due_now]


def next_instant(rule: Kind, policy: Policy, deadline: date, now: datetime) -> datetime | None:
    """The first instant after `now` at which another reminder of `rule` for `deadline` falls due."""
    if rule.after_days:
        days = [deadline + timedelta(days=a) for a in rule.after_days]
    else:
        days = [deadline - timedelta(days=o) for o in rule.offsets]
    later = [policy.send_instant(d) for d in days if policy.send_instant(d) > now]
    if not rule.after_days:
        later = [t for t in later if t <= end_of_day(deadline)]
    return min(later, default=None)


# ---- deadlines per key --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DueKey:
    unit: str
    tier: str
    track: str


@dataclass
class Deadlines:
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
                        select(col(DeadlineExtension.step))
                        .where(col(DeadlineExtension.season) == self.season.name)
                        .distinct()
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


def _due_keys(deadlines: Deadlines, rule: Kind, policy: Policy, now: datetime, mode: Mode) -> dict[DueKey, list[Any]]:
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
    key: str
    kind: str
    email: str
    name: str
    recipient_unit: str
    unit: str  # whose date it is (the overdue unit of an escalation)
    track: str
    deadline: date
    offset: int
    source: str
    items: dict[int, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Dated:
    """A date to remind about: a deadline, or a cultivation end shaped like one."""

    on: date
    source: str


def _item(row: Any) -> dict[str, Any]:
    return {
        "application_id": row.application_id,
        "title": row.title,
        "tier": row.tier,
        "tier_label": TIER_LABELS.get(row.tier, row.tier),
        "enterprise_name": row.enterprise_name,
    }


def _tuple_in(columns: tuple[Any, ...], keys: Iterable[DueKey]) -> ColumnElement[bool]:
    return tuple_(*columns).in_([(k.unit, k.tier, k.track) for k in keys])


def _query(dialect: str, rule: Kind, audience: str, *, season: str, now: datetime, mode: Mode) -> Any:
    """The applications `rule` is about, with one recipient each (a row per application × recipient)."""
    unit = recipients.unit_column(dialect, rule.unit)
    email, name, recipient_unit, on = recipients.audience_columns(dialect, audience, unit)
    query = (
        select(col(Application.id).label("application_id"), col(Application.title), col(Application.tier),
               col(Application.track), col(Application.cultivation_ends_on),
               col(Enterprise.name).label("enterprise_name"), unit.label("unit"),
               email.label("email"), name.label("name"), recipient_unit.label("recipient_unit"))
        .join(Enterprise, col(Enterprise.id) == col(Application.enterprise_id))
        .where(col(Application.season) == season, col(Application.state).in_(rule.states))
    )  # fmt: skip
    if on is not None:
        query = query.join(Actor, on)
    if rule.below_top:
        query = query.where(recipients.below_top())
    if mode == "due":
        query = query.where(due.is_due(now))
    return query


def _dated_rows(session: Session, rule: Kind, audience: str, ctx: dict[str, Any]) -> Iterator[tuple[Any, Any, int]]:
    """(row, dated, offset) for every reminder of `rule` to `audience` that is due."""
    dialect = session.get_bind().dialect.name
    query = _query(dialect, rule, audience, season=ctx["season"].name, now=ctx["now"], mode=ctx["mode"])
    if rule.when == "cultivation":
        today = local_date(ctx["now"])
        window = (Application.cultivation_ends_on >= today,  # type: ignore[operator]
                  Application.cultivation_ends_on <= today + timedelta(days=max(rule.offsets)))  # type: ignore[operator]
        for row in session.execute(query.where(*window)):
            dated = _Dated(on=row.cultivation_ends_on, source=rule.source)
            for offset in due_offsets(rule, ctx["policy"], dated.on, ctx["now"], ctx["mode"]):
                yield row, dated, offset
        return
    keys = _due_keys(ctx["deadlines"], rule, ctx["policy"], ctx["now"], ctx["mode"])
    if not keys:
        return
    unit = recipients.unit_column(dialect, rule.unit)
    for row in session.execute(query.where(_tuple_in((unit, col(Application.tier), col(Application.track)), keys))):
        for deadline, offset in keys[DueKey(row.unit, row.tier, row.track)]:
            yield row, deadline, offset


def _candidates(session: Session, *, season: Any, policy: Policy, now: datetime, mode: Mode) -> list[_Group]:
    ctx = {"season": season, "policy": policy, "now": now, "mode": mode, "deadlines": Deadlines(session, season)}
    groups: dict[str, _Group] = {}
    for rule in policy.reminders():
        for audience in rule.to:
            for row, dated, offset in _dated_rows(session, rule, audience, ctx):
                if not row.email:
                    continue
                key = rule.key_for(deadline=dated.on.isoformat(), offset=offset, recipient_unit=row.recipient_unit,
                                   unit=row.unit, email=row.email)  # fmt: skip
                group = groups.get(key)
                if group is None:
                    group = groups[key] = _Group(key, rule.kind, row.email, row.name, row.recipient_unit, row.unit,
                                                 row.track, dated.on, offset, dated.source)  # fmt: skip
                group.items[row.application_id] = _item(row)
    return sorted(groups.values(), key=lambda g: (g.deadline, -g.offset, g.kind, g.recipient_unit, g.unit, g.email))


def _memo(memo: dict[tuple[Any, ...], Any], key: tuple[Any, ...], fn: Any, *args: Any) -> Any:
    """A sweep asks for the same few hundred names and contacts thousands of times."""
    if key not in memo:
        memo[key] = fn(*args)
    return memo[key]


def _outgoing(group: _Group, policy: Policy, today: date, season: Any, memo: dict[tuple[Any, ...], Any]) -> Outgoing:
    items = sorted(group.items.values(), key=lambda i: i["application_id"])
    reminder_day = group.deadline - timedelta(days=group.offset)
    unit_zh, unit_en = _memo(memo, ("n", group.recipient_unit), facts.unit_names, season, group.recipient_unit)
    overdue_zh, overdue_en = (
        _memo(memo, ("n", group.unit), facts.unit_names, season, group.unit) if group.kind == "escalation" else ("", "")
    )
    common = _memo(memo, ("c", group.unit, group.track, group.source), facts.common, season, group.unit,
                   group.track, group.source)  # fmt: skip
    context = {
        "deadline": group.deadline.isoformat(),
        "days_left": max(0, (group.deadline - max(today, reminder_day)).days),
        "days_overdue": max(1, (max(today, reminder_day) - group.deadline).days),
        "items": items,
        "count": len(items),
        "source": group.source,
        "unit_zh": unit_zh,
        "unit_en": unit_en,
        "overdue_unit_zh": overdue_zh,
        "overdue_unit_en": overdue_en,
        **common,
        "template": policy.kind(group.kind).template_name,  # rendered at send time, maybe by another process
    }
    return Outgoing(
        kind=group.kind,
        recipient=group.email,
        recipient_name=group.name,
        context=context,
        dedupe_key=group.key,
        application_id=items[0]["application_id"] if len(items) == 1 else None,
        deadline_on=group.deadline,
        offset_days=group.offset,
        send_at=policy.send_instant(reminder_day),
    )


def dedupe_key(group: _Group) -> str:
    """The kind's declared outbox key (kinds.yaml)."""
    return group.key


# ---- public API ----------------------------------------------------------------------------------------


@dataclass
class SweepReport:
    now: datetime
    candidates: int = 0  # reminders due now for the applications looked at (queued earlier or now)
    queued: int = 0  # newly queued by this sweep
    looked_at: int = 0  # applications whose remind_at had come
    by_kind: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {"now": self.now.isoformat(), "candidates": self.candidates, "queued": self.queued,
                "looked_at": self.looked_at, "by_kind": dict(self.by_kind)}  # fmt: skip


def _context(session: Session, season: Any | None, policy: Policy | None) -> tuple[Any, Policy]:
    if season is None:
        from models.settings import get_settings
        from programmes.season import get_season

        season = get_season(get_settings().season)
    return season, policy or load_policy()


def sweep(session: Session, *, now: datetime, season: Any | None = None, policy: Policy | None = None) -> SweepReport:
    """Queue every reminder due at `now` that isn't queued yet, in one transaction (committed here): the
    applications' deadlines (their due-item index), then the late expert reviews (notifications.late_reviews)."""
    now = ensure_aware(now)
    report = SweepReport(now=now)
    season, policy = _context(session, season, policy)
    messages = late_review_mail(session, season=season, policy=policy, now=now, mode="due")  # a few open reviews
    if due.anything_due(session, now):  # else the steady state: one probe of the due-item index
        groups = _candidates(session, season=season, policy=policy, now=now, mode="due")
        memo: dict[tuple[Any, ...], Any] = {}
        messages += [_outgoing(group, policy, local_date(now), season, memo) for group in groups]
        report.looked_at = due.advance(session, season=season, policy=policy, now=now,
                                       deadlines=Deadlines(session, season))  # fmt: skip
    queued = set(queue_many(session, messages, at=now, render_now=False))
    session.commit()  # also ends a read-only sweep's transaction: on SQLite it holds the write lock
    report.candidates, report.queued = len(messages), len(queued)
    report.by_kind.update(m.kind for m in messages if m.dedupe_key in queued)
    return report


def sweep_has_work(session: Session, *, now: datetime, season: Any | None = None) -> bool:
    """Whether `sweep(now=now)` would look at anything: an application due in the index, or a late expert
    review to remind. No writes. A replay skips the day's sweep run when not (its outbox stays the same)."""
    now = ensure_aware(now)
    season, policy = _context(session, season, None)
    if due.anything_due(session, now):
        return True
    return bool(late_review_mail(session, season=season, policy=policy, now=now, mode="due"))


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
        keys = existing_keys(session, (g.key for g in groups))
        out += [
            Planned(send_at=at, kind=g.kind, recipient=g.email, recipient_name=g.name, unit=g.recipient_unit,
                    deadline=g.deadline, offset_days=g.offset, applications=tuple(sorted(g.items)),
                    dedupe_key=g.key, queued=g.key in keys)
            for g in groups
        ]  # fmt: skip
        late = late_review_mail(session, season=season, policy=policy, now=at, mode="on_day")
        known = existing_keys(session, (m.dedupe_key for m in late))
        out += [
            Planned(send_at=at, kind=m.kind, recipient=m.recipient, recipient_name=m.recipient_name,
                    unit=m.recipient, deadline=m.deadline_on or day, offset_days=m.offset_days or 0,
                    applications=(m.application_id,) if m.application_id else (), dedupe_key=m.dedupe_key,
                    queued=m.dedupe_key in known)
            for m in late
        ]  # fmt: skip
    return out
