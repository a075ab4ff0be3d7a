"""Expert panels (251 §3(二)4-5): conflicts computed, load balanced, blind until submitted, decisions that
name the panel result, and the leading tier's whole path through panels."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from models.enums import Role
from models.errors import InvalidInput, NotAuthorised, TransitionRefused
from models.tables import Actor, Application, AuditEvent, Expert, Panel, ReviewAssignment
from programmes.panels import PanelTooSmall, add_members, assign_manually, auto_assign, create_panel
from programmes.reviews import form_problems, panel_result, submit_review, visible_result, visible_reviews
from programmes.season import get_season
from states.lifecycle import State
from tests import factories as f

RULE = get_season("2025").panel_rule(stage="material_review", tier="leading", track="national")
assert RULE is not None
WHEN = f.at("2025-08-10")


def _panel(session: Session, provinces: list[str]) -> tuple[Panel, list[Actor]]:
    panel = create_panel(session, season="2025", stage="material_review", tier="leading", name="材料评审组",
                         actor=f.ministry(session), at=WHEN)  # fmt: skip
    experts = [f.expert(session, p) for p in provinces]
    ids = [_expert_id(session, e) for e in experts]
    add_members(session, panel_id=panel.id or 0, expert_ids=ids, actor=f.ministry(session), at=WHEN)
    return panel, experts


def _expert_id(session: Session, actor: Actor) -> int:
    row = session.scalars(select(Expert).where(Expert.email == actor.email)).one()  # type: ignore[arg-type]
    return row.id or 0


def _in_review(session: Session) -> Application:
    return f.application(session, "ministry_review", tier="leading")  # an enterprise of 上海 青浦


def _review(scores: int | list[int] = 85, recommendation: str = "pass") -> dict[str, Any]:
    keys = [c.key for c in RULE.criteria]
    values = scores if isinstance(scores, list) else [scores] * len(keys)
    return {"scores": dict(zip(keys, values, strict=True)), "recommendation": recommendation}


def _count(session: Session, model: Any) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_an_expert_of_the_applicants_province_is_never_assigned_to_a_national_review(session: Session) -> None:
    application = _in_review(session)
    panel, experts = _panel(session, ["sh", "sh", "bj", "gd", "js", "zj"])
    made = auto_assign(session, panel_id=panel.id or 0, actor=f.ministry(session), at=WHEN)
    assigned = {a.expert_id for a in made if a.application_id == application.id}
    shanghai = {_expert_id(session, e) for e in experts[:2]}
    assert len(assigned) == RULE.reviewers and not assigned & shanghai


def test_assignment_balances_the_load_and_refuses_a_panel_too_small_all_or_nothing(session: Session) -> None:
    first, second = _in_review(session), _in_review(session)
    panel, _ = _panel(session, ["bj", "gd", "js", "zj"])
    made = auto_assign(session, panel_id=panel.id or 0, actor=f.ministry(session), at=WHEN)
    per_expert = sorted(sum(1 for a in made if a.expert_id == e) for e in {a.expert_id for a in made})
    assert len(made) == 2 * RULE.reviewers and per_expert == [1, 1, 2, 2]
    assert {a.application_id for a in made} == {first.id, second.id}

    small, _ = _panel_named(session, "小组", ["bj", "sh", "sh"])
    before = _count(session, ReviewAssignment)
    with pytest.raises(PanelTooSmall) as refused:
        auto_assign(session, panel_id=small.id or 0, actor=f.ministry(session), at=WHEN)
    assert refused.value.rule == "panel-size" and "251 §3(二)4" in refused.value.source
    assert _count(session, ReviewAssignment) == before


def _panel_named(session: Session, name: str, provinces: list[str]) -> tuple[Panel, list[Actor]]:
    panel = create_panel(session, season="2025", stage="material_review", tier="leading", name=name,
                         actor=f.ministry(session), at=WHEN)  # fmt: skip
    experts = [f.expert(session, p) for p in provinces]
    add_members(session, panel_id=panel.id or 0, expert_ids=[_expert_id(session, e) for e in experts],
                actor=f.ministry(session), at=WHEN)  # fmt: skip
    return panel, experts


def test_conflicts_of_employer_tie_and_own_application_are_computed(session: Session) -> None:
    application = _in_review(session)
    enterprise = session.get(f.Enterprise, application.enterprise_id)
    assert enterprise is not None
    panel, _ = _panel(session, ["bj", "gd", "js"])
    colleague = f.expert(session, "gd", employer_credit_code=enterprise.credit_code)
    adviser = f.expert(session, "gd", ties=[enterprise.credit_code.lower()])
    contact = f.expert(session, "gd", email=enterprise.contact_email)
    for conflicted, rule in ((colleague, "same-employer"), (adviser, "declared-tie"), (contact, "own-application")):
        with pytest.raises(NotAuthorised) as refused:
            assign_manually(session, panel_id=panel.id or 0, application_id=application.id or 0,
                            expert_id=_expert_id(session, conflicted), actor=f.ministry(session), at=WHEN)  # fmt: skip
        assert refused.value.rule == f"conflict:{rule}"


def test_a_manual_override_of_a_conflict_needs_a_reason_and_is_audited(session: Session) -> None:
    application = _in_review(session)
    panel, experts = _panel(session, ["sh", "bj", "gd"])
    shanghai = _expert_id(session, experts[0])
    with pytest.raises(NotAuthorised):
        assign_manually(session, panel_id=panel.id or 0, application_id=application.id or 0, expert_id=shanghai,
                        actor=f.ministry(session), at=WHEN)  # fmt: skip
    made = assign_manually(session, panel_id=panel.id or 0, application_id=application.id or 0, expert_id=shanghai,
                           actor=f.ministry(session), at=WHEN, reason="该领域全国仅此一位专家")  # fmt: skip
    assert made.override_reason == "该领域全国仅此一位专家"
    event = session.scalars(select(AuditEvent).where(AuditEvent.subject == f"panel:{panel.id}",  # type: ignore[arg-type]
                                                     AuditEvent.event == "assign")).one()  # type: ignore[arg-type]  # fmt: skip
    assert event.data["overridden"] == ["same-province"] and event.reason == "该领域全国仅此一位专家"


def test_only_the_organiser_builds_a_panel(session: Session) -> None:
    with pytest.raises(NotAuthorised):
        create_panel(session, season="2025", stage="material_review", tier="leading", name="x",
                     actor=f.officer(session, "sh"), at=WHEN)  # fmt: skip


def test_a_reviewer_reads_neither_scores_nor_names_of_others_before_submitting(session: Session) -> None:
    application = _in_review(session)
    panel, experts = _panel(session, ["bj", "gd", "js"])
    auto_assign(session, panel_id=panel.id or 0, actor=f.ministry(session), at=WHEN)
    reviews = {a.expert_id: a for a in session.scalars(select(ReviewAssignment))}
    first, second = experts[0], experts[1]
    submit_review(session, assignment_id=reviews[_expert_id(session, second)].id or 0, actor=second, at=WHEN,
                  **_review(70))  # fmt: skip
    seen = visible_reviews(session, application_id=application.id or 0, stage="material_review", viewer=first)
    assert [r["expert"] for r in seen] == [first.name] and seen[0]["scores"] == {}
    assert second.name not in repr(seen)
    submit_review(session, assignment_id=reviews[_expert_id(session, first)].id or 0, actor=first, at=WHEN,
                  **_review(90))  # fmt: skip
    seen = visible_reviews(session, application_id=application.id or 0, stage="material_review", viewer=first)
    assert {r["expert"] for r in seen} == {first.name, second.name}
    outsider = Actor(name="x", email="nobody@example.cn", role=Role.ENTERPRISE, unit="x")
    with pytest.raises(NotAuthorised):
        visible_reviews(session, application_id=application.id or 0, stage="material_review", viewer=outsider)


def test_a_review_is_checked_against_the_form_and_final_once_submitted(session: Session) -> None:
    _in_review(session)
    panel, experts = _panel(session, ["bj", "gd", "js"])
    auto_assign(session, panel_id=panel.id or 0, actor=f.ministry(session), at=WHEN)
    mine = session.scalars(select(ReviewAssignment).where(
        ReviewAssignment.expert_id == _expert_id(session, experts[0]))).one()  # type: ignore[arg-type]  # fmt: skip
    broken = _review()
    broken["scores"].pop("results")
    with pytest.raises(InvalidInput, match="missing"):
        submit_review(session, assignment_id=mine.id or 0, actor=experts[0], at=WHEN, **broken)
    with pytest.raises(InvalidInput, match="0 to 100"):
        submit_review(session, assignment_id=mine.id or 0, actor=experts[0], at=WHEN, **_review(101))
    with pytest.raises(NotAuthorised):
        submit_review(session, assignment_id=mine.id or 0, actor=experts[1], at=WHEN, **_review())
    submit_review(session, assignment_id=mine.id or 0, actor=experts[0], at=WHEN, **_review())
    with pytest.raises(TransitionRefused):
        submit_review(session, assignment_id=mine.id or 0, actor=experts[0], at=WHEN, **_review(10))


def test_the_decision_waits_for_the_panel_and_its_audit_event_names_the_result(session: Session) -> None:
    application = _in_review(session)
    panel, experts = _panel(session, ["bj", "gd", "js"])
    auto_assign(session, panel_id=panel.id or 0, actor=f.ministry(session), at=WHEN)
    reviews = {a.expert_id: a for a in session.scalars(select(ReviewAssignment))}
    for expert, score in zip(experts[:2], ([90] * 7, [60] * 7), strict=True):
        submit_review(session, assignment_id=reviews[_expert_id(session, expert)].id or 0, actor=expert, at=WHEN,
                      **_review(score))  # fmt: skip
    with pytest.raises(TransitionRefused) as waiting:
        f.transition(session, application.id or 0, "pass_review", actor=f.ministry(session), at=f.at("2025-08-20"))
    assert waiting.value.rule == "panel-concluded" and "2 of 3" in str(waiting.value)
    submit_review(session, assignment_id=reviews[_expert_id(session, experts[2])].id or 0, actor=experts[2], at=WHEN,
                  **_review(85, "return"))  # fmt: skip
    result = panel_result(session, application_id=application.id or 0, stage="material_review")
    assert result.concluded and result.scores == [90.0, 60.0, 85.0] and result.median == 85.0
    assert result.dispersed and result.spread == 30.0 and result.recommendations == {"pass": 2, "return": 1}
    decided = f.transition(session, application.id or 0, "pass_review", actor=f.ministry(session),
                           at=f.at("2025-08-20"))  # fmt: skip
    assert decided.to_state == State.ONSITE_VERIFICATION
    event = session.scalars(select(AuditEvent).where(AuditEvent.subject == f"application:{application.id}")
                            .order_by(AuditEvent.seq.desc())).first()  # type: ignore[attr-defined]  # fmt: skip
    assert event is not None and event.event == "pass_review"
    assert event.data["panel_result"]["digest"] == result.as_dict()["digest"]
    assert event.data["panel_result"]["mean"] == result.mean == 78.33


def test_the_leading_path_runs_through_panels_from_material_review_to_acceptance(session: Session) -> None:
    accepted = f.application(session, "accepted", tier="leading")
    stages = set(session.scalars(select(Panel.stage)))  # type: ignore[call-overload]
    assert stages == {"material_review", "onsite_verification", "acceptance"}
    assert _count(session, ReviewAssignment) == 3 * 3
    decisions = {e.event: e.data for e in session.scalars(select(AuditEvent).where(
        AuditEvent.subject == f"application:{accepted.id}"))}  # type: ignore[arg-type]  # fmt: skip
    for event in ("pass_review", "pass_verification", "accept"):
        assert decisions[event]["panel_result"]["submitted"] == 3
    assert decisions["start_cultivation"].get("panel_result") is None


def test_a_refused_review_lists_every_problem_by_field(session: Session) -> None:
    onsite = get_season("2025").panel_rule(stage="onsite_verification", tier="leading", track="national")
    assert onsite is not None
    first, *rest = onsite.checklist
    findings = [{"item": first.key, "passed": False, "finding": " "}] + [{"item": c.key, "passed": True} for c in rest]
    problems = form_problems(RULE, {"results": 101, "extra": 1}, [], "maybe")
    assert problems["scores.results"] == "range" and problems["scores.extra"] == "unknown"
    assert problems["scores.factory_construction"] == "missing" and problems["recommendation"] == "choice"
    assert form_problems(onsite, {}, findings, "fail") == {f"findings.{first.key}.finding": "finding"}


def test_an_expert_sees_no_panel_result_before_submitting_and_assignment_keeps_to_the_panels_tier(
    session: Session,
) -> None:
    application = _in_review(session)
    panel, experts = _panel(session, ["bj", "gd", "js"])
    auto_assign(session, panel_id=panel.id or 0, actor=f.ministry(session), at=WHEN)
    reviews = {a.expert_id: a for a in session.scalars(select(ReviewAssignment))}
    submit_review(session, assignment_id=reviews[_expert_id(session, experts[1])].id or 0, actor=experts[1],
                  at=WHEN, **_review(70))  # fmt: skip
    _rows, hidden = visible_result(session, application_id=application.id or 0, stage="material_review",
                                   viewer=experts[0])  # fmt: skip
    _rows, shown = visible_result(session, application_id=application.id or 0, stage="material_review",
                                  viewer=f.ministry(session))  # fmt: skip
    assert hidden is None and shown is not None and shown.submitted == 1
    excellent = f.application(session, "ministry_review", tier="excellent")
    with pytest.raises(InvalidInput) as refused:
        assign_manually(session, panel_id=panel.id or 0, application_id=excellent.id or 0,
                        expert_id=_expert_id(session, experts[0]), actor=f.ministry(session), at=WHEN)  # fmt: skip
    assert refused.value.rule == "panel-application"
