"""The demo's summary, computed from the database alone (a test checks it against its own queries)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from models.tables import Application, AuditEvent, Enterprise, OutboxMessage, RecommendationRound
from replay.panels import panel_summary
from states.audit import verify


def applications_by_stage(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(
        select(col(Application.state), col(Application.tier), col(Enterprise.province), func.count())
        .join(Enterprise, col(Enterprise.id) == col(Application.enterprise_id))
        .group_by(col(Application.state), col(Application.tier), col(Enterprise.province))
        .order_by(col(Application.state), col(Application.tier), col(Enterprise.province))
    ).all()
    return [{"state": s, "tier": t, "province": p, "count": n} for s, t, p, n in rows]


# National stages in order, each counted when an application ever entered it (from the audit events).
STAGES = ("submitted", "recommended", "ministry_review", "onsite_verification", "public_notice", "recognised",
          "cultivation_object")  # fmt: skip


def stages_by_recommender(session: Session) -> list[dict[str, Any]]:
    """Per recommending unit (the top of the chain: a province, an SOE group, the XPCC) and tier: how many
    national applications reached each stage."""
    tops = {
        app_id: (chain[-1] if chain else "", tier)
        for app_id, chain, tier in session.execute(
            select(col(Application.id), col(Application.chain), col(Application.tier)).where(
                col(Application.track) == "national"
            )
        )
    }
    reached = session.execute(
        select(col(AuditEvent.application_id), col(AuditEvent.to_state))
        .where(col(AuditEvent.to_state).in_(STAGES))
        .distinct()
    ).all()
    counts: dict[tuple[str, str], Counter[str]] = {}
    for app_id, state in reached:
        if app_id in tops:
            counts.setdefault(tops[app_id], Counter())[state] += 1
    return [{"unit": unit, "tier": tier, **{stage: c[stage] for stage in STAGES}}
            for (unit, tier), c in sorted(counts.items())]  # fmt: skip


def quotas(session: Session) -> list[dict[str, Any]]:
    rounds = session.scalars(
        select(RecommendationRound).order_by(col(RecommendationRound.unit), col(RecommendationRound.tier))
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
            col(OutboxMessage.kind),
            col(OutboxMessage.deadline_on),
            col(OutboxMessage.offset_days),
            col(OutboxMessage.status),
            func.count(),
        )
        .where(col(OutboxMessage.kind) != "transition")
        .group_by(
            col(OutboxMessage.kind),
            col(OutboxMessage.deadline_on),
            col(OutboxMessage.offset_days),
            col(OutboxMessage.status),
        )
        .order_by(col(OutboxMessage.deadline_on), col(OutboxMessage.kind), col(OutboxMessage.offset_days))
    ).all()
    return [
        {"kind": k, "deadline": d.isoformat() if d else None, "offset_days": o, "status": s, "count": n}
        for k, d, o, s, n in rows
    ]


def mail_status(session: Session) -> dict[str, int]:
    rows = session.execute(select(col(OutboxMessage.status), func.count()).group_by(col(OutboxMessage.status))).all()
    return {status: n for status, n in rows}


def summarise(session: Session, *, refusals: Counter[str] | None = None) -> dict[str, Any]:
    report = verify(session)
    return {
        "applications": applications_by_stage(session),
        "stages": stages_by_recommender(session),
        "quotas": quotas(session),
        "reminders": reminders(session),
        "mail": mail_status(session),
        "refusals": dict(sorted((refusals or Counter()).items())),
        "panels": panel_summary(session),
        "audit": {"ok": report.ok, "chains": report.subjects, "events": report.events, "problems": report.problems},
    }
