"""What an enterprise reads about its application, in plain Chinese: the status line ("区经委审核中，截止
7月18日"), the deadline and countdown, the timeline, the reviewer's reason and the reminders it received.
Computed from the season data and the services; no rule of its own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from models.clock import end_of_day, shanghai_text
from models.tables import Application, AuditEvent, Enterprise, OutboxMessage
from programmes.deadlines import effective_deadline
from programmes.season import get_season
from states.audit import history
from states.lifecycle import STATE_LABELS, State, steps_for, table_key
from web import labels

EVENT_LABELS = {"create": "创建申报草稿", "edit_content": "保存申报内容", "attach_file": "上传附件",
                "withdraw": "撤回申报", "resubmit": "修改后重新提交", "submit": "线上申报提交"}  # fmt: skip


@dataclass
class Deadline:
    on: date
    source: str
    what: str


def month_day(day: date) -> str:
    return f"{day.month}月{day.day}日"


def submit_deadline(session: Session, application: Application, enterprise: Enterprise) -> Deadline | None:
    """The unit's online-submission deadline (an extension included)."""
    found = effective_deadline(session, application.season, enterprise.jurisdiction, "submit", application.tier,
                               application.track)  # fmt: skip
    return Deadline(found.on, found.source, found.what) if found else None


def countdown(deadline: date, now: datetime) -> str:
    """"还剩 3 天 5 小时" until the end of the deadline's day (Asia/Shanghai), or "已截止"."""
    left = end_of_day(deadline) - now
    if left.total_seconds() <= 0:
        return "已截止"
    hours = int(left.total_seconds() // 3600)
    return f"还剩 {hours // 24} 天 {hours % 24} 小时"


def _holder_line(session: Session, application: Application) -> str:
    season = get_season(application.season)
    level = application.review_level
    if not 0 <= level < len(application.chain):
        return labels.state_label(application.state, "zh")
    unit = application.chain[level]
    found = effective_deadline(session, season, unit, "recommend", application.tier, application.track)
    name = season.display_name(unit)[0]
    return f"{name}审核中" + (f"，截止 {month_day(found.on)}" if found else "")


def status_line(session: Session, application: Application, enterprise: Enterprise) -> str:
    """The one line an enterprise reads first."""
    state = application.state
    deadline = submit_deadline(session, application, enterprise)
    by = f"（线上申报截止 {month_day(deadline.on)}）" if deadline else ""
    if state == State.DRAFT:
        return f"草稿，尚未提交{by}"
    if state == State.RETURNED:
        return f"已退回修改：请按审核意见修改后重新提交{by}"
    if state in (State.SUBMITTED, State.LOCAL_REVIEW):
        return _holder_line(session, application)
    return STATE_LABELS.get(State(state), state) if state in State.__members__.values() else state


def _event_label(application: Application, enterprise: Enterprise, event: str) -> str:
    if event in EVENT_LABELS:
        return EVENT_LABELS[event]
    key = table_key(application.season, application.track, enterprise.jurisdiction)
    return next((s.label for s in steps_for(key) if s.event == event and s.label), event)


def timeline(session: Session, application: Application, enterprise: Enterprise) -> list[dict[str, Any]]:
    """The application's audit events as sentences, oldest first."""
    rows = []
    for event in history(session, f"application:{application.id}"):
        moved = event.from_state != event.to_state and event.to_state
        rows.append({
            "at": shanghai_text(event.at) if event.at else "",
            "what": _event_label(application, enterprise, event.event),
            "state": labels.state_label(str(event.to_state), "zh") if moved else "",
            "who": event.actor_name, "reason": event.reason,
        })  # fmt: skip
    return rows


def reviewer_reason(session: Session, application: Application) -> str:
    """What the reviewer said when the application was last returned for revision."""
    returned = session.scalars(
        select(AuditEvent).where(col(AuditEvent.subject) == f"application:{application.id}",
                                 col(AuditEvent.to_state) == State.RETURNED).order_by(col(AuditEvent.seq).desc())
    ).first()  # fmt: skip
    return returned.reason if returned is not None and application.state == State.RETURNED else ""


def reminders(session: Session, application_ids: list[int], recipients: set[str]) -> list[OutboxMessage]:
    """The mails about these applications addressed to the enterprise's people, newest first."""
    if not application_ids or not recipients:
        return []
    return list(session.scalars(
        select(OutboxMessage).where(col(OutboxMessage.application_id).in_(application_ids),
                                    col(OutboxMessage.recipient).in_(sorted(recipients)))
        .order_by(col(OutboxMessage.id).desc()).limit(100)
    ))  # fmt: skip
