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
from models.database import must_get
from models.enums import Role
from models.errors import InvalidInput, NotAuthorised, NotFound, TransitionRefused
from models.tables import Actor, Application, Enterprise, Expert, Panel, ReviewAssignment
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


def assigned_applications(email: str) -> Any:
    """The ids of the applications assigned to the expert signed in with `email`: an expert reads these
    and no others (conflicts of interest, 251 §2(二)4; HotCRP's rule that reviewers see only their papers)."""
    return (
        select(col(ReviewAssignment.application_id))
        .join(Expert, col(Expert.id) == col(ReviewAssignment.expert_id))
        .where(col(Expert.email) == email.strip().lower())
    )


RECOMMENDATION_LABELS = {"pass": "建议通过", "fail": "建议不通过", "return": "建议退回修改"}
LIMITS = {"comments": 8000, "finding": 2000}  # characters (review_assignment.comments; one finding)
PROBLEMS = {  # a problem's code → its English line (the web shows its own words per code, beside the field)
    "missing": "missing",
    "unknown": "not on the form",
    "range": "a number from 0 to 100",
    "passed": "once, with passed true/false",
    "finding": "a failed item needs its finding",
    "choice": f"one of {', '.join(RECOMMENDATIONS)}",
    "too_long": "too long",
}


def _score_problem(value: Any) -> str | None:
    if value is None:
        return "missing"
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        return "range"  # NaN and infinities fail the comparison too
    return None


def _finding_problems(rule: PanelRule, findings: list[dict[str, Any]]) -> dict[str, str]:
    by_item: dict[Any, list[dict[str, Any]]] = {}
    for f in findings:
        by_item.setdefault(f.get("item"), []).append(f)
    problems = {f"findings.{key}": "unknown" for key in by_item if key not in {c.key for c in rule.checklist}}
    for c in rule.checklist:
        given = by_item.get(c.key, [])
        if not given:
            problems[f"findings.{c.key}"] = "missing"
        elif len(given) > 1 or not isinstance(given[0].get("passed"), bool):
            problems[f"findings.{c.key}"] = "passed"
        elif len(str(given[0].get("finding") or "")) > LIMITS["finding"]:
            problems[f"findings.{c.key}.finding"] = "too_long"
        elif given[0]["passed"] is False and not str(given[0].get("finding") or "").strip():
            problems[f"findings.{c.key}.finding"] = "finding"
    return problems


def form_problems(
    rule: PanelRule, scores: dict[str, Any], findings: list[dict[str, Any]], recommendation: str, comments: str = ""
) -> dict[str, str]:
    """Every problem of a review against the stage's form, by field (`scores.<criterion>`, `findings.<item>`,
    `findings.<item>.finding`, `recommendation`, `comments`) → a code of PROBLEMS. Empty: the review is valid.

    Every criterion scored 0-100 and nothing else; every checklist item passed or failed once, a failed one
    with its finding; a known recommendation."""
    wanted = {c.key for c in rule.criteria}
    problems = {f"scores.{key}": "unknown" for key in scores if key not in wanted}
    for c in rule.criteria:
        if (problem := _score_problem(scores.get(c.key))) is not None:
            problems[f"scores.{c.key}"] = problem
    problems |= _finding_problems(rule, findings)
    if recommendation not in RECOMMENDATIONS:
        problems["recommendation"] = "choice"
    if len(comments) > LIMITS["comments"]:
        problems["comments"] = "too_long"
    return problems


def _check_form(
    rule: PanelRule, scores: dict[str, Any], findings: list[dict[str, Any]], recommendation: str, comments: str
) -> None:
    """Refuse a review with any problem; the refusal lists them all (and carries them by field: `problems`)."""
    problems = form_problems(rule, scores, findings, recommendation, comments)
    if problems:
        listed = "; ".join(f"{where}: {PROBLEMS[code]}" for where, code in problems.items())
        raise InvalidInput(f"review form: {listed}", rule="review-form", source=rule.source, problems=problems)


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
    assignment = must_get(session, ReviewAssignment, assignment_id, "review")
    expert = _expert_of(session, actor)
    if expert is None or expert.id != assignment.expert_id:
        raise NotAuthorised(f"{actor.role}@{actor.unit} is not the reviewer of review {assignment_id}", rule="reviewer")
    if assignment.status == "submitted":
        raise TransitionRefused(f"review {assignment_id} was submitted already; it cannot change", rule="review-final")
    panel = session.get(Panel, assignment.panel_id)
    assert panel is not None
    rule = rule_of(panel)
    findings = findings or []
    _check_form(rule, scores, findings, recommendation, comments)
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


@dataclass(frozen=True)
class OwnReview:
    """One review as its reviewer works on it: the assignment, its panel and form, the application."""

    assignment: ReviewAssignment
    panel: Panel
    rule: PanelRule
    application: Application
    enterprise: Enterprise


def reviews_of(session: Session, *, viewer: Actor) -> list[dict[str, Any]]:
    """The viewer's own assignments (an expert's "my reviews"), open ones first by due day; others: none."""
    me = _expert_of(session, viewer)
    if me is None:
        return []
    rows = session.execute(
        select(ReviewAssignment, Panel, Application, Enterprise)
        .join(Panel, col(Panel.id) == col(ReviewAssignment.panel_id))
        .join(Application, col(Application.id) == col(ReviewAssignment.application_id))
        .join(Enterprise, col(Enterprise.id) == col(Application.enterprise_id))
        .where(col(ReviewAssignment.expert_id) == me.id)
        .order_by(col(ReviewAssignment.status), col(ReviewAssignment.due_on), col(ReviewAssignment.id))
    ).all()
    return [
        {"review_id": a.id, "application_id": app.id, "enterprise": ent.name, "title": app.title, "tier": app.tier,
         "stage": p.stage, "panel": p.name, "due_on": a.due_on, "status": a.status, "submitted_at": a.submitted_at}
        for a, p, app, ent in rows
    ]  # fmt: skip


def own_review(session: Session, *, review_id: int, viewer: Actor) -> OwnReview:
    """A review its reviewer may open; anybody else's, or none, is NotFound (no leak of existence)."""
    assignment = session.get(ReviewAssignment, review_id)
    me = _expert_of(session, viewer)
    if assignment is None or me is None or assignment.expert_id != me.id:
        raise NotFound(f"review {review_id} does not exist", rule="not-found")
    panel = session.get(Panel, assignment.panel_id)
    application = session.get(Application, assignment.application_id)
    enterprise = session.get(Enterprise, application.enterprise_id) if application else None
    assert panel is not None and application is not None and enterprise is not None
    return OwnReview(assignment, panel, rule_of(panel), application, enterprise)


def visible_result(
    session: Session, *, application_id: int, stage: str, viewer: Actor
) -> tuple[list[dict[str, Any]], PanelResult | None]:
    """The reviews `viewer` may read (as `visible_reviews`), and the panel's result only when the viewer may
    read every review it aggregates: an expert sees no aggregate of others' scores before submitting."""
    rows = visible_reviews(session, application_id=application_id, stage=stage, viewer=viewer)
    result = panel_result(session, application_id=application_id, stage=stage)
    seen = sum(1 for r in rows if r["status"] == "submitted")
    return rows, (result if seen >= result.submitted else None)


def pending_result(session: Session, application: Application) -> tuple[PanelRule, PanelResult] | None:
    """The panel result a decision on the application's current stage will rely on (None: no panel there)."""
    rule = get_season(application.season).panel_rule(
        state=application.state, tier=application.tier, track=application.track
    )
    if rule is None:
        return None
    return rule, panel_result(session, application_id=application.id or 0, stage=rule.stage)


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
    application = must_get(session, Application, application_id, "application")
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


def late_reviews(session: Session, *, on: Any, season: str | None = None) -> list[tuple[ReviewAssignment, Expert]]:
    """Assigned reviews past their due day (for reminders, like any other deadline), of one season if given."""
    query = (
        select(ReviewAssignment, Expert)
        .join(Expert, col(Expert.id) == col(ReviewAssignment.expert_id))
        .where(col(ReviewAssignment.status) == "assigned", col(ReviewAssignment.due_on) < on)
        .order_by(col(ReviewAssignment.id))
    )
    if season is not None:
        query = query.join(Panel, col(Panel.id) == col(ReviewAssignment.panel_id)).where(col(Panel.season) == season)
    return [(a, e) for a, e in session.execute(query).all()]


# Registered by the composition root (programmes.wiring), like the rules' guards.
GUARDS: dict[str, Guard] = {"panel_concluded": _panel_concluded}
EVIDENCE: dict[str, Evidence] = {"panel_result": _panel_evidence}
