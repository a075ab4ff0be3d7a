"""The audit trail an auditor can rely on (issue 12): events carry what replay needs, rows are
cross-checked with their chains, an anchor proves nothing vanished, exports verify offline, and the CLI
exits 3 on any of it (0 when untouched).

SQLite only: the trail is built once per module and copied per test; the tamper campaign
(tests/reliability/test_tamper_campaign.py) runs on PostgreSQL too."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.tables import Application, AuditChain, AuditEvent, Enterprise, OutboxMessage
from states.audit import verify
from states.audit_facts import rulebook_sha256
from states.audit_rows import content_digest
from states.ledger import take_anchor
from states.system import mark_replay
from tests.states.audit_trail import STATES, build_trail

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


KEY = "审计-key-for-tests"


@pytest.fixture(scope="module")
def built(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    from models.database import make_engine
    from models.settings import get_settings

    path = tmp_path_factory.mktemp("trail") / "trail.db"
    shutil.copyfile(sqlite_template, path)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FACTORY_REVIEW_AUDIT_KEY", KEY)
        get_settings.cache_clear()
        engine = make_engine(f"sqlite:///{path}")
        mark_replay(engine)  # the trail replays a season (app_db marks its copy a replay too)
        with Session(engine, expire_on_commit=False) as session:
            ids = build_trail(session)
        engine.dispose()
    get_settings.cache_clear()
    return path, ids


@pytest.fixture(autouse=True)
def keyed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from models.settings import get_settings

    monkeypatch.setenv("FACTORY_REVIEW_AUDIT_KEY", KEY)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def db_url(built: tuple[Path, dict[str, Any]], tmp_path: Path) -> str:
    """A copy of the built trail (overrides conftest's per-backend empty database)."""
    path = tmp_path / "factory-review.db"
    shutil.copyfile(built[0], path)
    return f"sqlite:///{path}"


@pytest.fixture
def trail(built: tuple[Path, dict[str, Any]], db_url: str) -> dict[str, Any]:
    return built[1]


def _events(session: Session, subject: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.subject == subject).order_by(AuditEvent.seq)))  # type: ignore[arg-type]


def _app_id(trail: dict[str, Any], state: str) -> int:
    return int(trail["applications"][[s.value for s in STATES].index(state)])


def _fresh_verify(engine: Engine, **kwargs: Any) -> Any:
    with Session(engine) as fresh:
        return verify(fresh, **kwargs)


# ---- what events carry ------------------------------------------------------------------------------


def test_untouched_trail_verifies_and_every_row_is_cross_checked(engine: Engine, trail: dict[str, Any]) -> None:
    report = _fresh_verify(engine)
    assert report.ok, report.problems
    # applications, enterprises, a round, 2 extensions, 2 accounts
    assert report.rows == len(trail["applications"]) * 2 + 3 + 2


def test_submit_records_frozen_content_and_rulebook(session: Session, trail: dict[str, Any]) -> None:
    app_id = _app_id(trail, "submitted")
    application = session.get(Application, app_id)
    assert application is not None
    (submit,) = [e for e in _events(session, f"application:{app_id}") if e.event == "submit"]
    assert submit.data["content_sha256"] == application.content_sha256 == content_digest(application.content)
    assert submit.data["rulebook_sha256"] == rulebook_sha256("2025") and len(submit.data["rulebook_sha256"]) == 64
    assert submit.data["row"]["state"] == "submitted" and submit.recorded_at is not None


def test_an_edit_records_a_json_diff(session: Session, trail: dict[str, Any]) -> None:
    (edit,) = [e for e in _events(session, f"application:{_app_id(trail, 'draft')}") if e.event == "edit_content"]
    assert edit.data["diff"] == [{"op": "replace", "path": "/title", "old": edit.data["diff"][0]["old"],
                                  "value": "修改后的项目名称"}]  # fmt: skip


def test_an_event_written_in_a_flow_records_the_flow_run(monkeypatch: pytest.MonkeyPatch) -> None:
    import prefect  # noqa: F401  (a flow run imports Prefect; the CLI alone never does)

    from states.audit import flow_run_facts

    assert flow_run_facts() is None
    monkeypatch.setenv("PREFECT__RUNTIME__FLOW_RUN__ID", "0192f0e4-0000-7000-8000-000000000001")
    monkeypatch.setenv("PREFECT__RUNTIME__FLOW_RUN__NAME", "daring-anchor")
    assert flow_run_facts() == {"id": "0192f0e4-0000-7000-8000-000000000001", "name": "daring-anchor"}


# ---- rows cross-checked with their chains -----------------------------------------------------------

ROW_EDITS = [
    ("state", "recognised"),
    ("review_level", 5),
    ("content_sha256", "0" * 64),
    ("ranks", {"sh.qingpu": 9}),
    ("milestones", {"notice_closes_on": "2099-01-01"}),
    ("cultivation_ends_on", datetime(2030, 1, 1).date()),
    ("open_objections", 0),
    ("title", "伪造的项目"),
]


@pytest.mark.parametrize(("column", "value"), ROW_EDITS, ids=[c for c, _ in ROW_EDITS])
def test_a_row_changed_without_an_event_is_reported_naming_the_column(
    engine: Engine, session: Session, trail: dict[str, Any], column: str, value: Any
) -> None:
    app_id = _app_id(trail, "public_notice" if column in ("open_objections", "milestones") else "in_cultivation")
    session.execute(update(Application).where(Application.id == app_id).values({column: value}))  # type: ignore[arg-type]
    session.commit()
    report = _fresh_verify(engine)
    assert not report.ok
    assert report.problems[0].startswith(f"application:{app_id} (row id {app_id}): column {column} is ")


def test_swapped_contents_are_reported(engine: Engine, session: Session, trail: dict[str, Any]) -> None:
    a, b = (session.get(Application, i) for i in trail["applications"][1:3])
    assert a is not None and b is not None
    ca, cb = dict(a.content), dict(b.content)
    session.execute(update(Application).where(Application.id == a.id).values(content=cb))  # type: ignore[arg-type]
    session.execute(update(Application).where(Application.id == b.id).values(content=ca))  # type: ignore[arg-type]
    session.commit()
    problems = _fresh_verify(engine).problems
    assert len(problems) == 2 and all("column content is" in p for p in problems)


def test_an_enterprise_edited_or_inserted_outside_the_services_is_reported(
    engine: Engine, session: Session, trail: dict[str, Any]
) -> None:
    first = session.scalars(select(Enterprise).order_by(Enterprise.id)).first()  # type: ignore[arg-type]
    assert first is not None
    session.execute(update(Enterprise).where(Enterprise.id == first.id).values(district="sh.minhang"))  # type: ignore[arg-type]
    session.add(Enterprise(credit_code="91310000MA1FL0000X", name="幽灵企业", province="sh", industry="装备制造",
                           created_at=NOW))  # fmt: skip
    session.commit()
    problems = _fresh_verify(engine).problems
    assert any(f"enterprise:{first.credit_code}" in p and "column district" in p for p in problems)
    assert any(p.startswith("enterprise:91310000MA1FL0000X") and "the row has no chain" in p for p in problems)


# ---- the anchor: nothing recorded before it changed or vanished ------------------------------------


def _anchor(session: Session) -> dict[str, Any]:
    return take_anchor(session, at=NOW)


def test_deleting_a_whole_application_and_its_chain_is_caught_only_with_the_anchor(
    engine: Engine, session: Session, trail: dict[str, Any]
) -> None:
    anchor = _anchor(session)
    app_id = _app_id(trail, "recognised")
    session.execute(delete(AuditEvent).where(AuditEvent.subject == f"application:{app_id}"))  # type: ignore[arg-type]
    session.execute(delete(OutboxMessage).where(OutboxMessage.application_id == app_id))  # type: ignore[arg-type]
    session.execute(delete(Application).where(Application.id == app_id))  # type: ignore[arg-type]
    session.commit()
    assert _fresh_verify(engine).ok  # the database alone can't know it existed
    problems = _fresh_verify(engine, anchor=anchor).problems
    assert problems == [f"application:{app_id}: the anchor of {anchor['taken_at']} holds "
                        f"{anchor['inventory'][[e[0] for e in anchor['inventory']].index(f'application:{app_id}')][1]} "
                        "events, the database none (whole chain deleted)"]  # fmt: skip


def test_deleting_an_enterprise_with_its_chain_is_caught_with_the_anchor(
    engine: Engine, session: Session, trail: dict[str, Any]
) -> None:
    from tests import factories as f

    lonely = f.enterprise(session, "sh.minhang")
    anchor = _anchor(session)
    subject = f"enterprise:{lonely.credit_code}"
    session.execute(delete(AuditEvent).where(AuditEvent.subject == subject))  # type: ignore[arg-type]
    session.execute(delete(AuditChain).where(AuditChain.subject == subject))  # type: ignore[arg-type]
    session.execute(text("DELETE FROM actor WHERE unit = :code"), {"code": lonely.credit_code})
    session.execute(delete(Enterprise).where(Enterprise.id == lonely.id))  # type: ignore[arg-type]
    session.commit()
    assert _fresh_verify(engine).ok
    (problem,) = _fresh_verify(engine, anchor=anchor).problems
    assert problem.startswith(f"{subject}: ") and "whole chain deleted" in problem


def test_a_truncated_unit_tail_with_a_fixed_head_is_caught_with_the_anchor(
    engine: Engine, session: Session, trail: dict[str, Any]
) -> None:
    anchor = _anchor(session)
    subject = "unit:sh.qingpu:2025"
    events = _events(session, subject)
    session.execute(delete(AuditEvent).where(AuditEvent.id == events[-1].id))  # type: ignore[arg-type]
    new_head = events[-2].hash if len(events) > 1 else ""
    session.execute(update(AuditChain).where(AuditChain.subject == subject).values(head=new_head,  # type: ignore[arg-type]
                                                                                   count=len(events) - 1))  # fmt: skip
    session.commit()
    assert _fresh_verify(engine).ok
    (problem,) = _fresh_verify(engine, anchor=anchor).problems
    assert problem.startswith(f"{subject}: ") and "tail removed" in problem


def test_anchor_file_altered_or_signed_with_another_key_fails(
    engine: Engine, session: Session, trail: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from models.settings import get_settings

    anchor = _anchor(session)
    assert _fresh_verify(engine, anchor=anchor).ok
    forged = {**anchor, "events": anchor["events"] - 1}
    assert "signature does not match" in _fresh_verify(engine, anchor=forged).problems[0]
    monkeypatch.setenv("FACTORY_REVIEW_AUDIT_KEY", "another key")
    get_settings.cache_clear()
    assert not _fresh_verify(engine, anchor=anchor).ok


def test_no_anchor_over_a_broken_trail_and_the_mail_goes_to_the_outbox(
    session: Session, trail: dict[str, Any]
) -> None:
    from models.errors import AuditBroken

    document = take_anchor(session, at=NOW, mail_to="auditors@miit.example.cn")
    mail = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "audit_anchor")).one()  # type: ignore[arg-type]
    assert mail.recipient == "auditors@miit.example.cn" and document["root"] in mail.body_text
    session.execute(update(AuditEvent).where(AuditEvent.id == 1).values(reason="rewritten"))  # type: ignore[arg-type]
    session.commit()
    with pytest.raises(AuditBroken) as caught:
        take_anchor(session, at=NOW)
    assert caught.value.exit_code == 3


# ---- the CLI: exit codes and lines -------------------------------------------------------------------


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from cli.main import main

    capsys.readouterr()
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_verify_exits_0_when_untouched_and_3_naming_the_first_bad_row(
    app_db: str, session: Session, trail: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    anchor_file = tmp_path / "anchor.json"
    code, out, _ = _cli(["audit", "anchor", "--output", str(anchor_file)], capsys)
    assert code == 0 and anchor_file.is_file(), out
    code, out, _ = _cli(["audit", "verify", "--anchor", str(anchor_file)], capsys)
    assert code == 0 and "audit ok" in out, out
    app_id = _app_id(trail, "local_review")
    session.execute(update(Application).where(Application.id == app_id).values(state="recommended"))  # type: ignore[arg-type]
    session.commit()
    code, out, _ = _cli(["audit", "verify", "--anchor", str(anchor_file)], capsys)
    assert code == 3
    assert out.splitlines()[0].startswith(f"broken application:{app_id} (row id {app_id}): column state is")
    code, out, _ = _cli(["--json", "audit", "verify"], capsys)
    assert code == 3 and json.loads(out)["ok"] is False


def test_cli_refusal_keeps_its_rule_and_clause(
    app_db: str, session: Session, trail: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    from tests import factories as f

    f.ministry(session)
    session.commit()  # SQLite: every transaction here is BEGIN IMMEDIATE; don't hold it across the CLI
    code, _, err = _cli(["act", str(_app_id(trail, "draft")), "recognise", "--as", "ministry_officer@miit"], capsys)
    assert code == 1
    assert err.rstrip().endswith("[lifecycle; the lifecycle table (`factory-review diagram`)]"), err


def test_cli_anchor_refuses_a_broken_trail_and_bad_anchor_file_is_bad_input(
    app_db: str, session: Session, trail: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "junk.json").write_text("{}", encoding="utf-8")
    code, _, err = _cli(["audit", "verify", "--anchor", str(tmp_path / "junk.json")], capsys)
    assert code == 2 and "not a factory-review audit anchor" in err
    session.execute(update(AuditEvent).where(AuditEvent.id == 2).values(actor_role="admin"))  # type: ignore[arg-type]
    session.commit()
    code, _, err = _cli(["audit", "anchor", "--output", str(tmp_path / "a.json")], capsys)
    assert code == 3 and not (tmp_path / "a.json").exists()


# ---- export, verified offline -----------------------------------------------------------------------


def test_export_verifies_offline_in_both_formats_and_catches_an_altered_file(
    app_db: str, session: Session, trail: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for fmt in ("jsonl", "csv"):
        folder = tmp_path / fmt
        code, _, _ = _cli(["audit", "export", "--format", fmt, "--output", str(folder)], capsys)
        assert code == 0
        assert _cli(["audit", "verify", "--export", str(folder)], capsys)[0] == 0
    assert (tmp_path / "csv" / "audit.csv").read_bytes().startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8
    lines = (tmp_path / "jsonl" / "audit.jsonl").read_text(encoding="utf-8").splitlines()
    (tmp_path / "jsonl" / "audit.jsonl").write_text("\n".join(lines[:3] + lines[4:]) + "\n", encoding="utf-8")
    code, out, _ = _cli(["audit", "verify", "--export", str(tmp_path / "jsonl")], capsys)
    assert code == 3 and "audit.jsonl: its SHA-256 is not the manifest's" in out


def test_a_rehashed_manifest_does_not_hide_a_removed_event(
    app_db: str, session: Session, trail: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import hashlib

    folder = tmp_path / "x"
    assert _cli(["audit", "export", "--format", "jsonl", "--output", str(folder)], capsys)[0] == 0
    path = folder / "audit.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")  # the last event of some chain
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"]["audit.jsonl"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    code, out, _ = _cli(["audit", "verify", "--export", str(folder)], capsys)
    assert code == 3 and ("tail removed" in out or "chain deleted" in out)


def test_filtered_exports_verify_offline(
    app_db: str, session: Session, trail: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app_id = _app_id(trail, "in_cultivation")
    for args in (["--application", str(app_id)], ["--since", "2025-09-01"]):
        folder = tmp_path / args[0].strip("-")
        assert _cli(["audit", "export", "--format", "csv", "--output", str(folder), *args], capsys)[0] == 0
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["events"] > 0
        code, out, _ = _cli(["audit", "verify", "--export", str(folder)], capsys)
        assert code == 0, out


def test_a_formula_like_reason_is_exported_as_text_and_still_verifies_offline(
    app_db: str, session: Session, trail: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests import factories as f

    f.fire(session, _app_id(trail, "draft"), "withdraw", reason='=HYPERLINK("http://evil.example","点此")')
    session.commit()
    assert _cli(["audit", "export", "--format", "csv", "--output", str(tmp_path)], capsys)[0] == 0
    assert "'=HYPERLINK" in (tmp_path / "audit.csv").read_text(encoding="utf-8-sig")  # never a live formula
    code, out, _ = _cli(["audit", "verify", "--export", str(tmp_path)], capsys)
    assert code == 0, out
