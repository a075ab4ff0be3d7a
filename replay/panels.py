"""The demo's expert panels: a pool of experts from several provinces, a panel per stage and tier, conflict-free
assignment, and independent scores drawn from the seed, so the leading tier's decisions rest on panels of
three (251 §3(二)4-5) and the summary can show their results. Panel work is not a flow stage: it goes
straight through programmes.panels / programmes.reviews in both backends; the decision then goes through
the backend (a flow, or the door).
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from models.enums import MINISTRY_UNIT, Role
from models.tables import Actor, Application, Panel, ReviewAssignment
from programmes.panels import add_expert, add_members, auto_assign, create_panel
from programmes.reviews import submit_review, weighted_score
from programmes.season import get_season

# Provinces of the pool: enough outside each applicant's province for conflict-free panels of three.
POOL = ("bj", "gd", "js", "zj", "hb", "sh", "sc", "tj", "sd", "ah", "hn", "fj")
ORGANISER = Actor(
    name="工信部装备工业一司", email="secretariat@miit.example.cn", role=Role.MINISTRY_OFFICER, unit=MINISTRY_UNIT
)


class DemoPanels:
    def __init__(self, engine: Engine, seed: int, season: str = "2025") -> None:
        self.engine, self.season, self.rng = engine, season, random.Random(seed * 7919)
        self.experts: dict[int, Actor] = {}

    def _pool(self, session: Session, when: datetime) -> list[int]:
        if not self.experts:
            for i, province in enumerate(POOL * 2, start=1):
                data = {
                    "name": f"专家{i:02d}",
                    "email": f"expert{i:02d}@experts.example.cn",
                    "province": province,
                    "employer": f"{province.upper()} 智能制造研究院 {i}",
                }
                expert = add_expert(session, data=data, actor=ORGANISER, at=when)
                self.experts[expert.id or 0] = Actor(
                    name=expert.name, email=expert.email, role=Role.EXPERT, unit=expert.email
                )
        return sorted(self.experts)

    def run(self, stage: str, tier: str, application_ids: list[int], when: datetime, *, weak: set[int]) -> None:
        """A panel for `stage` reviews the applications a day before the decision; `weak` ones score low."""
        rule = get_season(self.season).panel_rule(stage=stage, tier=tier, track="national")
        if rule is None or not application_ids:
            return
        review_day = when - timedelta(days=1)
        with Session(self.engine, expire_on_commit=False) as session:
            pool = self._pool(session, review_day)
            panel = create_panel(
                session,
                season=self.season,
                stage=stage,
                tier=tier,
                actor=ORGANISER,
                name=f"{tier} {stage} {review_day.date().isoformat()}",
                at=review_day,
            )
            add_members(session, panel_id=panel.id or 0, expert_ids=pool, actor=ORGANISER, at=review_day)
            made = auto_assign(
                session, panel_id=panel.id or 0, actor=ORGANISER, at=review_day, application_ids=application_ids
            )
            for assignment in made:
                self._review(session, rule, assignment, review_day, weak=assignment.application_id in weak)

    def _review(self, session: Session, rule: Any, assignment: ReviewAssignment, when: datetime, *, weak: bool) -> None:
        low, high = (40, 70) if weak else (72, 95)
        scores = {c.key: self.rng.randint(low, high) for c in rule.criteria}
        findings = [
            {"item": c.key, "passed": not weak or self.rng.random() > 0.5, "finding": "现场核查记录"}
            for c in rule.checklist
        ]
        submit_review(
            session,
            assignment_id=assignment.id or 0,
            actor=self.experts[assignment.expert_id],
            at=when,
            scores=scores,
            findings=findings,
            recommendation="fail" if weak else "pass",
            comments="评审意见（演示）",
        )


def panel_summary(session: Session) -> list[dict[str, Any]]:
    """Per season, stage and tier: panels, applications reviewed, reviews, mean weighted score, outcomes."""
    rows = []
    groups = session.execute(
        select(col(Panel.season), col(Panel.stage), col(Panel.tier), func.count())
        .group_by(col(Panel.season), col(Panel.stage), col(Panel.tier))
        .order_by(col(Panel.season), col(Panel.stage), col(Panel.tier))
    ).all()
    for season, stage, tier, panels in groups:
        rule = get_season(season).panel_rule(stage=stage, tier=tier, track="national")
        reviews = list(
            session.scalars(
                select(ReviewAssignment)
                .join(Panel, col(Panel.id) == col(ReviewAssignment.panel_id))
                .where(col(Panel.season) == season, col(Panel.stage) == stage, col(Panel.tier) == tier)
            )
        )
        weighted = [weighted_score(rule, r.scores) for r in reviews if r.scores and rule and rule.criteria]
        per_app = Counter(r.application_id for r in reviews)
        rows.append(
            {
                "stage": stage,
                "tier": tier,
                "panels": panels,
                "applications": len(per_app),
                "reviews": len(reviews),
                "reviewers_per_application": max(per_app.values(), default=0),
                "mean_score": round(sum(weighted) / len(weighted), 1) if weighted else None,
                "recommendations": dict(sorted(Counter(r.recommendation or "pending" for r in reviews).items())),
            }
        )
    return rows


def leading_ids(engine: Engine, state: str) -> list[int]:
    with Session(engine) as session:
        query = select(col(Application.id)).where(col(Application.state) == state, col(Application.tier) == "leading")
        return [a for a in session.scalars(query) if a is not None]
