"""Independent reviews and the panel's result.

A reviewer sees neither the others' scores nor their names until they have submitted their own (blind until
submitted, as HotCRP does). The panel's result — weighted scores, mean, median, spread with dispersion
flagged, the count of recommendations, on-site items failed — is what the deciding unit relies on: the
`panel_concluded` guard refuses a decision on a stage with a panel until every review is in, and the
`panel_result` evidence puts the result, with its digest, into the decision's audit event.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from models.clock import to_utc
from models.enums import Role
from models.errors import InvalidInput, NotAuthorised, NotFound, TransitionRefused
from models.tables import Actor, Application, Expert, Panel, ReviewAssignment
from programmes.panels import rule_of
from programmes.season import PanelRule, get_season
from states.audit import append_event, content_digest
from states.guards import Evidence, Guard, GuardContext

RECOMMENDATIONS = ("pass", "fail", "return")
READERS = frozenset({Role.MINISTRY_OFFICER, Role.LOCAL_OFFICER, Role.ADMIN, Role.AUDITOR})


def _expert_of(session: Session, actor: Actor) -> Expert | None:
    if actor.role != Role.EXPERT or not actor.email:
        return None
    return session.scalars(select(Expert).where(col(Expert.email) == actor.email.strip().lower())).first()


def _check_form(rule: PanelRule, scores: dict[str, Any], findings: list[dict[str, Any]], recommendation: str) -> None:
    """Every criterion scored 0-100 and nothing else; every checklist item passed or failed; a known outcome."""
    wanted = {c.key for c in rule.criteria}
    if set(scores) != wanted:
        missing, extra = sorted(wanted - set(scores)), sorted(set(scores) - wanted)
        raise InvalidInput(
            f"scores: missing {missing or '-'}, unknown {extra or '-'}", rule="review-form", source=rule.source
        )
    for key, value in scores.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
            raise InvalidInput(f"scores.{key}: a number from 0 to 100", rule="review-form", source=rule.source)
    items = {c.key for c in rule.checklist}
    seen = {f.get("item") for f in findings}
    if seen != items or any(not isinstance(f.get("passed"), bool) for f in findings):
        raise InvalidInput(
            f"findings: each of {sorted(items)} once, with passed true/false", rule="review-form", source=rule.source
        )
    if recommendation not in RECOMMENDATIONS:
        raise InvalidInput(f"recommendation: one of {', '.join(RECOMMENDATIONS)}", rule="review-form")


def submit_review(
    session: Session,
    *,
    assignment_id: int,
    actor: Actor,
    at: datetime,
    scores: dict[str, Any],
    recommendation: str,
    comments: str = "",
    findings: list[dict[str, Any]] | None = None,
) -> ReviewAssignment:
    """The assigned expert submits their review once; it cannot change afterwards. Audited on the panel."""
    assignment = session.get(ReviewAssignment, assignment_id)
    if assignment is None:
        raise NotFound(f"review {assignment_id} does not exist", rule="not-found")
    expert = _expert_of(session, actor)
    if expert is None or expert.id != assignment.expert_id:
        raise NotAuthorised(f"{actor.role}@{actor.unit} is not the reviewer of review {assignment_id}", rule="reviewer")
    if assignment.status == "submitted":
        raise TransitionRefused(f"review {assignment_id} was submitted already; it cannot change", rule="review-final")
    panel = session.get(Panel, assignment.panel_id)
    assert panel is not None
    rule = rule_of(panel)
    findings = findings or []
    _check_form(rule, scores, findings, recommendation)
    assignment.scores, assignment.findings = dict(scores), list(findings)
    assignment.recommendation, assignment.comments = recommendation, comments
    assignment.status, assignment.submitted_at = "submitted", to_utc(at)
    append_event(
        session,
        subject=f"panel:{panel.id}",
        actor=actor,
        event="submit_review",
        at=at,
        data={
            "review_id": assignment_id,
            "application_id": assignment.application_id,
            "review_sha256": content_digest(
                {"scores": scores, "findings": findings, "recommendation": recommendation, "comments": comments}
            ),
        },
    )
    session.commit()
    return assignment


def _assignments(session: Session, application_id: int, stage: str) -> list[tuple[ReviewAssignment, Panel, Expert]]:
    rows = session.execute(
        select(ReviewAssignment, Panel, Expert)
        .join(Panel, col(Panel.id) == col(ReviewAssignment.panel_id))
        .join(Expert, col(Expert.id) == col(ReviewAssignment.expert_id))
        .where(col(ReviewAssignment.application_id) == application_id, col(Panel.stage) == stage)
        .order_by(col(ReviewAssignment.id))
    ).all()
    return [(a, p, e) for a, p, e in rows]


def visible_reviews(session: Session, *, application_id: int, stage: str, viewer: Actor) -> list[dict[str, Any]]:
    """What `viewer` may read: an expert only their own review until they submitted it; deciders and auditors
    everything; anybody else nothing (NotAuthorised)."""
    rows = _assignments(session, application_id, stage)
    me = _expert_of(session, viewer)
    mine = [a for a, _p, e in rows if me is not None and e.id == me.id]
    if me is not None and mine:
        opened = all(a.status == "submitted" for a in mine)
        return [_shown(a, e) for a, _p, e in rows if e.id == me.id or (opened and a.status == "submitted")]
    if viewer.role in READERS and me is None:
        return [_shown(a, e) for a, _p, e in rows]
    raise NotAuthorised(
        f"{viewer.role}@{viewer.unit} may not read the reviews of application {application_id}",
        rule="review-visibility",
        source="blind until submitted (HotCRP); issue 19",
    )


def _shown(a: ReviewAssignment, e: Expert) -> dict[str, Any]:
    return {
        "review_id": a.id,
        "expert": e.name,
        "status": a.status,
        "scores": a.scores,
        "findings": a.findings,
        "recommendation": a.recommendation,
        "comments": a.comments,
        "due_on": a.due_on.isoformat() if a.due_on else None,
        "override_reason": a.override_reason,
    }


@dataclass
class PanelResult:
    application_id: int
    stage: str
    expected: int
    submitted: int
    scores: list[float] = field(default_factory=list)  # weighted 0-100, one per submitted review
    mean: float | None = None
    median: float | None = None
    spread: float | None = None
    dispersed: bool = False
    recommendations: dict[str, int] = field(default_factory=dict)
    items_failed: dict[str, int] = field(default_factory=dict)  # on-site: check item → reviewers who failed it

    @property
    def concluded(self) -> bool:
        return self.expected > 0 and self.submitted >= self.expected

    def as_dict(self) -> dict[str, Any]:
        body = asdict(self)
        return {**body, "digest": content_digest(body)}


def weighted_score(rule: PanelRule, scores: dict[str, Any]) -> float:
    """One review's score: the criteria's 0-100 scores weighted as the season says."""
    total = sum(c.weight for c in rule.criteria)
    return round(sum(float(scores[c.key]) * c.weight for c in rule.criteria) / total, 2)


def panel_result(session: Session, *, application_id: int, stage: str) -> PanelResult:
    """Aggregate the submitted reviews of one application's stage (mean/median, spread, recommendations)."""
    rows = _assignments(session, application_id, stage)
    application = session.get(Application, application_id)
    if application is None:
        raise NotFound(f"application {application_id} does not exist", rule="not-found")
    rule = get_season(application.season).panel_rule(stage=stage, tier=application.tier, track=application.track)
    done = [a for a, _p, _e in rows if a.status == "submitted"]
    result = PanelResult(
        application_id, stage, expected=max(len(rows), rule.reviewers if rule and rows else 0), submitted=len(done)
    )
    result.recommendations = dict(sorted(Counter(a.recommendation for a in done).items()))
    result.items_failed = dict(
        sorted(Counter(f["item"] for a in done for f in a.findings if not f.get("passed")).items())
    )
    if rule and rule.criteria and done:
        result.scores = [weighted_score(rule, a.scores) for a in done]
        result.mean = round(statistics.fmean(result.scores), 2)
        result.median = round(statistics.median(result.scores), 2)
        result.spread = round(max(result.scores) - min(result.scores), 2)
        result.dispersed = result.spread > rule.dispersion
    return result


def _stage_rule(ctx: GuardContext) -> PanelRule | None:
    app = ctx.application
    rule = get_season(app.season).panel_rule(state=app.state, tier=app.tier, track=app.track)
    return rule if rule is not None and ctx.step.event in rule.decides else None


def _panel_concluded(ctx: GuardContext) -> None:
    """A decision on a stage the season reviews by panel waits until every assigned review is in."""
    rule = _stage_rule(ctx)
    if rule is None:
        return
    result = panel_result(ctx.session, application_id=ctx.application.id or 0, stage=rule.stage)
    if result.expected == 0 and not rule.required:
        return
    if not result.concluded:
        raise TransitionRefused(
            f"the {rule.stage.replace('_', ' ')} panel has not concluded on application {ctx.application.id}: "
            f"{result.submitted} of {result.expected or rule.reviewers} reviews in",
            rule="panel-concluded",
            source=rule.source,
        )


def _panel_evidence(ctx: GuardContext) -> dict[str, Any]:
    """The panel result the decision relied on, recorded in its audit event (with a digest)."""
    rule = _stage_rule(ctx)
    if rule is None:
        return {}
    result = panel_result(ctx.session, application_id=ctx.application.id or 0, stage=rule.stage)
    return {"panel_result": result.as_dict()} if result.expected else {}


def late_reviews(session: Session, *, on: Any) -> list[tuple[ReviewAssignment, Expert]]:
    """Assigned reviews past their due day (for reminders, like any other deadline)."""
    rows = session.execute(
        select(ReviewAssignment, Expert)
        .join(Expert, col(Expert.id) == col(ReviewAssignment.expert_id))
        .where(col(ReviewAssignment.status) == "assigned", col(ReviewAssignment.due_on) < on)
        .order_by(col(ReviewAssignment.id))
    ).all()
    return [(a, e) for a, e in rows]


# Registered by the composition root (programmes.wiring), like the rules' guards.
GUARDS: dict[str, Guard] = {"panel_concluded": _panel_concluded}
EVIDENCE: dict[str, Evidence] = {"panel_result": _panel_evidence}
