"""Late expert reviews are reminded like any other deadline (issue 19, kinds.yaml `reminder_review`): from
09:00 on the 1st, 3rd and 7th day after the due day, to the expert, once per review and reminder day, never
after the review is in; delivered through the outbox to a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time
from email import message_from_bytes
from email.policy import default as default_policy

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.clock import SHANGHAI
from models.tables import Expert, OutboxMessage, ReviewAssignment
from notifications.reminders import plan, sweep
from notifications.sender import send_pending
from programmes.panels import add_members, auto_assign, create_panel
from programmes.reviews import submit_review
from programmes.season import get_season
from tests import factories as f
from tests.smtp_sink import SmtpSink

SEASON = get_season("2025")
ASSIGNED = f.at("2025-08-10")  # material review: 10 days, due 2025-08-20


def at(day: str, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(date.fromisoformat(day), time(hour, minute), SHANGHAI)


def review_mail(engine: Engine) -> list[OutboxMessage]:
    with Session(engine) as session:
        query = select(OutboxMessage).where(OutboxMessage.kind == "reminder_review").order_by(OutboxMessage.id)  # type: ignore[arg-type]
        return list(session.scalars(query))


def test_late_reviews_are_reminded_once_per_review_and_reminder_day_and_delivered(
    session: Session, engine: Engine
) -> None:
    application = f.application(session, "ministry_review", tier="leading")
    panel = create_panel(session, season="2025", stage="material_review", tier="leading", name="材料评审第一组",
                         actor=f.ministry(session), at=ASSIGNED)  # fmt: skip
    experts = [f.expert(session, p) for p in ("bj", "gd", "js")]
    ids = list(session.scalars(select(Expert.id).where(Expert.email.in_([e.email for e in experts]))))  # type: ignore[call-overload,union-attr]
    add_members(session, panel_id=panel.id or 0, expert_ids=ids, actor=f.ministry(session), at=ASSIGNED)
    reviews = auto_assign(session, panel_id=panel.id or 0, actor=f.ministry(session), at=ASSIGNED)
    by_email = {session.get(Expert, r.expert_id).email: r for r in reviews}  # type: ignore[union-attr]
    rule = SEASON.panel_rule(stage="material_review", tier="leading", track="national")
    submit_review(session, assignment_id=by_email[experts[0].email].id or 0, actor=experts[0], at=ASSIGNED,
                  **f.passing_review(rule))  # fmt: skip

    planned = plan(session, start=date(2025, 8, 19), end=date(2025, 8, 28), season=SEASON)
    assert Counter((p.send_at.date().isoformat(), p.kind) for p in planned if p.kind == "reminder_review") == {
        ("2025-08-21", "reminder_review"): 2, ("2025-08-23", "reminder_review"): 2, ("2025-08-27", "reminder_review"): 2
    }  # fmt: skip
    for moment in (at("2025-08-20", 9), at("2025-08-21", 8, 59)):  # the due day itself; before 09:00
        assert sweep(session, now=moment, season=SEASON).by_kind["reminder_review"] == 0
    assert sweep(session, now=at("2025-08-21", 9), season=SEASON).by_kind["reminder_review"] == 2
    assert sweep(session, now=at("2025-08-21", 15), season=SEASON).queued == 0  # the same day: nothing more
    assert sweep(session, now=at("2025-08-22", 9), season=SEASON).by_kind["reminder_review"] == 0
    assert sweep(session, now=at("2025-08-23", 9), season=SEASON).by_kind["reminder_review"] == 2
    submit_review(session, assignment_id=by_email[experts[1].email].id or 0, actor=experts[1],
                  at=at("2025-08-24", 10), **f.passing_review(rule))  # fmt: skip
    assert sweep(session, now=at("2025-08-27", 9), season=SEASON).by_kind["reminder_review"] == 1
    assert sweep(session, now=at("2025-09-30", 9), season=SEASON).queued == 0  # no day after the 7th

    queued = Counter((m.recipient, m.offset_days) for m in review_mail(engine))
    late, submitted_late = experts[2].email, experts[1].email
    assert queued == {(late, -1): 1, (late, -3): 1, (late, -7): 1, (submitted_late, -1): 1, (submitted_late, -3): 1}
    with SmtpSink() as sink:
        report = send_pending(engine, transport=sink.transport(), now=at("2025-08-27", 10))
        received = list(sink.received)
    assert report.sent >= 5 and sink.message_ids()
    to_experts = [r for r in received if set(r.rcpt_tos) & {late, submitted_late}]
    assert len(to_experts) == 5
    mail = message_from_bytes(to_experts[-1].content, policy=default_policy)
    body = mail.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    review = session.get(ReviewAssignment, by_email[late].id)
    assert "评审逾期提示" in mail["Subject"] and "2025-08-20" in mail["Subject"]
    assert f"/reviews/{review.id}" in body and "材料评审" in body and "已逾期 7 天" in body  # type: ignore[union-attr]
    assert body.index("您好") < body.index("Dear") and str(application.id) in body
