"""The notification commands, through the real `factory-review` app on the test database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from models.database import get_engine
from tests.notifications.helpers import queue_messages


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_outbox_list_send_and_retry(
    app_db: str, runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FACTORY_REVIEW_MAIL_DIR", str(tmp_path / "mail"))
    monkeypatch.delenv("FACTORY_REVIEW_SMTP_HOST", raising=False)
    from models.settings import get_settings

    get_settings.cache_clear()
    queue_messages(get_engine(), 3)
    listed = runner.invoke(app, ["outbox", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.output)["counts"] == {"pending": 3}
    sent = runner.invoke(app, ["outbox", "send", "--now", "2025-07-11T10:00", "--json"])
    assert sent.exit_code == 0, sent.output
    assert json.loads(sent.output)["sent"] == 3
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 3
    assert "sent: 3" in runner.invoke(app, ["outbox", "list"]).output
    retried = runner.invoke(app, ["outbox", "retry", "--json"])
    assert json.loads(retried.output) == {"requeued": 0}


def test_reminders_sweep_and_plan_run(app_db: str, runner: CliRunner) -> None:
    swept = runner.invoke(app, ["reminders", "sweep", "--now", "2025-07-11", "--json"])
    assert swept.exit_code == 0, swept.output
    assert json.loads(swept.output)["queued"] == 0  # an empty database owes nothing
    planned = runner.invoke(app, ["reminders", "plan", "--from", "2025-07-01", "--to", "2025-07-03", "--json"])
    assert planned.exit_code == 0, planned.output
    assert json.loads(planned.output) == []
