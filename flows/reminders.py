"""The daily deadline-reminder sweep (08:00 Asia/Shanghai, see prefect.yaml), then the outbox send.

`notifications.reminders.sweep` queues reminders for whoever still has an action outstanding; each outbox
row has a unique dedupe key, so a second sweep on the same day queues nothing. `send_pending` delivers
what is due (claim, send, mark sent), so a re-run sends nothing twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from pydantic import Field

from flows.common import StageParams, logger, run_name
from models.database import get_engine, session_scope


class ReminderParams(StageParams):
    actor: str = Field(default="system@system", pattern=r"^[a-z_]+@\S+$", description="The scheduler.")
    season: str | None = Field(default=None, description="Season to sweep. Empty: FACTORY_REVIEW_SEASON.")
    send: bool = Field(default=True, description="Send the due outbox mail after the sweep.")


def _plain(value: Any) -> Any:
    """A service report as plain JSON data (the run's result and log line)."""
    import json
    from dataclasses import asdict, is_dataclass

    if hasattr(value, "as_dict"):
        value = value.as_dict()
    elif is_dataclass(value) and not isinstance(value, type):
        value = asdict(value)
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))


@task(name="sweep-reminders", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def sweep_reminders(at: datetime, season: str | None = None) -> Any:
    """`notifications.reminders.sweep`: queue the reminders due today (deduplicated)."""
    from notifications.reminders import sweep
    from programmes.season import get_season

    with session_scope() as session:
        return _plain(sweep(session, now=at, season=get_season(season) if season else None))


@task(name="send-outbox", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=30)
def send_outbox(at: datetime) -> Any:
    """`notifications.sender.send_pending`: deliver the due outbox rows exactly once."""
    from notifications.sender import send_pending

    return _plain(send_pending(get_engine(), now=at))


@flow(name="reminder-sweep", flow_run_name=run_name(lambda p: "reminder-sweep"))
def reminder_sweep(params: ReminderParams | None = None) -> dict[str, Any]:
    """Queue today's reminders, then send the outbox."""
    params = params or ReminderParams()
    at = params.at()
    swept = sweep_reminders(at, params.season)
    sent = send_outbox(at) if params.send else None
    logger().info("reminders: %s; outbox: %s", swept, sent)
    return {"swept": swept, "sent": sent}
