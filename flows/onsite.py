"""On-site verification (现场核查): record each visit's outcome (251 §2(二)4, §3(二)4).

pass, leading   → `pass_verification`: published as a cultivation object (培育对象)
pass, excellent → `pass_verification` with the public notice window (核查通过，公示); the notice's closing
                  run is scheduled (flows.public_notice)
fail            → `reject` with the reason
The visit day is kept as a milestone (`onsite_verified_on`).
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.common import decide, publish, run_name
from flows.followups import closing_days, excellent, schedule_closing, visit_items
from flows.params import OnsiteParams, Visit, Visits
from states.lifecycle import State
from states.queries import in_states

__all__ = ["OnsiteParams", "Visit", "Visits", "onsite_verification"]


@flow(name="onsite-verification", flow_run_name=run_name(lambda p: f"onsite-verification {p['tier']} {p['season']}"))
def onsite_verification(params: OnsiteParams) -> Any:
    """Record the on-site verification outcomes; excellent passes open the public notice."""
    at = params.at()
    report, visits = decide(
        params, Visits, flow="onsite-verification", at=at,
        title=f"On-site verification: {params.tier} ({params.season})",
        waiting=lambda s: in_states(s, [State.ONSITE_VERIFICATION], tier=params.tier, season=params.season),
        default=lambda i: Visit(application_id=i, outcome="pass"),
        items=lambda visits: visit_items(visits, params.notice, at),
    )  # fmt: skip
    # The closing run follows the notice as stored (a re-run at another instant schedules the same run).
    by_close = closing_days(excellent([v.application_id for v in visits]))
    report.notes["notice"] = {d.isoformat(): ids for d, ids in by_close.items()}
    if by_close and params.schedule_close:
        report.notes["closing_runs"] = schedule_closing(params.actor, by_close)
    return publish(report, key="onsite-verification")
