"""Local review round for one recommending unit: its decisions and priority order in, forwarded up.

Returns and rejections go through the one door one by one; the recommended applications go as one ranked
list through `programmes.recommendation.forward_unless_forwarded`, which checks the unit's quota and
deadline and forwards the list in one transaction (all or nothing); see flows.rounds.

Decisions come from the parameters, a decisions file (YAML), or — when neither is given — a form in the
Prefect UI (`pause_flow_run(wait_for_input=…)`) listing what the unit holds.
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.common import publish, review_name, run_name, slug
from flows.params import LocalDecision, LocalDecisions, ReviewRoundParams
from flows.rounds import review_round

__all__ = ["LocalDecision", "LocalDecisions", "ReviewRoundParams", "local_review", "review_name", "review_round"]


@flow(name="local-review", flow_run_name=run_name(review_name))
def local_review(params: ReviewRoundParams) -> Any:
    """One recommending unit's review round: return, reject, and forward the rest in priority order."""
    return publish(review_round(params, flow_name="local-review"), key=f"local-review-{slug(params.unit)}")
