"""On-site verification (现场核查): record each visit's outcome (251 §2(二)4, §3(二)4).

pass, leading   → `pass_verification`: published as a cultivation object (培育对象)
pass, excellent → `pass_verification` with the public notice window (核查通过，公示); the notice's closing
                  run is scheduled (flows.public_notice)
fail            → `reject` with the reason
The visit day is kept as a milestone (`onsite_verified_on`).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from prefect import flow
from pydantic import BaseModel, Field

from flows.common import (
    DecisionParams,
    EventItem,
    SeasonParams,
    decisions_of,
    publish,
    run_name,
    session_scope,
    stage_report,
)
from flows.public_notice import NoticeWindow, closing_days, open_items, schedule_closing
from models.enums import Tier
from states.lifecycle import State
from states.queries import applications, in_states


class Visit(BaseModel):
    application_id: int
    outcome: Literal["pass", "fail"]
    verified_on: date | None = Field(default=None, description="Day of the visit.")
    reason: str = Field(default="", description="Required for fail.")


class Visits(BaseModel):
    decisions: list[Visit] = Field(default_factory=list)


class OnsiteParams(DecisionParams, SeasonParams):
    tier: str = Field(description="excellent or leading.")
    decisions: list[Visit] | None = Field(default=None, description="Visit outcomes. Empty: file or form.")
    notice: NoticeWindow = Field(default_factory=NoticeWindow, description="Public notice for excellent passes.")
    schedule_close: bool = True


def visit_items(visits: list[Visit], tiers: dict[int, str], notice: NoticeWindow, at: Any) -> list[EventItem]:
    """fail → reject; an excellent pass opens its public notice; a leading pass records the visit day."""
    items: list[EventItem] = []
    for v in visits:
        visited = {"milestone": {"onsite_verified_on": v.verified_on.isoformat()}} if v.verified_on else {}
        if v.outcome == "fail":
            items.append(EventItem(application_id=v.application_id, event="reject", reason=v.reason))
        elif tiers.get(v.application_id) == Tier.EXCELLENT:
            items.extend(open_items([v.application_id], notice, at, verified_on=v.verified_on))
        else:
            items.append(EventItem(application_id=v.application_id, event="pass_verification", data=visited))
    return items


@flow(name="onsite-verification", flow_run_name=run_name(lambda p: f"onsite-verification {p['tier']} {p['season']}"))
def onsite_verification(params: OnsiteParams) -> Any:
    """Record the on-site verification outcomes; excellent passes open the public notice."""
    at = params.at()
    visits = decisions_of(
        params, Visits, title=f"On-site verification: {params.tier} ({params.season})",
        waiting=lambda s: in_states(s, [State.ONSITE_VERIFICATION], tier=params.tier, season=params.season),
        default=lambda i: Visit(application_id=i, outcome="pass"),
    )  # fmt: skip
    with session_scope() as session:
        tiers = {i: a.tier for i, a in applications(session, [v.application_id for v in visits]).items()}
    report = stage_report("onsite-verification", visit_items(visits, tiers, params.notice, at), params, at)
    # The closing run follows the notice as stored (a re-run at another instant schedules the same run).
    by_close = closing_days([v.application_id for v in visits if tiers.get(v.application_id) == Tier.EXCELLENT])
    report.notes["notice"] = {d.isoformat(): ids for d, ids in by_close.items()}
    if by_close and params.schedule_close:
        report.notes["closing_runs"] = schedule_closing(params.actor, by_close)
    return publish(report, key="onsite-verification")
