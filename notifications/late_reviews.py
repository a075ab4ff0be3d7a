"""Late expert reviews, reminded like any other deadline (issue 19): the review's due day is its deadline.

    messages = late_review_mail(session, season=season, policy=policy, now=now, mode="due")

Which reviews are late is the service's (`programmes.reviews.late_reviews`: assigned, past the due day);
when and to whom is `kinds.yaml` (`when: review`, `to: [reviewer]`, `after_days`, `catch_up`); the reminder
days are computed as for any deadline (`notifications.reminders.due_offsets`). The outbox key names the
review and its reminder day, so each is queued once whatever the number of sweeps; a review submitted
meanwhile is no longer late and gets no further reminder.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlmodel import Session

from models.clock import local_date
from models.enums import TIER_LABELS
from models.tables import Application, Enterprise, Expert, Panel, ReviewAssignment
from notifications import facts, recipients
from notifications.kinds import Kind, Policy
from notifications.outbox import Outgoing

Mode = Literal["due", "on_day"]


def late_review_mail(session: Session, *, season: Any, policy: Policy, now: datetime, mode: Mode) -> list[Outgoing]:
    """The reminders of late reviews due at `now` (mode "due": caught up as the kind says) or falling on
    `now`'s day (mode "on_day", for a plan), not yet queued or queued: the outbox skips known keys."""
    from notifications.reminders import due_offsets
    from programmes.reviews import late_reviews

    kinds = policy.review_reminders()
    if not kinds:
        return []
    out: list[Outgoing] = []
    for assignment, expert in late_reviews(session, on=local_date(now), season=season.name):
        assert assignment.due_on is not None  # late_reviews compares it
        for rule in kinds:
            for offset in due_offsets(rule, policy, assignment.due_on, now, mode):
                out += _mail(session, rule, policy, season, assignment, expert, offset, local_date(now))
    return out


def _mail(session: Session, rule: Kind, policy: Policy, season: Any, assignment: ReviewAssignment, expert: Expert,
          offset: int, today: date) -> list[Outgoing]:  # fmt: skip
    from programmes.panels import STAGE_LABELS, rule_of

    panel = session.get(Panel, assignment.panel_id)
    application = session.get(Application, assignment.application_id)
    enterprise = session.get(Enterprise, application.enterprise_id) if application else None
    assert panel is not None and application is not None and enterprise is not None
    due_on = assignment.due_on or today
    reminder_day = due_on - timedelta(days=offset)
    source = rule_of(panel, season).source
    common = facts.common(season, panel.organiser, panel.track, source)
    context = {
        "review_id": assignment.id,
        "application_id": application.id,
        "title": application.title,
        "enterprise_name": enterprise.name,
        "tier": application.tier,
        "tier_label": TIER_LABELS.get(application.tier, application.tier),  # type: ignore[call-overload]
        "stage": panel.stage,
        "stage_label": STAGE_LABELS.get(panel.stage, panel.stage),
        "panel": panel.name,
        "deadline": due_on.isoformat(),
        "days_overdue": max(1, (max(today, reminder_day) - due_on).days),
        "review_url": f"{common['platform_url']}/reviews/{assignment.id}",
        "source": source,
        **common,
        "template": rule.template_name,
    }
    return [
        Outgoing(kind=rule.kind, recipient=to.email, recipient_name=to.name, context=context,
                 dedupe_key=rule.key_for(review_id=assignment.id, deadline=due_on.isoformat(), offset=offset,
                                         email=to.email),
                 application_id=application.id, deadline_on=due_on, offset_days=offset,
                 send_at=policy.send_instant(reminder_day))
        for to in (recipients.reviewer(expert) if "reviewer" in rule.to else [])
    ]  # fmt: skip
