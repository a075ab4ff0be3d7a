"""The events and scheduled runs that follow a stage: the public notice a verification opens and the run
that closes it; the cultivation period a start opens and the run that expires it. Long waits are
scheduled runs of a deployment (`schedule_per_day`), never a paused or sleeping one.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from flows.common import EventItem, schedule_per_day, session_scope
from flows.params import Checkpoint, NoticeWindow, Visit
from models.clock import SHANGHAI, local_date
from models.enums import Tier
from states.lifecycle import State
from states.queries import applications, cultivation_end_days, notice_closing_days

NOTICE_DEPLOYMENT = "public-notice/public-notice"
CULTIVATION_DEPLOYMENT = "cultivation/cultivation"
SYSTEM = "system@system"
EXPIRABLE = [State.CULTIVATION_OBJECT, State.IN_CULTIVATION, State.ACCEPTANCE_REQUESTED]


def open_items(
    ids: list[int], window: NoticeWindow, at: datetime, *, verified_on: date | None = None
) -> list[EventItem]:
    """`pass_verification` with the notice window: the excellent applications go on the public notice."""
    opens, closes = window.dates(at)
    data: dict[str, Any] = {"notice_opens_on": opens.isoformat(), "notice_closes_on": closes.isoformat()}
    if verified_on:
        data["milestone"] = {"onsite_verified_on": verified_on.isoformat()}
    return [EventItem(application_id=i, event="pass_verification", data=data) for i in ids]


def excellent(ids: list[int]) -> list[int]:
    """The excellent-tier applications among `ids` (their verification opens a public notice)."""
    with session_scope() as session:
        return [i for i, a in applications(session, ids).items() if a.tier == Tier.EXCELLENT]


def visit_items(visits: list[Visit], notice: NoticeWindow, at: datetime) -> list[EventItem]:
    """fail → reject; an excellent pass opens its public notice; a leading pass records the visit day."""
    opens_notice = set(excellent([v.application_id for v in visits]))
    items: list[EventItem] = []
    for v in visits:
        visited = {"milestone": {"onsite_verified_on": v.verified_on.isoformat()}} if v.verified_on else {}
        if v.outcome == "fail":
            items.append(EventItem(application_id=v.application_id, event="reject", reason=v.reason))
        elif v.application_id in opens_notice:
            items.extend(open_items([v.application_id], notice, at, verified_on=v.verified_on))
        else:
            items.append(EventItem(application_id=v.application_id, event="pass_verification", data=visited))
    return items


def close_run_at(closes_on: date) -> datetime:
    """The closing run: 09:00 Asia/Shanghai the day after the notice's last day."""
    return datetime.combine(closes_on + timedelta(days=1), time(9, 0), SHANGHAI)


def schedule_closing(actor: str, by_close: dict[date, list[int]]) -> dict[str, str | None]:
    """One scheduled closing run per closing day; the key makes a re-run reuse it."""
    return schedule_per_day(NOTICE_DEPLOYMENT, by_close, key_prefix="public-notice-close", run_at=close_run_at,
                            parameters_for=lambda ids: {"params": {"actor": actor, "close": ids}})  # fmt: skip


def closing_days(ids: list[int]) -> dict[date, list[int]]:
    """The applications among `ids` that are on public notice, by the day their notice closes."""
    with session_scope() as session:
        return notice_closing_days(session, ids)


def closing(close: list[int], opened: list[int], at: datetime) -> tuple[list[int], dict[date, list[int]]]:
    """What to recognise now (`close`, less what is still on notice) and what still waits, by closing day."""
    waiting = {day: ids for day, ids in closing_days(list(set(close) | set(opened))).items() if local_date(at) <= day}
    still_open = {i for ids in waiting.values() for i in ids}
    return [i for i in sorted(set(close)) if i not in still_open], waiting


def checkpoint_items(checkpoints: list[Checkpoint], at: datetime) -> list[EventItem]:
    """`record_checkpoint`, keyed by the checkpoint id (a re-run records nothing twice), its day a milestone."""
    return [
        EventItem(
            application_id=c.application_id,
            event="record_checkpoint",
            key=c.checkpoint_id,
            reason=c.note,
            data={"milestone": {f"checkpoint {c.checkpoint_id}": (c.on or at.astimezone(SHANGHAI).date()).isoformat()}},
        )
        for c in checkpoints
    ]


def expiry_run_at(ends_on: date) -> datetime:
    """01:00 Asia/Shanghai the day after the period's last day."""
    return datetime.combine(ends_on + timedelta(days=1), time(1, 0), SHANGHAI)


def schedule_expiry(started: list[int]) -> dict[str, str | None]:
    """One expiry run per end day for the applications started; the idempotency key makes a re-run find the
    run already scheduled."""
    with session_scope() as session:
        by_end = cultivation_end_days(session, started, states=EXPIRABLE)
    return schedule_per_day(CULTIVATION_DEPLOYMENT, by_end, key_prefix="cultivation-expiry", run_at=expiry_run_at,
                            parameters_for=lambda ids: {"params": {"actor": SYSTEM, "expire": ids}})  # fmt: skip
