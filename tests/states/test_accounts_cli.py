"""Accounts, sign-in and the server clock through the real `factory-review` command (issue #11, "What it
must show"): a fresh production database, accounts granted by the CLI, decisions by the signed-in account."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import Session

from models.database import get_engine
from models.tables import Application, AuditEvent
from states.lifecycle import State
from tests import factories as f
from tests.states.accounts_helpers import cli, make_production, password_file

Capture = pytest.CaptureFixture[str]


@pytest.fixture
def production_db(app_db: str) -> Iterator[str]:
    make_production(app_db)
    yield app_db


@pytest.fixture
def pw(tmp_path: Path) -> str:
    return password_file(tmp_path)


def _sign_in(email: str, pw: str, capsys: Capture) -> None:
    code, _out, err = cli(["login", email, "--password-file", pw], capsys)
    assert code == 0, err


def _admin(pw: str, capsys: Capture) -> None:
    code, _, err = cli(["init", "--admin", "admin@miit.gov.cn", "--password-file", pw], capsys)
    assert code == 0, err
    _sign_in("admin@miit.gov.cn", pw, capsys)


def _grant(email: str, role: str, unit: str, pw: str, capsys: Capture, *extra: str) -> tuple[int, str]:
    code, _, err = cli(["account", "add", email, "--role", role, "--unit", unit, "--password-file", pw, *extra], capsys)
    return code, err


def _submitted(unit: str = "sh.qingpu") -> int:
    """A submitted application, made through the service (the replay-free part of the set-up)."""
    with Session(get_engine()) as session:
        app = f.application(session, State.SUBMITTED, unit=unit)
        assert app.id is not None
        return app.id


# ---- what it must show ---------------------------------------------------------------------------


def test_act_without_a_session_exits_non_zero_and_changes_nothing(production_db: str, capsys: Capture) -> None:
    app_id = _submitted()
    code, _, err = cli(["act", str(app_id), "return_for_revision", "--reason", "补充"], capsys)
    assert code == 1 and "not signed in" in err
    with Session(get_engine()) as session:
        assert session.get(Application, app_id).state == State.SUBMITTED  # type: ignore[union-attr]


def test_a_district_officer_cannot_decide_for_another_district(production_db: str, pw: str, capsys: Capture) -> None:
    app_id = _submitted("sh.qingpu")
    _admin(pw, capsys)
    assert _grant("pd@pudong.gov.cn", "local_officer", "sh.pudong", pw, capsys)[0] == 0
    assert _grant("qp@qingpu.gov.cn", "local_officer", "sh.qingpu", pw, capsys)[0] == 0
    _sign_in("pd@pudong.gov.cn", pw, capsys)
    code, _, err = cli(["act", str(app_id), "return_for_revision", "--reason", "补充"], capsys)
    # Outside its scope the application reads as unknown, as in `show` and the web's 404: its state is not
    # disclosed to another district.
    assert code == 2 and f"application {app_id} does not exist" in err and "submitted" not in err
    code, _, err = cli(["notice", "open", str(app_id), "--opens", "2025-09-26"], capsys)
    assert code == 2 and "does not exist" in err
    _sign_in("qp@qingpu.gov.cn", pw, capsys)
    code, _out, err = cli(["act", str(app_id), "return_for_revision", "--reason", "补充场景说明"], capsys)
    assert code == 0, err
    with Session(get_engine()) as session:
        last = session.scalars(select(AuditEvent).where(AuditEvent.application_id == app_id)
                               .order_by(AuditEvent.seq.desc())).first()  # type: ignore[union-attr]  # fmt: skip
        assert last is not None and (last.actor_role, last.actor_unit) == ("local_officer", "sh.qingpu")
        assert last.actor_name.endswith(f"#{3}")  # the account that acted, by id


def test_a_district_officer_cannot_grant_a_ministry_role(production_db: str, pw: str, capsys: Capture) -> None:
    _admin(pw, capsys)
    _grant("qp@qingpu.gov.cn", "local_officer", "sh.qingpu", pw, capsys)
    _sign_in("qp@qingpu.gov.cn", pw, capsys)
    code, err = _grant("m@miit.gov.cn", "ministry_officer", "miit", pw, capsys)
    assert code == 1 and "above its own" in err
    code, err = _grant("a@qingpu.gov.cn", "admin", "sh.qingpu", pw, capsys)
    assert code == 1 and "above its own" in err


@pytest.mark.parametrize("argv", [["--now", "2025-07-01", "whoami"], ["--now", "2025-07-01", "act", "1", "submit"],
                                  ["reminders", "sweep", "--now", "2025-07-11"], ["audit", "verify"]])  # fmt: skip
def test_a_fixed_clock_on_a_production_database_exits_2(
    production_db: str, capsys: Capture, monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> None:
    if "--now" not in argv:
        monkeypatch.setenv("FACTORY_REVIEW_NOW", "2025-07-01")
    code, _, err = cli(argv, capsys)
    assert code == 2 and "replay" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("season", ["/etc/passwd", "../x.yaml", "https://example.cn/2025.yaml", "2025.yaml", "nosuch"])
def test_a_season_path_url_or_unknown_name_is_refused(
    production_db: str, pw: str, capsys: Capture, tmp_path: Path, season: str
) -> None:
    from programmes.season import get_season
    from replay.synthetic import national_file

    with Session(get_engine(), expire_on_commit=False) as session:
        ent = f.enterprise(session, "sh.qingpu")
        raw = national_file(get_season("2025"), ent, "excellent")
    raw["season"] = season
    path = tmp_path / "app.json"
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    _admin(pw, capsys)
    _grant("e@ent.example.cn", "enterprise", "", pw, capsys, "--enterprise", ent.credit_code)
    _sign_in("e@ent.example.cn", pw, capsys)
    code, _, err = cli(["apply", str(path)], capsys)
    assert code == 2, err
    assert ("season-by-name" in err or "unknown-season" in err) and "root:" not in err
    with Session(get_engine()) as session:
        assert session.scalars(select(Application)).first() is None


def test_every_audit_event_has_a_real_recorded_at(production_db: str, pw: str, capsys: Capture) -> None:
    _admin(pw, capsys)
    _grant("qp@qingpu.gov.cn", "local_officer", "sh.qingpu", pw, capsys)
    cli(["login", "qp@qingpu.gov.cn", "--password-file", password_file(Path(pw).parent, "wrong password x", "bad")],
        capsys)  # fmt: skip
    with Session(get_engine()) as session:
        events = session.scalars(select(AuditEvent)).all()
    assert len(events) >= 4 and all(e.recorded_at is not None for e in events)
    assert all(abs((e.at - e.recorded_at).total_seconds()) < 60 for e in events)  # type: ignore[operator]


# ---- sign-in ---------------------------------------------------------------------------------------


def test_login_whoami_logout_and_the_token_file(production_db: str, pw: str, capsys: Capture) -> None:
    _admin(pw, capsys)
    token_file = Path(os.environ["XDG_CONFIG_HOME"]) / "factory-review" / "token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    token = token_file.read_text().strip()
    code, out, _ = cli(["--json", "whoami"], capsys)
    assert code == 0 and json.loads(out)["email"] == "admin@miit.gov.cn"
    assert json.loads(out)["database_mode"] == "production"
    assert cli(["logout"], capsys)[0] == 0 and not token_file.exists()
    code, _, err = cli(["whoami"], capsys)
    assert code == 1 and "not signed in" in err
    os.environ["FACTORY_REVIEW_TOKEN"] = token  # monkeypatch-free: removed below
    try:
        code, _, err = cli(["whoami"], capsys)
        assert code == 1 and "revoked" in err
    finally:
        del os.environ["FACTORY_REVIEW_TOKEN"]


def test_the_environment_token_serves_scripts(
    production_db: str, pw: str, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    _admin(pw, capsys)
    assert _grant("svc@deploy.example.cn", "local_officer", "sh.qingpu", pw, capsys, "--service")[0] == 0
    code, token, err = cli(["account", "token", "svc@deploy.example.cn", "--days", "7"], capsys)
    assert code == 0, err
    cli(["logout"], capsys)
    monkeypatch.setenv("FACTORY_REVIEW_TOKEN", token.strip())
    code, out, _ = cli(["--json", "whoami"], capsys)
    assert code == 0 and json.loads(out)["unit"] == "sh.qingpu" and json.loads(out)["service"] is True
    monkeypatch.delenv("FACTORY_REVIEW_TOKEN")
    code, _, err = cli(["login", "svc@deploy.example.cn", "--password-file", pw], capsys)
    assert code == 1  # a service account has no password


def test_five_wrong_passwords_lock_the_account(production_db: str, pw: str, capsys: Capture, tmp_path: Path) -> None:
    _admin(pw, capsys)
    bad = password_file(tmp_path, "not the password", "bad")
    for _ in range(5):
        assert cli(["login", "admin@miit.gov.cn", "--password-file", bad], capsys)[0] == 1
    code, _, err = cli(["login", "admin@miit.gov.cn", "--password-file", pw], capsys)
    assert code == 1 and "locked" in err and "[lock-out" in err


def test_the_first_admin_once_and_a_production_database_never_becomes_a_replay(
    production_db: str, pw: str, capsys: Capture
) -> None:
    _admin(pw, capsys)
    code, _, err = cli(["init", "--admin", "other@miit.gov.cn", "--password-file", pw], capsys)
    assert code == 1 and "exists already" in err
    code, _, err = cli(["init", "--replay"], capsys)
    assert code == 2 and "cannot become a replay" in err


def test_as_and_actor_add_are_replay_only(production_db: str, capsys: Capture) -> None:
    code, _, err = cli(["act", "1", "submit", "--as", "system@system"], capsys)
    assert code == 2 and "replay" in err
    code, _, err = cli(["actor", "add", "ministry_officer@miit", "--name", "冒充者"], capsys)
    assert code == 2 and "replay" in err


def test_account_list_shows_the_scope_only(production_db: str, pw: str, capsys: Capture) -> None:
    _admin(pw, capsys)
    for email, unit in (("sh@sh.gov.cn", "sh"), ("qp@qingpu.gov.cn", "sh.qingpu"), ("tj@tj.gov.cn", "tj")):
        _grant(email, "local_officer", unit, pw, capsys)
    _sign_in("sh@sh.gov.cn", pw, capsys)
    code, out, _ = cli(["--json", "account", "list"], capsys)
    assert code == 0 and {r["email"] for r in json.loads(out)} == {"sh@sh.gov.cn", "qp@qingpu.gov.cn"}


# ---- the CLI grant matrix: every granter role × target role × scope --------------------------------


@pytest.mark.sqlite_only  # the same grants through the service run on PostgreSQL too (test_accounts.py)
def test_cli_grant_matrix(production_db: str, pw: str, capsys: Capture) -> None:
    from tests.states.test_accounts import GRANTERS, TARGET_ROLES, expected_grant

    _admin(pw, capsys)
    for spec in GRANTERS[1:]:
        role, unit = spec.split("@")
        assert _grant(f"{role}.{unit}@granters.example.cn", role, unit, pw, capsys)[0] == 0
    n = 0
    for spec in GRANTERS:
        role, unit = spec.split("@")
        _sign_in("admin@miit.gov.cn" if spec == "admin@miit" else f"{role}.{unit}@granters.example.cn", pw, capsys)
        for target_role in TARGET_ROLES:
            for target_unit in ("sh", "sh.qingpu", "tj"):
                n += 1
                code, err = _grant(f"c{n}@cli.example.cn", target_role, target_unit, pw, capsys)
                want = {"ok": 0, "refused": 1, "input": 2}[expected_grant(spec, target_role, target_unit)]
                assert code == want, (spec, target_role, target_unit, err)


# ---- replay databases ------------------------------------------------------------------------------


def test_history_shows_the_real_time_beside_a_replayed_one_and_verify_says_replay(
    app_db: str, capsys: Capture
) -> None:
    app_id = _submitted()
    code, out, _ = cli(["history", str(app_id)], capsys)
    assert code == 0 and "recorded" in out
    code, out, _ = cli(["--json", "history", str(app_id)], capsys)
    rows = json.loads(out)
    assert all(r["recorded_at"] for r in rows) and any(r["recorded_differs"] for r in rows)
    code, out, _ = cli(["audit", "verify"], capsys)
    assert code == 0 and "replay database" in out


def test_a_replay_keeps_now_and_as(app_db: str, capsys: Capture) -> None:
    app_id = _submitted()
    with Session(get_engine()) as session:
        f.officer(session, "sh.qingpu")
    code, _, err = cli(["--now", "2025-07-10", "act", str(app_id), "return_for_revision", "--as",
                        "local_officer@sh.qingpu", "--reason", "补充"], capsys)  # fmt: skip
    assert code == 0, err


def test_history_on_production_is_read_within_the_scope(production_db: str, pw: str, capsys: Capture) -> None:
    app_id = _submitted("sh.qingpu")
    assert cli(["history", str(app_id)], capsys)[0] == 1  # not signed in
    _admin(pw, capsys)
    for email, role, unit in (("a@sh.gov.cn", "auditor", "sh"), ("pd@pudong.gov.cn", "local_officer", "sh.pudong")):
        _grant(email, role, unit, pw, capsys)
    _sign_in("a@sh.gov.cn", pw, capsys)
    code, out, _ = cli(["--json", "history", str(app_id)], capsys)
    assert code == 0 and [r["event"] for r in json.loads(out)][:2] == ["create", "submit"]
    _sign_in("pd@pudong.gov.cn", pw, capsys)
    code, _, err = cli(["show", str(app_id)], capsys)
    assert code == 2 and "does not exist" in err  # out of scope reads as unknown


def test_season_load_registers_a_rulebook_by_name_for_national_administrators(
    production_db: str, pw: str, capsys: Capture, tmp_path: Path
) -> None:
    from programmes.season import SEASONS_DIR, get_season

    text = (SEASONS_DIR / "2026.yaml").read_text(encoding="utf-8")
    copy = tmp_path / "rules.yaml"
    copy.write_text(text.replace('\nname: "2026"\n', "\nname: 2026b\n", 1), encoding="utf-8")
    _admin(pw, capsys)
    _grant("sh@sh.gov.cn", "admin", "sh", pw, capsys)
    code, out, err = cli(["--json", "season", "load", str(copy)], capsys)
    assert code == 0, err
    loaded = json.loads(out)
    assert loaded["season"] == "2026b" and get_season("2026b").sha256 == loaded["sha256"]
    shipped = tmp_path / "shipped.yaml"
    shipped.write_text(text, encoding="utf-8")
    assert cli(["season", "load", str(shipped)], capsys)[0] == 2  # a shipped name is never replaced
    _sign_in("sh@sh.gov.cn", pw, capsys)
    assert cli(["season", "load", str(copy)], capsys)[0] == 1  # provincial administrators don't load rulebooks
    with Session(get_engine()) as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.subject == "season:2026b")).all()
        assert [e.event for e in events] == ["load_season"] and events[0].data["sha256"] == loaded["sha256"]


def test_each_application_records_the_rulebook_it_is_judged_by(production_db: str) -> None:
    from programmes.season import get_season

    app_id = _submitted()
    with Session(get_engine()) as session:
        app = session.get(Application, app_id)
        assert app is not None and app.rulebook_sha256 == get_season(app.season).sha256
        assert len(app.rulebook_sha256 or "") == 64


def test_admin_commands_act_as_the_signed_in_account_without_as(production_db: str, pw: str, tmp_path: Path,
                                                                  capsys: Capture) -> None:  # fmt: skip
    """On production the statistics load is the signed-in administrator's; `--as` is refused there."""
    _admin(pw, capsys)
    figures = str(Path(__file__).resolve().parents[2] / "examples" / "statistics-2025.csv")
    code, _, err = cli(["stats", "load", figures, "--as", "admin@miit"], capsys)
    assert code == 2 and "replay-only" in err
    code, _out, err = cli(["stats", "load", figures], capsys)
    assert code == 0, err
    with Session(get_engine()) as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.subject.like("statistics:%"))).one()  # type: ignore[attr-defined]
    assert (event.actor_role, event.actor_unit) == ("admin", "miit")


def test_an_application_under_a_loaded_season_is_submitted_with_its_rulebook_hash(
        production_db: str, pw: str, tmp_path: Path, capsys: Capture) -> None:  # fmt: skip
    """A rulebook loaded with `season load` lives in the database, not in programmes/seasons/: the submit
    event records its hash from there (it used to look for <name>.yaml on disk and fail)."""
    from programmes.season import SEASONS_DIR
    from states.intake import create_application
    from states.service import transition

    text = (SEASONS_DIR / "2026.yaml").read_text(encoding="utf-8")
    copy = tmp_path / "rules.yaml"
    copy.write_text(text.replace('\nname: "2026"\n', "\nname: 2026b\n", 1), encoding="utf-8")
    _admin(pw, capsys)
    code, out, err = cli(["--json", "season", "load", str(copy)], capsys)
    assert code == 0, err
    loaded = json.loads(out)["sha256"]
    with Session(get_engine()) as session:
        ent = f.enterprise(session, "sh.qingpu")
        content = f.content_for(ent)
        row = create_application(session, enterprise_code=ent.credit_code, tier="excellent", track="national",
                                 season="2026b", title=content["title"], content=content, pledge=content["pledge"],
                                 actor=f.applicant(session, ent), at=f.at("2026-07-01"))  # fmt: skip
        assert row.id is not None and row.rulebook_sha256 == loaded
        transition(session, row.id, "submit", actor=f.applicant(session, ent), at=f.at("2026-07-02"))
        submit = session.scalars(select(AuditEvent).where(AuditEvent.application_id == row.id)
                                 .where(AuditEvent.event == "submit")).one()  # fmt: skip
        assert submit.data["rulebook_sha256"] == loaded and submit.data["season"] == "2026b"
