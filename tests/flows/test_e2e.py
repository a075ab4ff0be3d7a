"""End to end under the Prefect harness: an excellent application from submission to recognition, a
leading one through cultivation to acceptance; the audit trail verifies; every flow re-run changes
nothing and queues nothing twice."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.flows.conftest import (
    LEADING_CODE,
    SEASON,
    application_file,
    excellent_intake,
    sh,
    state_of,
    submitted_excellent,
)

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_harness")]


def snapshot() -> tuple[Any, ...]:
    """What a re-run must not change: states, audit events, outbox rows."""
    from models.database import session_scope
    from models.tables import Application, AuditEvent, OutboxMessage

    with session_scope() as session:
        states = tuple(session.execute(select(Application.id, Application.state, Application.version)).all())
        events = session.scalar(select(func.count()).select_from(AuditEvent))
        mails = session.scalar(select(func.count()).select_from(OutboxMessage))
    return states, events, mails


def twice(flow: Callable[..., Any], params: Any) -> Any:
    """Run a flow, then again with the same inputs: the second run changes nothing."""
    first = flow(params)
    before = snapshot()
    second = flow(params)
    assert snapshot() == before, f"{flow.__name__} re-run changed something"
    assert second.count("applied") == 0
    return first


def audit_ok() -> None:
    from models.database import session_scope
    from states.audit import verify

    with session_scope() as session:
        report = verify(session)
    assert report.ok, report.problems


def recommendation(params_type: Any, unit: str, now: str, tier: str, app_id: int) -> Any:
    """A unit's round (ReviewRoundParams or ProvincialParams) recommending one application, as its officer."""
    return params_type(
        actor=f"local_officer@{unit}",
        now=sh(now),
        unit=unit,
        tier=tier,
        season=SEASON,
        decisions=[{"application_id": app_id, "decision": "recommend"}],
    )


def test_excellent_from_submission_to_recognition(world: str, registered_deployments: None) -> None:
    from flows.intake import submission_intake
    from flows.local_review import ReviewRoundParams, local_review
    from flows.ministry import MinistryReviewParams, ministry_review
    from flows.onsite import OnsiteParams, onsite_verification
    from flows.provincial import ProvincialParams, provincial_recommendation
    from flows.public_notice import PublicNoticeParams, public_notice

    intake = twice(submission_intake, excellent_intake())
    (app_id,) = intake.notes["ids"].values()
    assert state_of(app_id) == "submitted"

    twice(local_review, recommendation(ReviewRoundParams, "sh.qingpu", "2026-07-08T10:00", "excellent", app_id))
    assert state_of(app_id) == "local_review"

    report = twice(
        provincial_recommendation, recommendation(ProvincialParams, "sh", "2026-07-20T10:00", "excellent", app_id)
    )
    assert state_of(app_id) == "recommended"
    assert report.notes["summary_table"].endswith(".xlsx")

    ministry = {"actor": "ministry_officer@miit", "tier": "excellent", "season": SEASON}
    twice(
        ministry_review,
        MinistryReviewParams(
            **ministry, now=sh("2026-08-15T10:00"), decisions=[{"application_id": app_id, "outcome": "pass"}]
        ),
    )
    assert state_of(app_id) == "onsite_verification"

    twice(
        onsite_verification,
        OnsiteParams(
            **ministry,
            now=sh("2026-09-01T10:00"),
            decisions=[{"application_id": app_id, "outcome": "pass", "verified_on": "2026-08-28"}],
            notice={"opens_on": "2026-09-03"},
        ),
    )
    assert state_of(app_id) == "public_notice"
    # The notice (09-03, five working days, to 09-10) closes by a run scheduled for 09:00 the day after.
    (closing,) = scheduled_runs("public-notice/public-notice")
    assert closing.expected_start_time.isoformat().startswith("2026-09-11T01:00")  # 09:00 Shanghai
    assert closing.parameters == {"params": {"actor": "ministry_officer@miit", "close": [app_id]}}

    objection = {"application_id": app_id, "objection_id": "2026-YY-001", "reason": "匿名来信：产能数据存疑"}
    twice(
        public_notice,
        PublicNoticeParams(
            actor="ministry_officer@miit",
            now=sh("2026-09-05T10:00"),
            objections=[{**objection, "action": "raise"}],
        ),
    )
    twice(
        public_notice,
        PublicNoticeParams(
            actor="ministry_officer@miit",
            now=sh("2026-09-08T10:00"),
            objections=[{**objection, "action": "dismiss", "reason": "经核实，数据属实"}],
        ),
    )
    twice(
        public_notice,
        PublicNoticeParams(actor="ministry_officer@miit", now=sh("2026-09-11T09:00"), close=[app_id]),
    )
    assert state_of(app_id) == "recognised"
    audit_ok()


def leading_to_cultivation_object(run: Callable[[Callable[..., Any], Any], Any]) -> int:
    """Walk the leading sample (浦东) to `cultivation_object` through the stage flows."""
    from flows.intake import IntakeParams, submission_intake
    from flows.local_review import ReviewRoundParams, local_review
    from flows.ministry import MinistryReviewParams, ministry_review
    from flows.onsite import OnsiteParams, onsite_verification
    from flows.provincial import ProvincialParams, provincial_recommendation

    intake = run(
        submission_intake,
        IntakeParams(
            actor="system@system",  # the platform feed: each file submitted as its own enterprise
            now=sh("2026-07-01T10:00"),
            applications=[application_file("leading")],
        ),
    )
    (app_id,) = intake.notes["ids"].values()
    for unit, flow, params_type, now in (
        ("sh.pudong", local_review, ReviewRoundParams, "2026-07-08T10:00"),
        ("sh", provincial_recommendation, ProvincialParams, "2026-07-20T10:00"),
    ):
        run(flow, recommendation(params_type, unit, now, "leading", app_id))
    ministry = {"actor": "ministry_officer@miit", "tier": "leading", "season": SEASON}
    run(
        ministry_review,
        MinistryReviewParams(
            **ministry, now=sh("2026-08-15T10:00"), decisions=[{"application_id": app_id, "outcome": "pass"}]
        ),
    )
    run(
        onsite_verification,
        OnsiteParams(**ministry, now=sh("2026-09-01T10:00"), decisions=[{"application_id": app_id, "outcome": "pass"}]),
    )
    assert state_of(app_id) == "cultivation_object"
    return app_id


def scheduled_runs(deployment: str) -> list[Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName, FlowRunFilter

    _flow, _, name = deployment.partition("/")
    with get_client(sync_client=True) as client:
        return client.read_flow_runs(
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[name])),
            flow_run_filter=FlowRunFilter(),
        )


def test_leading_through_cultivation_to_acceptance(world: str, registered_deployments: None) -> None:
    from flows.acceptance import AcceptanceParams, acceptance
    from flows.cultivation import CultivationParams, cultivation

    app_id = leading_to_cultivation_object(twice)
    ministry = "ministry_officer@miit"

    started = twice(
        cultivation,
        CultivationParams(actor=ministry, now=sh("2026-11-24T10:00"), start=[app_id], started_on="2026-11-24"),
    )
    assert state_of(app_id) == "in_cultivation"
    # The expiry is a run scheduled for the day after the period ends, once however often the flow runs.
    assert list(started.notes["expiry_runs"]) == ["2028-11-24"]
    runs = scheduled_runs("cultivation/cultivation")
    assert len(runs) == 1 and runs[0].state.is_scheduled()
    assert runs[0].expected_start_time.isoformat().startswith("2028-11-24T17:00")  # 01:00 on 11-25, Shanghai
    assert runs[0].parameters == {"params": {"actor": "system@system", "expire": [app_id]}}

    twice(
        cultivation,
        CultivationParams(
            actor=ministry,
            now=sh("2027-05-20T10:00"),
            checkpoints=[{"application_id": app_id, "checkpoint_id": "2027-H1", "note": "按培育方案推进"}],
        ),
    )
    twice(
        acceptance,
        AcceptanceParams(
            actor=f"enterprise@{LEADING_CODE}", now=sh("2028-03-01T10:00"), stage="request", application_ids=[app_id]
        ),
    )
    twice(
        acceptance,
        AcceptanceParams(
            actor="local_officer@sh",  # the recommending unit (the top of the chain)
            now=sh("2028-03-15T10:00"),
            stage="preliminary_review",
            decisions=[{"application_id": app_id, "outcome": "pass"}],
        ),
    )
    twice(
        acceptance,
        AcceptanceParams(
            actor=ministry,
            now=sh("2028-04-20T10:00"),
            stage="expert_acceptance",
            decisions=[{"application_id": app_id, "outcome": "pass"}],
        ),
    )
    assert state_of(app_id) == "accepted"
    # The scheduled expiry run, when it comes, finds the application accepted and changes nothing.
    before = snapshot()
    expired = cultivation(CultivationParams(actor="system@system", now=sh("2028-11-25T01:00"), expire=[app_id]))
    assert expired.count("skipped") == 1 and snapshot() == before
    audit_ok()


def test_cultivation_expires_after_two_years(world: str) -> None:
    from flows.cultivation import CultivationParams, cultivation

    app_id = leading_to_cultivation_object(lambda flow, params: flow(params))
    cultivation(
        CultivationParams(
            actor="ministry_officer@miit", now=sh("2026-11-24T10:00"), start=[app_id], schedule_expiry=False
        )
    )
    twice(cultivation, CultivationParams(actor="system@system", now=sh("2028-11-25T01:00"), expire=[app_id]))
    assert state_of(app_id) == "cultivation_expired"
    audit_ok()


def test_a_flow_parameter_cannot_make_an_officer_act_for_another_unit(world: str) -> None:
    from flows.common import StageRefused
    from flows.local_review import ReviewRoundParams, local_review

    app_id = submitted_excellent()
    before = snapshot()
    with pytest.raises(StageRefused) as refused:
        local_review(
            ReviewRoundParams(
                actor="local_officer@sh.pudong",  # 青浦's application; 浦东's officer
                now=sh("2026-07-08T10:00"),
                unit="sh.qingpu",
                tier="excellent",
                season="2026",
                decisions=[{"application_id": app_id, "decision": "reject", "reason": "不符合条件"}],
            )
        )
    assert {o.rule for o in refused.value.report.refused} == {"authorisation"}
    assert snapshot() == before and state_of(app_id) == "submitted"
