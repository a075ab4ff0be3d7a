"""The review round of a recommending unit, shared by local-review and provincial-recommendation: wait for
its decisions, apply the returns and rejections through the one door, then forward the recommended
applications as one ranked list (`programmes.recommendation.forward_unless_forwarded`: quota, deadline, one
transaction, all or nothing).
"""

from __future__ import annotations

from datetime import datetime

from prefect import task
from prefect.cache_policies import NO_CACHE

from flows.common import Outcome, StageReport, decide, outcome_items, outcomes_of, resolve_actor, session_scope
from flows.params import LOCAL_EVENTS, LocalDecision, LocalDecisions, ReviewRoundParams
from states.queries import held_by


@task(name="forward-ranked", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)
def forward_ranked(unit: str, tier: str, season: str, ranked: list[int], actor: str, at: datetime) -> list[Outcome]:
    """`programmes.recommendation.forward_unless_forwarded`: quota, deadline, one transaction; skipped
    when this unit already recommended every one of them in their current pass."""
    from programmes.recommendation import forward_unless_forwarded

    with session_scope() as session:
        who = resolve_actor(session, actor)
        done = forward_unless_forwarded(session, unit=unit, tier=tier, season=season, ranked=ranked, actor=who, at=at)
    return outcomes_of(done, event="recommend")


def review_round(params: ReviewRoundParams, *, flow_name: str) -> StageReport:
    """Returns and rejections first (they leave the quota), then the ranked forward."""
    at = params.at()
    report, decisions = decide(
        params, LocalDecisions, flow=flow_name, at=at,
        title=f"{params.unit}: {params.tier} applications held for review ({params.season}) — list every "
        "application once; recommended ones in priority order",
        waiting=lambda s: held_by(s, unit=params.unit, tier=params.tier, season=params.season),
        default=lambda i: LocalDecision(application_id=i, decision="recommend"),
        items=lambda decisions: outcome_items(decisions, LOCAL_EVENTS, field="decision"),
    )  # fmt: skip
    ranked = [d.application_id for d in decisions if d.decision == "recommend"]
    report.outcomes.extend(forward_ranked(params.unit, params.tier, params.season, ranked, params.actor, at))
    report.notes.update({"unit": params.unit, "tier": params.tier, "ranked": ranked})
    return report
