"""Ministry review (评审认定 / 材料评审 by the national expert committee): the secretariat opens the review of
the recommended applications and records the panel's outcome for each (251 §2(二)4, §3(二)4).

pass → on-site verification; return → returned for revision; reject → rejected (reason required).
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.common import decide, each, outcome_items, publish, run_name, session_scope, stage_report
from flows.params import PANEL_EVENTS, MinistryReviewParams, PanelOutcome, PanelOutcomes
from states.lifecycle import State
from states.queries import in_states

__all__ = ["MinistryReviewParams", "PanelOutcome", "PanelOutcomes", "ministry_review"]


@flow(name="ministry-review", flow_run_name=run_name(lambda p: f"ministry-review {p['tier']} {p['season']}"))
def ministry_review(params: MinistryReviewParams) -> Any:
    """Open the review of the recommended applications, then record the panel's outcomes."""
    at = params.at()
    with session_scope() as session:
        recommended = [a.id for a in in_states(session, [State.RECOMMENDED], tier=params.tier, season=params.season)]
    given = {d.application_id for d in params.decisions or []}
    # Open the review: a step from `recommended`; applications already under review are skipped.
    opening = each(sorted({i for i in recommended if i} | given), "open_ministry_review", only_from=[State.RECOMMENDED])
    opened = stage_report("ministry-review", opening, params, at)
    report, _ = decide(
        params, PanelOutcomes, flow="ministry-review", at=at, report=opened,
        title=f"Expert panel outcomes: {params.tier} ({params.season})",
        waiting=lambda s: in_states(s, [State.MINISTRY_REVIEW], tier=params.tier, season=params.season),
        default=lambda i: PanelOutcome(application_id=i, outcome="pass"),
        items=lambda decisions: outcome_items(decisions, PANEL_EVENTS),
    )  # fmt: skip
    return publish(report, key="ministry-review")
