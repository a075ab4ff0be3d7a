"""Deadline reminders: who still owes an action, computed by set-based SQL; queued once per key.

    report = sweep(session, now=clock.now())              # queue what is due, commit (idempotent)
    for item in plan(session, start=date(2025, 7, 1), end=date(2025, 8, 31)): ...   # no writes

The kinds, their days and their recipients are declared once in `kinds.yaml`; this module only runs them.
How a sweep works, per reminder kind:

1. Deadlines, not rows: for every (unit, tier, track) of the season, the effective deadline (extensions
   honoured) and the reminder days that are due at `now` — a few hundred keys, however many applications.
2. The due-item index: only applications whose `remind_at` has come are looked at (`notifications.due`,
   which claims them and afterwards writes each one's next instant in one UPDATE); with nothing due, a
   sweep is one indexed probe.
3. One INSERT … SELECT per (kind, audience) joins the applications still waiting under a due key to their
   recipients (`notifications.recipients`) and groups them by the kind's declared outbox key into one
   message listing them (`notifications.reminder_sql`). Whoever already acted has no row.
4. One INSERT … SELECT … ON CONFLICT DO NOTHING queues the messages unrendered, skipping keys already
   queued; the template is rendered at send time. No application passes through Python one by one.

A reminder is due at `send_at` (09:00 Asia/Shanghai) on its day, until the end of the deadline day; an
escalation from `send_at` on the day after the deadline, while the step is still open. A late expert review
(`notifications.late_reviews`) is reminded on the days after its due day that `kinds.yaml` names.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select
from sqlmodel import Session, col

from models.clock import end_of_day, ensure_aware, local_date
from models.tables import Application, DeadlineExtension, Enterprise
from notifications import due, recipients, reminder_sql
from notifications.kinds import Kind, Policy, load_policy
from notifications.late_reviews import late_review_mail
from notifications.outbox import existing_keys, queue_many

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


# ---- staging: the due keys, then the database groups -----------------------------------------------------


def _cultivation_keys(session: Session, rule: Kind, ctx: dict[str, Any]) -> list[dict[str, Any]]:
    """The due keys of a cultivation kind: the (unit, track, end date) of the applications it may concern."""
    dialect, now, policy = session.get_bind().dialect.name, ctx["now"], ctx["policy"]
    today = local_date(now)
    unit = recipients.unit_column(dialect, rule.unit)
    query = (
        select(unit, col(Application.track), col(Application.cultivation_ends_on)).distinct()
        .join(Enterprise, col(Enterprise.id) == col(Application.enterprise_id))
        .where(col(Application.season) == ctx["season"].name, col(Application.state).in_(rule.states),
               col(Application.cultivation_ends_on) >= today,
               col(Application.cultivation_ends_on) <= today + timedelta(days=max(rule.offsets)))
    )  # fmt: skip
    if ctx["due"] is not None:
        query = query.where(ctx["due"])
    return [
        reminder_sql.key_row(rule, policy, ctx["season"], unit=code, tier=None, track=track, dated=on, offset=o,
                             source=rule.source, now=now, memo=ctx["memo"])
        for code, track, on in session.execute(query) if code is not None
        for o in due_offsets(rule, policy, on, now, ctx["mode"])
    ]  # fmt: skip


def _deadline_keys(rule: Kind, ctx: dict[str, Any]) -> list[dict[str, Any]]:
    keys = _due_keys(ctx["deadlines"], rule, ctx["policy"], ctx["now"], ctx["mode"])
    return [
        reminder_sql.key_row(rule, ctx["policy"], ctx["season"], unit=k.unit, tier=k.tier, track=k.track,
                             dated=deadline.on, offset=offset, source=deadline.source, now=ctx["now"],
                             memo=ctx["memo"])
        for k, pairs in keys.items() for deadline, offset in pairs
    ]  # fmt: skip


def _stage(session: Session, *, season: Any, policy: Policy, now: datetime, mode: Mode, due_rows: Any) -> None:
    """Stage every reminder due at `now` (mode "due": of the claimed applications `due_rows`) or falling on
    `now`'s day (mode "on_day"), one row per outbox key (notifications.reminder_sql)."""
    ctx = {"season": season, "policy": policy, "now": now, "mode": mode, "due": due_rows, "memo": {},
           "deadlines": Deadlines(session, season)}  # fmt: skip
    reminder_sql.reset(session, season)
    rules = policy.reminders()
    for rule in rules:
        keys = _cultivation_keys(session, rule, ctx) if rule.when == "cultivation" else _deadline_keys(rule, ctx)
        reminder_sql.add_keys(session, keys)
    for rule in rules:
        for audience in rule.to:
            reminder_sql.stage(session, rule, audience, season=season.name, due=due_rows)


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
    late = late_review_mail(session, season=season, policy=policy, now=now, mode="due")  # a few open reviews
    queued = set(queue_many(session, late, at=now, render_now=False))
    report.candidates, report.queued = len(late), len(queued)
    report.by_kind.update(m.kind for m in late if m.dedupe_key in queued)
    if due.anything_due(session, now):  # else the steady state: one probe of the due-item index
        claimed = due.claim(session, season=season.name, now=now)
        _stage(session, season=season, policy=policy, now=now, mode="due", due_rows=claimed)
        staged, kinds = reminder_sql.queue_staged(session, at=now)
        report.candidates, report.queued = report.candidates + staged, report.queued + len(kinds)
        report.by_kind.update(kinds)
        report.looked_at = due.advance(session, season=season, policy=policy, now=now,
                                       deadlines=Deadlines(session, season), claimed=claimed)  # fmt: skip
    session.commit()  # also ends a read-only sweep's transaction: on SQLite it holds the write lock
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
        _stage(session, season=season, policy=policy, now=at, mode="on_day", due_rows=None)
        out += [
            Planned(send_at=at, kind=r.kind, recipient=r.recipient, recipient_name=r.recipient_name,
                    unit=r.recipient_unit, deadline=r.dated, offset_days=r.offset_days,
                    applications=tuple(sorted(i["application_id"] for i in r.item_list)), dedupe_key=r.dedupe_key,
                    queued=bool(r.queued))
            for r in reminder_sql.planned(session)
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
