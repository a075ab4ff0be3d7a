"""The demo: its summary matches the database, it is reproducible, and its audit export verifies."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import Session, col

N = 36


def _reset_caches() -> None:
    from models import database, settings

    settings.get_settings.cache_clear()
    database.get_engine.cache_clear()


@pytest.fixture
def isolated_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """run_demo points DATABASE_URL at its own file; put the environment and the caches back afterwards."""
    monkeypatch.setenv("DATABASE_URL", os.environ.get("DATABASE_URL", "sqlite:///unused.db"))
    yield
    _reset_caches()


def _demo(output: Path, *, seed: int = 7, fast: bool = True, n: int = N) -> dict:  # type: ignore[type-arg]
    from cli.demo import run_demo

    return run_demo(output=output, enterprises=n, seed=seed, fast=fast, as_json=True)


@pytest.fixture(scope="module")
def fast_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict]]:  # type: ignore[type-arg]
    mp = pytest.MonkeyPatch()
    mp.setenv("DATABASE_URL", os.environ.get("DATABASE_URL", "sqlite:///unused.db"))
    out = tmp_path_factory.mktemp("demo")
    summary = _demo(out)
    yield out, summary
    mp.undo()
    _reset_caches()


def test_summary_matches_the_database(fast_demo: tuple[Path, dict]) -> None:  # type: ignore[type-arg]
    from models.database import make_engine
    from models.tables import Application, AuditEvent, OutboxMessage, RecommendationRound

    out, summary = fast_demo
    engine = make_engine(f"sqlite:///{out / 'demo.db'}")
    with Session(engine) as session:
        states = dict(session.execute(select(Application.state, func.count()).group_by(Application.state)).all())
        mail = dict(session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
        rounds = session.scalar(select(func.count()).select_from(RecommendationRound))
        # The web app's demo accounts are granted after the summary is written (cli.demo._web_hint).
        season_events = col(AuditEvent.subject).not_like("account:%")
        events = session.scalar(select(func.count()).select_from(AuditEvent).where(season_events))
        not_transition = OutboxMessage.kind != "transition"
        reminders = session.scalar(select(func.count()).select_from(OutboxMessage).where(not_transition))
    engine.dispose()
    by_state: dict[str, int] = {}
    for row in summary["applications"]:
        by_state[row["state"]] = by_state.get(row["state"], 0) + row["count"]
    assert by_state == states
    assert summary["mail"] == mail
    assert len(summary["quotas"]) == rounds
    assert sum(r["count"] for r in summary["reminders"]) == reminders
    assert summary["audit"]["ok"] and summary["audit"]["events"] == events
    # the season's story: an over-quota district cut to six, recognition, acceptance, expiry, designation
    assert summary["refusals"]["QuotaExceeded:quota"] >= 1
    minhang = next(q for q in summary["quotas"] if q["unit"] == "sh.minhang")
    assert minhang["recommended"] == minhang["quota"] == 6
    for state in ("recognised", "accepted", "cultivation_expired", "designated", "filed", "rejected"):
        assert states.get(state, 0) >= 1, state
    assert summary["outputs"]["mails"] == mail.get("sent", 0) > 0
    assert (out / "lifecycle.md").read_text(encoding="utf-8").count("```mermaid") == 3
    assert list((out / "summary-tables").glob("*.xlsx"))
    assert json.loads((out / "summary.json").read_text(encoding="utf-8")) == summary
    assert (out / "refusals.jsonl").read_text(encoding="utf-8").count("\n") == sum(summary["refusals"].values())


def test_same_seed_same_summary(fast_demo: tuple[Path, dict], tmp_path: Path, isolated_env: None) -> None:  # type: ignore[type-arg]
    _, first = fast_demo
    assert _demo(tmp_path / "again") == first


def test_audit_export_verifies_with_the_cli(fast_demo: tuple[Path, dict], monkeypatch: pytest.MonkeyPatch,  # type: ignore[type-arg]
                                            capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    from cli.main import main

    out, _ = fast_demo
    manifest = json.loads((out / "audit" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["chains_verified"] and not manifest["problems"]
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{out / 'demo.db'}")
    _reset_caches()
    try:
        code = main(["audit", "verify"])
    except SystemExit as exit_:
        code = exit_.code
    finally:
        _reset_caches()
    assert code in (0, None), capsys.readouterr()


@pytest.mark.prefect
@pytest.mark.slow
def test_a_small_season_through_the_prefect_flows_ends_where_direct_calls_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_env: None
) -> None:
    """The default backend (the real flows, Prefect in ephemeral mode) and --fast reach the same states."""
    from datetime import date

    from rich.console import Console

    from cli.demo import run_season

    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect"))
    monkeypatch.setenv("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    console = Console(stderr=True, quiet=True)
    window = (date(2025, 7, 10), date(2025, 7, 10))  # one day of reminder sweeps keeps the flow runs few
    kwargs = {"enterprises": 8, "seed": 3, "console": console, "reminder_days": window}
    for folder in ("flows", "direct"):  # run_season writes into a folder the demo's claim_output made
        (tmp_path / folder).mkdir()
    flows = run_season(tmp_path / "flows", fast=False, **kwargs)  # type: ignore[arg-type]
    direct = run_season(tmp_path / "direct", fast=True, **kwargs)  # type: ignore[arg-type]
    assert flows["season"]["backend"] == "prefect" and direct["season"]["backend"] == "direct"
    assert flows["applications"] == direct["applications"]
    assert flows["quotas"] == direct["quotas"]
    assert flows["refusals"] == direct["refusals"]
    assert flows["audit"]["ok"] and flows["mail"] == direct["mail"]
    states = {r["state"] for r in flows["applications"]}
    assert {"recognised", "accepted", "cultivation_expired", "designated", "rejected"} <= states


def test_excellent_lists_of_at_least_four_provinces_reach_ministry_review(fast_demo: tuple[Path, dict]) -> None:  # type: ignore[type-arg]
    """Issue #15: with the demo's statistics loaded, provincial quotas are known and the lists go on."""
    _out, summary = fast_demo
    reached = {
        row["unit"]
        for row in summary["stages"]
        if row["tier"] == "excellent" and not row["unit"].startswith("soe.") and row["ministry_review"] > 0
    }
    assert len(reached) >= 4, summary["stages"]
    assert "QuotaUnknown:quota-unknown" not in summary["refusals"]
