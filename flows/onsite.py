"""On-site verification (现场核查): record each visit's outcome (251 §2(二)4, §3(二)4).

pass, leading   → `pass_verification`: published as a cultivation object (培育对象)
pass, excellent → `pass_verification` with the public notice window (核查通过，公示); the notice's closing
                  run is scheduled (flows.public_notice)
fail            → `reject` with the reason
The visit day is kept as a milestone (`onsite_verified_on`).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from prefect import flow
from pydantic import BaseModel, Field

from flows.common import (
    EventItem,
    StageParams,
    StageReport,
    ask_for,
    fire_all,
    load_decisions_file,
    publish,
    session_scope,
)
from flows.public_notice import NoticeWindow, open_items, schedule_closing
from models.enums import Tier
from states.lifecycle import State
from states.queries import applications, describe, in_states, markdown_table


class Visit(BaseModel):
    application_id: int
    outcome: Literal["pass", "fail"]
    verified_on: date | None = Field(default=None, description="Day of the visit.")
    reason: str = Field(default="", description="Required for fail.")


class Visits(BaseModel):
    decisions: list[Visit] = Field(default_factory=list)


class OnsiteParams(StageParams):
    tier: str = Field(description="excellent or leading.")
    season: str = "2025"
    decisions: list[Visit] | None = Field(default=None, description="Visit outcomes. Empty: file or form.")
    decisions_file: str | None = None
    notice: NoticeWindow = Field(default_factory=NoticeWindow, description="Public notice for excellent passes.")
    schedule_close: bool = True
    pause_timeout: int = Field(default=3600, ge=60)


@flow(name="onsite-verification")
def onsite_verification(params: OnsiteParams) -> StageReport:
    """Record the on-site verification outcomes; excellent passes open the public notice."""
    at = params.at()
    if params.decisions is not None:
        visits = params.decisions
    elif params.decisions_file:
        visits = load_decisions_file(params.decisions_file, Visits).decisions
    else:
        with session_scope() as session:
            rows = describe(
                session, in_states(session, [State.ONSITE_VERIFICATION], tier=params.tier, season=params.season)
            )
        visits = ask_for(
            Visits,
            description=f"### On-site verification: {params.tier} ({params.season})\n\n{markdown_table(rows)}",
            timeout=params.pause_timeout,
            decisions=[Visit(application_id=r["id"], outcome="pass") for r in rows],
        ).decisions
    with session_scope() as session:
        tiers = {i: a.tier for i, a in applications(session, [v.application_id for v in visits]).items()}
    items: list[EventItem] = []
    noticed: list[int] = []
    for v in visits:
        if v.outcome == "fail":
            items.append(EventItem(application_id=v.application_id, event="reject", reason=v.reason))
        elif tiers.get(v.application_id) == Tier.EXCELLENT:
            items.extend(open_items([v.application_id], params.notice, at, verified_on=v.verified_on))
            noticed.append(v.application_id)
        else:
            milestone = {"onsite_verified_on": v.verified_on.isoformat()} if v.verified_on else {}
            items.append(
                EventItem(
                    application_id=v.application_id,
                    event="pass_verification",
                    data={"milestone": milestone} if milestone else {},
                )
            )
    report = StageReport(flow="onsite-verification", outcomes=fire_all(items, params.actor, at))
    # The closing run follows the notice as stored (a re-run at another instant schedules the same run).
    with session_scope() as session:
        on_notice = {
            i: date.fromisoformat(a.milestones["notice_closes_on"])
            for i, a in applications(session, noticed).items()
            if a.state == State.PUBLIC_NOTICE and a.milestones.get("notice_closes_on")
        }
    by_close: dict[date, list[int]] = {}
    for i, closes_on in on_notice.items():
        by_close.setdefault(closes_on, []).append(i)
    report.notes["notice"] = {d.isoformat(): ids for d, ids in by_close.items()}
    if by_close and params.schedule_close:
        report.notes["closing_runs"] = schedule_closing(params.actor, by_close)
    return publish(report, key="onsite-verification")
