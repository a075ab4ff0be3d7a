"""Public notice (网上公示) of the excellent list: open it with a period, handle objections, close it and
recognise (251 §2(二)4; domain.md §8: the 2025 notice ran 2025-09-04 to 2025-09-11, five working days).

Opening is the table's `pass_verification` (核查通过，公示) with the notice window; objections are
`raise_objection` / `dismiss_objection` / `uphold_objection` keyed by an objection id (so a re-run records
nothing twice); closing is `recognise`, refused by the door while the period runs or objections are open.
A run before the close day schedules the closing run for the day after (a scheduled run, not a wait).
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.common import EventItem, each, fire_all, publish, run_name, stage_report
from flows.followups import closing, open_items, schedule_closing
from flows.params import NOTICE_WORKING_DAYS, OBJECTION_EVENTS, NoticeWindow, Objection, PublicNoticeParams
from states.lifecycle import State

__all__ = ["NOTICE_WORKING_DAYS", "NoticeWindow", "Objection", "PublicNoticeParams", "public_notice"]


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
    due, waiting = closing(params.close, params.open, at)
    report.outcomes.extend(fire_all(each(due, "recognise", only_from=[State.PUBLIC_NOTICE]), params.actor, at))
    if waiting and params.schedule_close:
        report.notes["closing_runs"] = schedule_closing(params.actor, waiting)
    report.notes["waiting"] = {d.isoformat(): ids for d, ids in waiting.items()}
    return publish(report, key="public-notice")
