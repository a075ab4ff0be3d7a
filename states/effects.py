"""What a step implies beyond the state, by name: a lifecycle row lists its effects (`Step.effects`),
and a season's own tables name them the same way. Each effect changes only the application row."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from models.clock import local_date, to_utc
from models.tables import Application
from states.audit import content_digest
from states.guards import GuardContext

Effect = Callable[[Application, GuardContext], None]


def _freeze_content(application: Application, ctx: GuardContext) -> None:
    """The paper copy must equal the online one (251 §2(二)3): freeze the content at submission."""
    application.content_sha256 = content_digest(application.content)
    application.submitted_at = to_utc(ctx.at)
    application.review_level = 0
    application.ranks = {}


def _next_level(application: Application, ctx: GuardContext) -> None:
    """Forwarded up the chain: the next unit holds it."""
    application.review_level += 1


def _objection_opened(application: Application, ctx: GuardContext) -> None:
    application.open_objections += 1


def _objection_closed(application: Application, ctx: GuardContext) -> None:
    application.open_objections -= 1


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _start_cultivation(application: Application, ctx: GuardContext) -> None:
    """251 §3(二)5: 培育期不超过2年 — the period ends two years after the start."""
    start = ctx.data.get("started_on")
    start_day = date.fromisoformat(start) if start else local_date(ctx.at)
    application.cultivation_ends_on = _add_years(start_day, 2)
    application.milestones = {
        **application.milestones,
        "cultivation_started_on": start_day.isoformat(),
        "cultivation_ends_on": application.cultivation_ends_on.isoformat(),
    }


def _record_notice(application: Application, ctx: GuardContext) -> None:
    """The public notice's dates (and id) from the decision's data become milestones."""
    keys = ("notice_opens_on", "notice_closes_on", "notice_id")
    application.milestones = {**application.milestones, **{k: ctx.data[k] for k in keys if k in ctx.data}}


EFFECTS: dict[str, Effect] = {
    "freeze_content": _freeze_content,
    "next_level": _next_level,
    "objection_opened": _objection_opened,
    "objection_closed": _objection_closed,
    "start_cultivation": _start_cultivation,
    "record_notice": _record_notice,
}


def apply_effects(application: Application, effects: tuple[str, ...], ctx: GuardContext) -> None:
    """Run the row's effects in order; a `milestone` mapping in the data is always recorded."""
    for name in effects:
        EFFECTS[name](application, ctx)
    if "milestone" in ctx.data:
        application.milestones = {**application.milestones, **dict(ctx.data["milestone"])}
