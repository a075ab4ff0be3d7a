"""Prefect for the flow tests: one `prefect_test_harness` per test session (~13 s to start), a temporary
PREFECT_HOME, analytics off, and flow-run heartbeats off (a sync run would spend ~1.1 s joining its
heartbeat thread). The environment is set before anything here imports prefect.

`world` is a migrated SQLite file the flows use (through `app_db`), with the sample enterprises of
examples/enterprises.yaml and one officer per unit the flows act for.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

_HOME = tempfile.mkdtemp(prefix="prefect-home-")
os.environ.setdefault("PREFECT_HOME", _HOME)
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

import pytest  # noqa: E402
import yaml  # noqa: E402

SEASON = "2026"  # the made-up season: Shanghai's quotas are known there
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXCELLENT_CODE = "91310118MA1EXA001D"  # 青浦, holds advanced
LEADING_CODE = "91310115MA1EXA0025"  # 浦东, holds excellent


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    from flows.prefect_server import startup_timeout

    with (
        prefect_test_harness(server_startup_timeout=int(startup_timeout())),
        temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}),
    ):
        yield


def sh(text: str) -> str:
    """An ISO instant in Asia/Shanghai for a flow's `now` parameter."""
    return datetime.fromisoformat(text).isoformat() + "+08:00"


def application_file(name: str, **overrides: Any) -> dict[str, Any]:
    raw = yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text(encoding="utf-8"))
    raw.update({"season": SEASON, **overrides})
    return raw


def excellent_intake() -> Any:
    """Intake parameters: 青浦's enterprise submits its own excellent file on 2026-07-01."""
    from flows.intake import IntakeParams

    return IntakeParams(
        actor=f"enterprise@{EXCELLENT_CODE}", now=sh("2026-07-01T10:00"), applications=[application_file("excellent")]
    )


def submitted_excellent() -> int:
    """Run that intake once; the id of the submitted application."""
    from flows.intake import submission_intake

    (app_id,) = submission_intake(excellent_intake()).notes["ids"].values()
    return int(app_id)


def state_of(application_id: int) -> str:
    from models.database import session_scope
    from models.tables import Application

    with session_scope() as session:
        application = session.get(Application, application_id)
        assert application is not None
        return application.state


@pytest.fixture
def world(app_db: str) -> str:
    """The application's database with enterprises and the actors the flows name."""
    from models.clock import parse_instant
    from models.database import session_scope
    from models.enums import Role
    from states.intake import SYSTEM_ACTOR, add_actor, add_enterprise

    raw = yaml.safe_load((EXAMPLES / "enterprises.yaml").read_text(encoding="utf-8"))
    with session_scope() as session:
        for data in raw["enterprises"]:
            add_enterprise(session, data=data, actor=SYSTEM_ACTOR, at=parse_instant("2026-06-01"))
        for unit in ("sh.qingpu", "sh.pudong", "sh"):
            add_actor(
                session, name=f"{unit} officer", email=f"officer@{unit}.example.cn", role=Role.LOCAL_OFFICER, unit=unit
            )
        add_actor(
            session,
            name="MIIT secretariat",
            email="secretariat@miit.example.cn",
            role=Role.MINISTRY_OFFICER,
            unit="miit",
        )
    return app_db


@pytest.fixture(scope="session")
def registered_deployments(prefect_harness: None) -> None:
    """The deployments of prefect.yaml registered with the harness's server (nobody executes them), so
    flows that schedule follow-up runs find them."""
    from cli.serve import build_deployments

    for deployment in build_deployments():
        deployment.apply()
