"""The daily audit anchor as a flow, and the flow run an event records (issue 12)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.flows.conftest import EXCELLENT_CODE, application_file, sh

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_harness")]


def test_events_written_in_a_flow_record_its_run_and_the_anchor_flow_writes_and_mails(
    world: str, tmp_path: Path
) -> None:
    from flows.audit_anchor import AnchorParams, audit_anchor
    from flows.intake import IntakeParams, submission_intake
    from models.database import session_scope
    from models.settings import get_settings
    from states.audit import history
    from states.ledger import read_anchor

    submission_intake(IntakeParams(actor=f"enterprise@{EXCELLENT_CODE}", now=sh("2026-07-01T10:00"),
                                   applications=[application_file("excellent")], submit=False))  # fmt: skip
    with session_scope() as session:
        (created,) = history(session, "application:1")
    assert created.data["flow_run"]["name"] and len(created.data["flow_run"]["id"]) == 36

    result = audit_anchor(AnchorParams(folder=str(tmp_path / "anchors"), mail="auditors@miit.example.cn"))
    document = read_anchor(Path(result["anchor"]["path"]))
    assert document["root"] == result["anchor"]["root"] and document["subjects"] >= 2
    assert json.loads(Path(result["anchor"]["path"]).read_text(encoding="utf-8"))["inventory"]
    mail_dir = Path(get_settings().mail_dir or get_settings().data_dir / "mail")
    bodies = [_text(p) for p in mail_dir.rglob("*.eml")]
    assert any(document["root"] in body and "审计锚点" in body for body in bodies)


def _text(path: Path) -> str:
    import email
    from email import policy

    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    plain = message.get_body(preferencelist=("plain",))
    return f"{message['subject']}\n{plain.get_content() if plain is not None else ''}"
