"""Public notice (网上公示) of the excellent list: open it with a period, handle objections, close it and
recognise (251 §2(二)4; domain.md §8: the 2025 notice ran 2025-09-04 to 2025-09-11, five working days).

Opening is the table's `pass_verification` (核查通过，公示) with the notice window; objections are
`raise_objection` / `dismiss_objection` / `uphold_objection` keyed by an objection id (so a re-run records
nothing twice); closing is `recognise`, refused by the door while the period runs or objections are open.
A run before the close day schedules the closing run for the day after (a scheduled run, not a wait).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from prefect import flow
from pydantic import BaseModel, Field

from flows.common import (
    EventItem,
    StageParams,
    each,
    fire_all,
    publish,
    run_name,
    schedule_per_day,
    session_scope,
    stage_report,
)
from models.clock import SHANGHAI, local_date
from states.lifecycle import State
from states.queries import applications

DEPLOYMENT = "public-notice/public-notice"
NOTICE_WORKING_DAYS = 5


class NoticeWindow(BaseModel):
    opens_on: date | None = Field(default=None, description="First day of the notice. Empty: the next working day.")
    working_days: int = Field(default=NOTICE_WORKING_DAYS, ge=1, le=30, description="Length in working days.")

    def dates(self, at: datetime) -> tuple[date, date]:
        from programmes.workdays import add_working_days

        opens = self.opens_on or add_working_days(local_date(at), 1)
        return opens, add_working_days(opens, self.working_days)


class Objection(BaseModel):
    application_id: int
    objection_id: str = Field(min_length=1, description="Your reference for the objection (e.g. 2025-YY-001).")
    action: Literal["raise", "dismiss", "uphold"] = Field(
        description="raise (received), dismiss (不成立) or uphold (成立: rejected)"
    )
    reason: str = Field(min_length=1)


class PublicNoticeParams(StageParams):
    open: list[int] = Field(default_factory=list, description="Applications that passed verification: publish.")
    window: NoticeWindow = Field(default_factory=NoticeWindow)
    objections: list[Objection] = Field(default_factory=list)
    close: list[int] = Field(default_factory=list, description="Applications to recognise once the period is over.")
    schedule_close: bool = Field(default=True, description="Schedule the closing run when the period still runs.")


OBJECTION_EVENTS = {"raise": "raise_objection", "dismiss": "dismiss_objection", "uphold": "uphold_objection"}


def open_items(
    ids: list[int], window: NoticeWindow, at: datetime, *, verified_on: date | None = None
) -> list[EventItem]:
    """`pass_verification` with the notice window: the excellent applications go on the public notice."""
    opens, closes = window.dates(at)
    data: dict[str, Any] = {"notice_opens_on": opens.isoformat(), "notice_closes_on": closes.isoformat()}
    if verified_on:
        data["milestone"] = {"onsite_verified_on": verified_on.isoformat()}
    return [EventItem(application_id=i, event="pass_verification", data=data) for i in ids]


def close_run_at(closes_on: date) -> datetime:
    """The closing run: 09:00 Asia/Shanghai the day after the notice's last day."""
    return datetime.combine(closes_on + timedelta(days=1), time(9, 0), SHANGHAI)


def schedule_closing(actor: str, by_close: dict[date, list[int]]) -> dict[str, str | None]:
    """One scheduled closing run per closing day; the key makes a re-run reuse it."""
    return schedule_per_day(DEPLOYMENT, by_close, key_prefix="public-notice-close", run_at=close_run_at,
                            parameters_for=lambda ids: {"params": {"actor": actor, "close": ids}})


def closing_days(ids: list[int]) -> dict[date, list[int]]:
    """The applications among `ids` that are on public notice, by the day their notice closes."""
    with session_scope() as session:
        rows = applications(session, sorted(ids))
        closes = {i: a.milestones.get("notice_closes_on") for i, a in rows.items() if a.state == State.PUBLIC_NOTICE}
    by_day: dict[date, list[int]] = {}
    for i, closes_on in closes.items():
        if closes_on:
            by_day.setdefault(date.fromisoformat(closes_on), []).append(i)
    return by_day


@flow(name="public-notice", flow_run_name=run_name(lambda p: "public-notice"))
def public_notice(params: PublicNoticeParams) -> Any:
    """Open the notice, record objections, and recognise when it has closed (else schedule the close)."""
    at = params.at()
    report = stage_report("public-notice", open_items(params.open, params.window, at), params, at)
    objections = [
        EventItem(application_id=o.application_id, event=OBJECTION_EVENTS[o.action], reason=o.reason,
                  key=o.objection_id)
        for o in params.objections
    ]  # fmt: skip
    report.outcomes.extend(fire_all(objections, params.actor, at))
    by_day = closing_days(list(set(params.close) | set(params.open)))
    waiting = {day: ids for day, ids in by_day.items() if local_date(at) <= day}
    still_open = {i for ids in waiting.values() for i in ids}
    due = [i for i in sorted(set(params.close)) if i not in still_open]
    report.outcomes.extend(fire_all(each(due, "recognise", only_from=[State.PUBLIC_NOTICE]), params.actor, at))
    if waiting and params.schedule_close:
        report.notes["closing_runs"] = schedule_closing(params.actor, waiting)
    report.notes["waiting"] = {d.isoformat(): ids for d, ids in waiting.items()}
    return publish(report, key="public-notice")
