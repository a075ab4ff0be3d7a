"""Intake validates each file on its own (one bad file doesn't stop the batch; the run fails and says
which); the daily sweep queues a reminder once and the outbox sends it once, however often it runs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.flows.conftest import EXCELLENT_CODE, LEADING_CODE, application_file, sh

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_harness")]


def test_a_bad_file_is_refused_and_the_rest_of_the_batch_goes_through(world: str, tmp_path: Path) -> None:
    from flows.common import StageRefused
    from flows.intake import IntakeParams, submission_intake

    batch = tmp_path / "batch.yaml"
    bad = application_file("leading", credit_code="91310115MA1EXA0026")  # wrong check character
    batch.write_text(
        yaml.safe_dump([application_file("excellent"), bad], allow_unicode=True, default_flow_style=False),
        encoding="utf-8",
    )
    params = IntakeParams(actor="system@system", now=sh("2026-07-01T10:00"), batch_file=str(batch))
    with pytest.raises(StageRefused) as refused:
        submission_intake(params)
    report = refused.value.report
    assert [o.ref for o in report.refused] == [f"{batch}#2"]
    assert report.refused[0].rule == "application-schema" and "credit_code" in report.refused[0].message
    assert report.count("applied") == 1
    with pytest.raises(StageRefused) as again:  # same inputs: the good one is found done, the bad one refused again
        submission_intake(params)
    assert again.value.report.count("applied") == 0 and again.value.report.count("skipped") == 1


def test_an_enterprise_cannot_submit_another_enterprises_file(world: str) -> None:
    from flows.common import StageRefused
    from flows.intake import IntakeParams, submission_intake

    with pytest.raises(StageRefused) as refused:
        submission_intake(
            IntakeParams(
                actor=f"enterprise@{EXCELLENT_CODE}",
                now=sh("2026-07-01T10:00"),
                applications=[application_file("leading")],  # 浦东's file
            )
        )
    assert {o.rule for o in refused.value.report.refused} == {"authorisation"}
    assert LEADING_CODE in refused.value.report.refused[0].ref


def test_the_sweep_reminds_once_and_the_outbox_sends_once(world: str, tmp_path: Path) -> None:
    from flows.intake import IntakeParams, submission_intake
    from flows.reminders import ReminderParams, reminder_sweep
    from models.settings import get_settings

    submission_intake(
        IntakeParams(
            actor=f"enterprise@{EXCELLENT_CODE}",
            now=sh("2026-07-01T10:00"),
            applications=[application_file("excellent")],
            submit=False,  # a draft three days before Shanghai's submission deadline (2026-07-10)
        )
    )
    params = ReminderParams(now=sh("2026-07-07T10:00"), season="2026")
    first = reminder_sweep(params)
    assert first["swept"]["queued"] >= 1 and first["sent"]["sent"] == first["swept"]["queued"]
    second = reminder_sweep(params)
    assert second["swept"]["queued"] == 0 and second["sent"]["sent"] == 0
    mail = get_settings().mail_dir or get_settings().data_dir / "mail"
    assert len(list(Path(mail).rglob("*.eml"))) == first["sent"]["sent"]
