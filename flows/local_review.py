"""Local review round for one recommending unit: its decisions and priority order in, forwarded up.

Returns and rejections go through the one door one by one; the recommended applications go as one ranked
list through `programmes.recommendation.submit_ranked_recommendation`, which checks the unit's quota and
deadline and forwards the list in one transaction (all or nothing).

Decisions come from the parameters, a decisions file (YAML), or — when neither is given — a form in the
Prefect UI (`pause_flow_run(wait_for_input=…)`) listing what the unit holds.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any, Literal

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, Field

from flows.common import (
    DecisionParams,
    EventItem,
    Outcome,
    SeasonParams,
    StageReport,
    already_applied,
    current_season,
    current_state,
    decisions_of,
    publish,
    resolve_actor,
    run_name,
    session_scope,
    stage_report,
)
from models.errors import ReviewError
from programmes.season import get_season
from states.audit import history
from states.queries import held_by


class LocalDecision(BaseModel):
    application_id: int
    decision: Literal["recommend", "return", "reject"] = Field(
        description="recommend (forward up, in the order listed), return (for revision) or reject"
    )
    reason: str = Field(default="", description="Required for return and reject; the applicant reads it.")


class LocalDecisions(BaseModel):
    """A unit's decisions. Recommended applications are ranked in the order listed (first = priority 1)."""

    decisions: list[LocalDecision] = Field(default_factory=list)


class ReviewRoundParams(DecisionParams, SeasonParams):
    unit: str = Field(description="The recommending unit, e.g. sh.qingpu (district) or sh (provincial level).")
    tier: str = Field(description="excellent or leading (national track); basic/advanced on a provincial track.")
    decisions: list[LocalDecision] | None = Field(
        default=None, description="Decisions; recommended ones in priority order. Empty: a decisions file or a form."
    )


EVENTS = {"return": "return_for_revision", "reject": "reject"}


def review_name(params: dict[str, Any]) -> str:
    """"district-review sh.qingpu": the unit's level names the review (city-review, province-review…)."""
    level: str = "local"
    with contextlib.suppress(ReviewError, KeyError):
        level = get_season(params.get("season") or current_season()).unit(params["unit"]).level
    return f"{level}-review {params.get('unit', '')}"


@task(name="forward-ranked", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)
def forward_ranked(unit: str, tier: str, season: str, ranked: list[int], actor: str, at: datetime) -> list[Outcome]:
    """Forward the unit's ranked list (`submit_ranked_recommendation`: quota, deadline, one transaction).

    Skipped when this unit already recommended every one of them in their current pass."""
    from programmes.recommendation import submit_ranked_recommendation

    if not ranked:
        return []
    with session_scope() as session:
        who = resolve_actor(session, actor)
        done: dict[int, str] = {}
        for application_id in ranked:
            events = history(session, f"application:{application_id}")
            if events and already_applied(events, EventItem(application_id=application_id, event="recommend"), who):
                done[application_id] = current_state(events)
        if len(done) == len(ranked):
            return [
                Outcome(
                    application_id=i,
                    event="recommend",
                    result="skipped",
                    from_state=s,
                    to_state=s,
                    message="already forwarded",
                )
                for i, s in done.items()
            ]
        try:
            submit_ranked_recommendation(
                session, unit=unit, tier=tier, ranked_application_ids=ranked, actor=who, at=at, season=season
            )
        except ReviewError as error:
            return [
                Outcome(application_id=i, event="recommend", result="refused", rule=error.rule, message=error.message)
                for i in ranked
            ]
        outcomes = []
        for application_id in ranked:
            events = history(session, f"application:{application_id}")
            outcomes.append(
                Outcome(
                    application_id=application_id, event="recommend", result="applied", to_state=current_state(events)
                )
            )
        return outcomes


def review_round(params: ReviewRoundParams, *, flow_name: str) -> StageReport:
    """Returns and rejections first (they leave the quota), then the ranked forward."""
    at = params.at()
    decisions = decisions_of(
        params, LocalDecisions,
        title=f"{params.unit}: {params.tier} applications held for review ({params.season}) — list every "
        "application once; recommended ones in priority order",
        waiting=lambda s: held_by(s, unit=params.unit, tier=params.tier, season=params.season),
        default=lambda i: LocalDecision(application_id=i, decision="recommend"),
    )  # fmt: skip
    items = [
        EventItem(application_id=d.application_id, event=EVENTS[d.decision], reason=d.reason)
        for d in decisions
        if d.decision != "recommend"
    ]
    report = stage_report(flow_name, items, params, at)
    ranked = [d.application_id for d in decisions if d.decision == "recommend"]
    report.outcomes.extend(forward_ranked(params.unit, params.tier, params.season, ranked, params.actor, at))
    report.notes.update({"unit": params.unit, "tier": params.tier, "ranked": ranked})
    return report


@flow(name="local-review", flow_run_name=run_name(review_name))
def local_review(params: ReviewRoundParams) -> Any:
    """One recommending unit's review round: return, reject, and forward the rest in priority order."""
    return publish(review_round(params, flow_name="local-review"), key=f"local-review-{_slug(params.unit)}")


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower())
