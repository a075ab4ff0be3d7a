"""Ministry review (评审认定 / 材料评审 by the national expert committee): the secretariat opens the review of
the recommended applications and records the panel's outcome for each (251 §2(二)4, §3(二)4).

pass → on-site verification; return → returned for revision; reject → rejected (reason required).
"""

from __future__ import annotations

from typing import Any, Literal

from prefect import flow
from pydantic import BaseModel, Field

from flows.common import (
    DecisionParams,
    EventItem,
    SeasonParams,
    decisions_of,
    each,
    publish,
    run_name,
    session_scope,
    stage_report,
)
from states.lifecycle import State
from states.queries import in_states


class PanelOutcome(BaseModel):
    application_id: int
    outcome: Literal["pass", "return", "reject"] = Field(description="The expert panel's outcome.")
    reason: str = Field(default="", description="Required for return and reject.")


class PanelOutcomes(BaseModel):
    decisions: list[PanelOutcome] = Field(default_factory=list)


class MinistryReviewParams(DecisionParams, SeasonParams):
    tier: str = Field(description="excellent or leading.")
    decisions: list[PanelOutcome] | None = Field(default=None, description="Outcomes. Empty: file or form.")


EVENTS = {"pass": "pass_review", "return": "return_for_revision", "reject": "reject"}


@flow(name="ministry-review", flow_run_name=run_name(lambda p: f"ministry-review {p['tier']} {p['season']}"))
def ministry_review(params: MinistryReviewParams) -> Any:
    """Open the review of the recommended applications, then record the panel's outcomes."""
    at = params.at()
    with session_scope() as session:
        recommended = [a.id for a in in_states(session, [State.RECOMMENDED], tier=params.tier, season=params.season)]
    given = {d.application_id for d in params.decisions or []}
    # Open the review: a step from `recommended`; applications already under review are skipped.
    opening = each(sorted({i for i in recommended if i} | given), "open_ministry_review", only_from=[State.RECOMMENDED])
    report = stage_report("ministry-review", opening, params, at)
    decisions = decisions_of(
        params, PanelOutcomes, title=f"Expert panel outcomes: {params.tier} ({params.season})",
        waiting=lambda s: in_states(s, [State.MINISTRY_REVIEW], tier=params.tier, season=params.season),
        default=lambda i: PanelOutcome(application_id=i, outcome="pass"),
    )  # fmt: skip
    items = [EventItem(application_id=d.application_id, event=EVENTS[d.outcome], reason=d.reason) for d in decisions]
    report.outcomes.extend(stage_report("ministry-review", items, params, at).outcomes)
    return publish(report, key="ministry-review")
