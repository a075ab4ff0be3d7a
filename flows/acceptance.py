"""Acceptance of a leading-tier factory (251 §3(二)5): the enterprise files its acceptance application with
its recommending unit → that unit's preliminary review (初审) → the expert committee's acceptance (验收认定).

Each stage has its own actor (enterprise, the recommending unit's officer, the ministry), so the flow
takes the stage to run; the door checks the actor for each application.
"""

from __future__ import annotations

from typing import Any, Literal

from prefect import flow
from pydantic import BaseModel, Field

from flows.common import DecisionParams, EventItem, decisions_of, each, publish, run_name, stage_report
from states.lifecycle import State
from states.queries import in_states

Stage = Literal["request", "preliminary_review", "expert_acceptance"]
EVENTS: dict[str, dict[str, str]] = {
    "preliminary_review": {"pass": "pass_preliminary_review", "fail": "fail_preliminary_review"},
    "expert_acceptance": {"pass": "accept", "fail": "not_accept"},
}
WAITING: dict[str, State] = {
    "preliminary_review": State.ACCEPTANCE_REQUESTED,
    "expert_acceptance": State.EXPERT_ACCEPTANCE,
}


class AcceptanceDecision(BaseModel):
    application_id: int
    outcome: Literal["pass", "fail"]
    reason: str = Field(default="", description="Required for fail.")


class AcceptanceDecisions(BaseModel):
    decisions: list[AcceptanceDecision] = Field(default_factory=list)


class AcceptanceParams(DecisionParams):
    stage: Stage = Field(
        description="request (enterprise), preliminary_review (recommending unit), expert_acceptance (ministry)"
    )
    application_ids: list[int] = Field(default_factory=list, description="For request: the applications.")
    decisions: list[AcceptanceDecision] | None = Field(
        default=None, description="For the reviews. Empty: file or form."
    )


@flow(name="acceptance", flow_run_name=run_name(lambda p: f"acceptance-{p['stage'].replace('_', '-')}"))
def acceptance(params: AcceptanceParams) -> Any:
    """Run one acceptance stage for a batch."""
    at = params.at()
    if params.stage == "request":
        items = each(params.application_ids, "request_acceptance")
    else:
        decisions = decisions_of(
            params, AcceptanceDecisions, title=f"Acceptance, {params.stage.replace('_', ' ')}",
            waiting=lambda s: in_states(s, [WAITING[params.stage]]),
            default=lambda i: AcceptanceDecision(application_id=i, outcome="pass"),
        )  # fmt: skip
        items = [
            EventItem(application_id=d.application_id, event=EVENTS[params.stage][d.outcome], reason=d.reason)
            for d in decisions
        ]
    report = stage_report("acceptance", items, params, at)
    report.notes["stage"] = params.stage
    return publish(report, key=f"acceptance-{params.stage.replace('_', '-')}")
