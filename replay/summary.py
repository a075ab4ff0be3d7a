"""The demo's summary, computed from the database alone (a test checks it against its own queries)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from models.tables import Application, Enterprise, OutboxMessage, RecommendationRound
from replay.panels import panel_summary
from states.audit import verify


def applications_by_stage(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Application.state, Application.tier, Enterprise.province, func.count())
        .join(Enterprise, Enterprise.id == Application.enterprise_id)  # type: ignore[arg-type]
        .group_by(Application.state, Application.tier, Enterprise.province)
        .order_by(Application.state, Application.tier, Enterprise.province)
    ).all()
    return [{"state": s, "tier": t, "province": p, "count": n} for s, t, p, n in rows]


def quotas(session: Session) -> list[dict[str, Any]]:
    rounds = session.scalars(
        select(RecommendationRound).order_by(RecommendationRound.unit, RecommendationRound.tier)
    ).all()
    return [
        {
            "unit": r.unit,
            "tier": r.tier,
            "recommended": len(r.ranked_application_ids),
            "counted_against_quota": r.counted_against_quota,
            "quota": r.quota,
        }
        for r in rounds
    ]


def reminders(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(
        select(
            OutboxMessage.kind, OutboxMessage.deadline_on, OutboxMessage.offset_days, OutboxMessage.status, func.count()
        )
        .where(OutboxMessage.kind != "transition")
        .group_by(OutboxMessage.kind, OutboxMessage.deadline_on, OutboxMessage.offset_days, OutboxMessage.status)
        .order_by(OutboxMessage.deadline_on, OutboxMessage.kind, OutboxMessage.offset_days)
    ).all()
    return [
        {"kind": k, "deadline": d.isoformat() if d else None, "offset_days": o, "status": s, "count": n}
        for k, d, o, s, n in rows
    ]


def mail_status(session: Session) -> dict[str, int]:
    rows = session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()
    return {status: n for status, n in rows}


def summarise(session: Session, *, refusals: Counter[str] | None = None) -> dict[str, Any]:
    report = verify(session)
    return {
        "applications": applications_by_stage(session),
        "quotas": quotas(session),
        "reminders": reminders(session),
        "mail": mail_status(session),
        "refusals": dict(sorted((refusals or Counter()).items())),
        "panels": panel_summary(session),
        "audit": {"ok": report.ok, "chains": report.subjects, "events": report.events, "problems": report.problems},
    }
