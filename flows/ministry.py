"""Ministry review (评审认定 / 材料评审 by the national expert committee): the secretariat opens the review of
the recommended applications and records the panel's outcome for each (251 §2(二)4, §3(二)4).

pass → on-site verification; return → returned for revision; reject → rejected (reason required).
"""

from __future__ import annotations

from typing import Literal

from prefect import flow
from pydantic import BaseModel, Field

from flows.common import (
    EventItem,
    StageParams,
    StageReport,
    ask_for,
    each,
    fire_all,
    load_decisions_file,
    publish,
    session_scope,
)
from states.lifecycle import State
from states.queries import describe, in_states, markdown_table


class PanelOutcome(BaseModel):
    application_id: int
    outcome: Literal["pass", "return", "reject"] = Field(description="The expert panel's outcome.")
    reason: str = Field(default="", description="Required for return and reject.")


class PanelOutcomes(BaseModel):
    decisions: list[PanelOutcome] = Field(default_factory=list)


class MinistryReviewParams(StageParams):
    tier: str = Field(description="excellent or leading.")
    season: str = "2025"
    decisions: list[PanelOutcome] | None = Field(default=None, description="Outcomes. Empty: file or form.")
    decisions_file: str | None = Field(default=None, description="Path of a YAML decisions file on the worker.")
    pause_timeout: int = Field(default=3600, ge=60)


EVENTS = {"pass": "pass_review", "return": "return_for_revision", "reject": "reject"}


@flow(name="ministry-review")
def ministry_review(params: MinistryReviewParams) -> StageReport:
    """Open the review of the recommended applications, then record the panel's outcomes."""
    at = params.at()
    if params.decisions is not None:
        decisions = params.decisions
    elif params.decisions_file:
        decisions = load_decisions_file(params.decisions_file, PanelOutcomes).decisions
    else:
        decisions = None
    with session_scope() as session:
        recommended = [
            a.id for a in in_states(session, [State.RECOMMENDED], tier=params.tier, season=params.season) if a.id
        ]
    to_open = sorted(set(recommended) | {d.application_id for d in decisions or []})
    # Open the review: a step from `recommended`; applications already under review are skipped.
    report = StageReport(
        flow="ministry-review",
        outcomes=fire_all(each(to_open, "open_ministry_review", only_from=[State.RECOMMENDED]), params.actor, at),
    )
    if decisions is None:
        with session_scope() as session:
            rows = describe(
                session, in_states(session, [State.MINISTRY_REVIEW], tier=params.tier, season=params.season)
            )
        decisions = ask_for(
            PanelOutcomes,
            description=f"### Expert panel outcomes: {params.tier} ({params.season})\n\n{markdown_table(rows)}",
            timeout=params.pause_timeout,
            decisions=[PanelOutcome(application_id=r["id"], outcome="pass") for r in rows],
        ).decisions
    items = [EventItem(application_id=d.application_id, event=EVENTS[d.outcome], reason=d.reason) for d in decisions]
    report.outcomes.extend(fire_all(items, params.actor, at))
    return publish(report, key="ministry-review")
