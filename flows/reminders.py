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

from flows.common import logger, plain, run_name
from flows.params import ReminderParams
from models.database import get_engine, session_scope

__all__ = ["ReminderParams", "reminder_sweep"]


@task(name="sweep-reminders", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def sweep_reminders(at: datetime, season: str | None = None) -> Any:
    """`notifications.reminders.sweep`: queue the reminders due today (deduplicated)."""
    from notifications.reminders import sweep
    from programmes.season import get_season

    with session_scope() as session:
        return plain(sweep(session, now=at, season=get_season(season) if season else None))


@task(name="send-outbox", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=30)
def send_outbox(at: datetime) -> Any:
    """`notifications.sender.send_pending`: deliver the due outbox rows exactly once."""
    from notifications.sender import send_pending

    return plain(send_pending(get_engine(), now=at))


@flow(name="reminder-sweep", flow_run_name=run_name(lambda p: "reminder-sweep"))
def reminder_sweep(params: ReminderParams | None = None) -> dict[str, Any]:
    """Queue today's reminders, then send the outbox."""
    params = params or ReminderParams()
    at = params.at()
    swept = sweep_reminders(at, params.season)
    sent = send_outbox(at) if params.send else None
    logger().info("reminders: %s; outbox: %s", swept, sent)
    return {"swept": swept, "sent": sent}
