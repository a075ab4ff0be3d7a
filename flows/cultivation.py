"""Cultivation of leading-tier cultivation objects (培育对象), at most two years (251 §3(二)5).

start       → `start_cultivation` (the period ends two years after the start day) and a scheduled run of
              this deployment the day after it ends, as the system actor, to `expire` what was not
              accepted by then. The flow ends; nothing waits for two years.
checkpoints → `record_checkpoint`, keyed by a checkpoint id (a re-run records nothing twice)
expire      → `expire` by `system@system`; applications accepted (or otherwise closed) meanwhile are skipped
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from prefect import flow
from pydantic import BaseModel, Field

from flows.common import (
    EventItem,
    StageParams,
    StageReport,
    each,
    fire_all,
    publish,
    run_name,
    schedule_per_day,
    session_scope,
)
from models.clock import SHANGHAI
from states.lifecycle import State
from states.queries import applications

DEPLOYMENT = "cultivation/cultivation"
SYSTEM = "system@system"
EXPIRABLE = [State.CULTIVATION_OBJECT, State.IN_CULTIVATION, State.ACCEPTANCE_REQUESTED]


class Checkpoint(BaseModel):
    application_id: int
    checkpoint_id: str = Field(min_length=1, description="e.g. 2026-H1; a checkpoint is recorded once.")
    on: date | None = Field(default=None, description="Day of the check.")
    note: str = Field(default="", description="The expert committee's guidance or findings.")


class CultivationParams(StageParams):
    start: list[int] = Field(default_factory=list, description="Cultivation objects whose cultivation starts.")
    started_on: date | None = Field(default=None, description="Start day (default: today, Asia/Shanghai).")
    checkpoints: list[Checkpoint] = Field(default_factory=list)
    expire: list[int] = Field(default_factory=list, description="Set by the scheduled expiry run.")
    schedule_expiry: bool = Field(default=True, description="Schedule the expiry run when starting.")


def expiry_run_at(ends_on: date) -> datetime:
    """01:00 Asia/Shanghai the day after the period's last day."""
    return datetime.combine(ends_on + timedelta(days=1), time(1, 0), SHANGHAI)


def schedule_expiry(by_end: dict[date, list[int]]) -> dict[str, str | None]:
    """One expiry run per end day; the idempotency key makes a re-run find the run already scheduled."""
    return schedule_per_day(DEPLOYMENT, by_end, key_prefix="cultivation-expiry", run_at=expiry_run_at,
                            parameters_for=lambda ids: {"params": {"actor": SYSTEM, "expire": ids}})


@flow(name="cultivation", flow_run_name=run_name(lambda p: "cultivation"))
def cultivation(params: CultivationParams) -> Any:
    """Start cultivation (and schedule its expiry), record checkpoints, expire what ran out."""
    at = params.at()
    data = {"started_on": params.started_on.isoformat()} if params.started_on else {}
    report = StageReport(flow="cultivation")
    report.outcomes.extend(fire_all(each(params.start, "start_cultivation", data=data), params.actor, at))
    checkpoints = [
        EventItem(
            application_id=c.application_id,
            event="record_checkpoint",
            key=c.checkpoint_id,
            reason=c.note,
            data={"milestone": {f"checkpoint {c.checkpoint_id}": (c.on or at.astimezone(SHANGHAI).date()).isoformat()}},
        )
        for c in params.checkpoints
    ]
    report.outcomes.extend(fire_all(checkpoints, params.actor, at))
    report.outcomes.extend(fire_all(each(params.expire, "expire", only_from=EXPIRABLE), params.actor, at))
    if params.start and params.schedule_expiry:
        with session_scope() as session:
            ends = {
                i: a.cultivation_ends_on
                for i, a in applications(session, params.start).items()
                if a.cultivation_ends_on and a.state in EXPIRABLE
            }
        by_end: dict[date, list[int]] = {}
        for i, ends_on in ends.items():
            by_end.setdefault(ends_on, []).append(i)
        report.notes["expiry_runs"] = schedule_expiry(by_end)
    return publish(report, key="cultivation")
