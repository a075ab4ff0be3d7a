"""Cultivation of leading-tier cultivation objects (培育对象), at most two years (251 §3(二)5).

start       → `start_cultivation` (the period ends two years after the start day) and a scheduled run of
              this deployment the day after it ends, as the system actor, to `expire` what was not
              accepted by then. The flow ends; nothing waits for two years.
checkpoints → `record_checkpoint`, keyed by a checkpoint id (a re-run records nothing twice)
expire      → `expire` by `system@system`; applications accepted (or otherwise closed) meanwhile are skipped
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.common import StageReport, each, fire_all, publish, run_name
from flows.followups import EXPIRABLE, checkpoint_items, schedule_expiry
from flows.params import Checkpoint, CultivationParams

__all__ = ["Checkpoint", "CultivationParams", "cultivation"]


@flow(name="cultivation", flow_run_name=run_name(lambda p: "cultivation"))
def cultivation(params: CultivationParams) -> Any:
    """Start cultivation (and schedule its expiry), record checkpoints, expire what ran out."""
    at = params.at()
    data = {"started_on": params.started_on.isoformat()} if params.started_on else {}
    report = StageReport(flow="cultivation")
    report.outcomes.extend(fire_all(each(params.start, "start_cultivation", data=data), params.actor, at))
    report.outcomes.extend(fire_all(checkpoint_items(params.checkpoints, at), params.actor, at))
    report.outcomes.extend(fire_all(each(params.expire, "expire", only_from=EXPIRABLE), params.actor, at))
    if params.start and params.schedule_expiry:
        report.notes["expiry_runs"] = schedule_expiry(params.start)
    return publish(report, key="cultivation")
