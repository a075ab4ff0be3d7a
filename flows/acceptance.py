"""Acceptance of a leading-tier factory (251 §3(二)5): the enterprise files its acceptance application with
its recommending unit → that unit's preliminary review (初审) → the expert committee's acceptance (验收认定).

Each stage has its own actor (enterprise, the recommending unit's officer, the ministry), so the flow
takes the stage to run; the door checks the actor for each application.
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.common import decide, each, outcome_items, publish, run_name, session_scope, stage_report
from flows.params import (
    ACCEPTANCE_EVENTS,
    ACCEPTANCE_WAITING,
    AcceptanceDecision,
    AcceptanceDecisions,
    AcceptanceParams,
    Stage,
)
from models.enums import Role
from states.intake import parse_actor
from states.queries import applicant_specs, in_states

__all__ = ["AcceptanceDecision", "AcceptanceDecisions", "AcceptanceParams", "Stage", "acceptance"]


@flow(name="acceptance", flow_run_name=run_name(lambda p: f"acceptance-{p['stage'].replace('_', '-')}"))
def acceptance(params: AcceptanceParams) -> Any:
    """Run one acceptance stage for a batch."""
    at = params.at()
    if params.stage == "request":
        items = each(params.application_ids, "request_acceptance")
        if parse_actor(params.actor)[0] == Role.SYSTEM:  # the platform's feed: each enterprise files its own
            with session_scope() as session:
                applicants = applicant_specs(session, params.application_ids)
            items = [i.model_copy(update={"actor": applicants.get(i.application_id)}) for i in items]
        report = stage_report("acceptance", items, params, at)
    else:
        report, _ = decide(
            params, AcceptanceDecisions, flow="acceptance", at=at,
            title=f"Acceptance, {params.stage.replace('_', ' ')}",
            waiting=lambda s: in_states(s, [ACCEPTANCE_WAITING[params.stage]]),
            default=lambda i: AcceptanceDecision(application_id=i, outcome="pass"),
            items=lambda decisions: outcome_items(decisions, ACCEPTANCE_EVENTS[params.stage]),
        )  # fmt: skip
    report.notes["stage"] = params.stage
    return publish(report, key=f"acceptance-{params.stage.replace('_', '-')}")
