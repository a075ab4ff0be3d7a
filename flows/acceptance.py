"""Acceptance of a leading-tier factory (251 §3(二)5): the enterprise files its acceptance application with
its recommending unit → that unit's preliminary review (初审) → the expert committee's acceptance (验收认定).

Each stage has its own actor (enterprise, the recommending unit's officer, the ministry), so the flow
takes the stage to run; the door checks the actor for each application.
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


class AcceptanceParams(StageParams):
    stage: Stage = Field(
        description="request (enterprise), preliminary_review (recommending unit), expert_acceptance (ministry)"
    )
    application_ids: list[int] = Field(default_factory=list, description="For request: the applications.")
    decisions: list[AcceptanceDecision] | None = Field(
        default=None, description="For the reviews. Empty: file or form."
    )
    decisions_file: str | None = None
    pause_timeout: int = Field(default=3600, ge=60)


@flow(name="acceptance")
def acceptance(params: AcceptanceParams) -> StageReport:
    """Run one acceptance stage for a batch."""
    at = params.at()
    if params.stage == "request":
        items = each(params.application_ids, "request_acceptance")
    else:
        if params.decisions is not None:
            decisions = params.decisions
        elif params.decisions_file:
            decisions = load_decisions_file(params.decisions_file, AcceptanceDecisions).decisions
        else:
            with session_scope() as session:
                rows = describe(session, in_states(session, [WAITING[params.stage]]))
            decisions = ask_for(
                AcceptanceDecisions,
                description=f"### Acceptance, {params.stage.replace('_', ' ')}\n\n{markdown_table(rows)}",
                timeout=params.pause_timeout,
                decisions=[AcceptanceDecision(application_id=r["id"], outcome="pass") for r in rows],
            ).decisions
        items = [
            EventItem(application_id=d.application_id, event=EVENTS[params.stage][d.outcome], reason=d.reason)
            for d in decisions
        ]
    report = StageReport(flow="acceptance", outcomes=fire_all(items, params.actor, at), notes={"stage": params.stage})
    return publish(report, key=f"acceptance-{params.stage.replace('_', '-')}")
