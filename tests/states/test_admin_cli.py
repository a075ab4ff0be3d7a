"""Issue #15 through the real `factory-review` entry point: lists, edits, one application per enterprise,
decision data per event, history in 80 columns, +08:00 times, the ICS calendar, options in one place."""

from __future__ import annotations

import io
import json
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from rich.cells import cell_len
from rich.console import Console
from sqlalchemy import select
from sqlmodel import Session

from cli.main import main
from models.tables import AuditEvent

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
QINGPU = "local_officer@sh.qingpu"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, " ".join(captured.err.split())


@pytest.fixture
def season_db(app_db: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["enterprise", "add", str(EXAMPLES / "enterprises.yaml")]) == 0
    assert main(["actor", "add", QINGPU, "--name", "青浦区经委", "--email", "qp@example.cn"]) == 0
    assert main(["--now", "2025-07-05", "apply", str(EXAMPLES / "excellent.yaml"), "--submit"]) == 0
    capsys.readouterr()
    return app_db


def _events(event: str) -> list[AuditEvent]:
    from models.database import get_engine

    with Session(get_engine()) as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.event == event)).all())


def test_application_list_state_submitted_json(season_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "application", "list", "--state", "submitted", "--json", "--now", "2025-07-06")
    assert code == 0
    rows = json.loads(out)
    assert [(r["id"], r["state"], r["holder"], r["holder_name"]) for r in rows] == [
        (1, "submitted", "sh.qingpu", "青浦区")
    ]
    assert rows[0]["enterprise"] == "上海青浦示例精密制造有限公司" and rows[0]["submitted_at"].endswith("(+08:00)")
    assert rows[0]["waiting_for"] == "recommend" and rows[0]["overdue"] is False
    code, out, _ = run(capsys, "--now", "2025-07-30", "application", "list", "--overdue", "--json")
    assert [r["id"] for r in json.loads(out)] == [1]  # Qingpu's recommendation deadline has passed
    code, out, _ = run(capsys, "application", "list", "--state", "draft", "--json")
    assert json.loads(out) == []


def test_enterprise_list_filters_by_their_applications(season_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "enterprise", "list", "--json")
    everyone = {r["credit_code"]: r["applications"] for r in json.loads(out)}
    assert code == 0 and len(everyone) > 1
    code, out, _ = run(capsys, "--now", "2025-07-06", "enterprise", "list", "--state", "submitted", "--tier",
                       "excellent", "--season", "2025", "--json")  # fmt: skip
    matching = [(r["name"], r["applications"]) for r in json.loads(out)]
    assert code == 0 and matching == [("上海青浦示例精密制造有限公司", 1)]
    code, out, _ = run(capsys, "--now", "2025-07-06", "enterprise", "list", "--overdue", "--json")
    assert json.loads(out) == []
    code, out, _ = run(capsys, "--now", "2025-07-30", "enterprise", "list", "--overdue", "--json")
    assert [r["name"] for r in json.loads(out)] == ["上海青浦示例精密制造有限公司"]


def test_lists_as_csv_carry_a_bom_and_tables_name_units(season_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "application", "list", "--csv")
    assert code == 0 and out.startswith("\ufeffid,enterprise,")
    code, out, _ = run(capsys, "enterprise", "list", "--unit", "sh", "--csv")
    assert out.startswith("\ufeff") and "上海浦东示例航空装备有限公司" in out and "天津" not in out
    code, out, _ = run(capsys, "enterprise", "list")
    assert "青浦区" in out


def test_history_fits_80_columns(season_db: str, capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    long_reason = "补充场景说明：请按附件3示例补全环节—场景—实例，并说明人工智能技术应用场景比例的计算口径" * 2
    returned = ["--now", "2025-07-06", "act", "1", "return_for_revision", "--as", QINGPU, "--reason", long_reason]
    assert main(returned) == 0
    capsys.readouterr()
    monkeypatch.setenv("COLUMNS", "80")
    buffer = io.StringIO()
    monkeypatch.setattr("cli.main.console", Console(file=buffer))  # reads COLUMNS=80 like a terminal would
    assert main(["history", "1"]) == 0
    lines = buffer.getvalue().splitlines()
    assert max(cell_len(line) for line in lines) <= 80
    text = buffer.getvalue()
    assert "2025-07-06 09:00 (+08:00)" in text and "CST" not in text
    assert "return_for_revision" in text and "submitted → returned" in text
    assert "人工智能技术应用场景比例" in text.replace("\n", "").replace(" ", "")
    assert '"_table"' not in text  # the row snapshot `audit verify` replays is for --json, not for readers
    capsys.readouterr()
    assert main(["history", "1", "--json"]) == 0
    assert '\\"_table\\": \\"application\\"' in capsys.readouterr().out


def test_a_second_application_is_refused_with_the_existing_number(
    season_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "--now", "2025-07-06", "apply", str(EXAMPLES / "excellent.yaml"))
    assert code == 1
    assert "already has a excellent application for season 2025: application 1 (submitted)" in err
    assert "[one-application;" in err


def test_a_refused_submit_says_what_it_left(season_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--now", "2025-07-20", "apply", str(EXAMPLES / "leading.yaml"), "--submit")
    assert code == 1
    assert "application 2 was kept as a draft" in err and "application edit 2 FILE" in err
    code, out, _ = run(capsys, "application", "list", "--state", "draft", "--json")
    assert [r["id"] for r in json.loads(out)] == [2]


def test_edit_a_returned_application_records_the_diff(season_db: str, capsys: pytest.CaptureFixture[str],
                                                      tmp_path: Path) -> None:  # fmt: skip
    frozen, _, err = run(capsys, "application", "edit", "1", str(EXAMPLES / "excellent.yaml"))
    assert frozen == 1 and "content-frozen" in err
    assert main(["--now", "2025-07-06", "act", "1", "return_for_revision", "--as", QINGPU, "--reason", "补充"]) == 0
    data = yaml.safe_load((EXAMPLES / "excellent.yaml").read_text(encoding="utf-8"))
    data["title"] = "新能源汽车电驱壳体卓越级智能工厂（修订）"
    data["ai_scenario_ratio"] = 40
    edited = tmp_path / "edited.yaml"
    edited.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    capsys.readouterr()
    code, out, _ = run(capsys, "--now", "2025-07-07", "application", "edit", "1", str(edited), "--json")
    assert code == 0 and json.loads(out)["changed"] == ["ai_scenario_ratio", "title"]
    (event,) = _events("edit_content")
    diff = {d["path"]: d for d in event.data["diff"]}  # the edit's JSON diff (issue 12 §4)
    assert (diff["/title"]["old"], diff["/title"]["value"]) == ("新能源汽车电驱壳体卓越级智能工厂", data["title"])
    assert (diff["/ai_scenario_ratio"]["old"], diff["/ai_scenario_ratio"]["value"]) == ("33.3", "40")
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump({**data, "tier": "leading"}, allow_unicode=True), encoding="utf-8")
    code, _, err = run(capsys, "application", "edit", "1", str(other))
    assert code == 2 and "application-edit" in err


def test_decision_data_is_checked_per_event(season_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--now", "2025-07-06", "act", "1", "return_for_revision", "--as", QINGPU, "--reason", "补充"]) == 0
    capsys.readouterr()
    applicant = "enterprise@91310118MA1EXA001D"
    code, _, err = run(capsys, "--now", "2025-07-07", "act", "1", "resubmit", "--as", applicant,
                       "--data", '{"milestone": {"onsite_verified_on": "2025-07-01"}}')  # fmt: skip
    assert code == 2
    assert "'resubmit' data: milestone is not a field of this event (it accepts: no data)" in err
    code, _, err = run(capsys, "--now", "2025-07-07", "act", "1", "resubmit", "--as", applicant)
    assert code == 0
    code, _, err = run(capsys, "--now", "2025-07-08", "act", "1", "recommend", "--as", QINGPU,
                       "--data", '{"rank": "first"}')  # fmt: skip
    assert code == 2 and "'recommend' data: rank" in err and "valid integer" in err
    code, _, err = run(capsys, "--now", "2025-07-08", "act", "1", "recommend", "--as", QINGPU,
                       "--data", '{"review_level": 3}')  # fmt: skip
    assert code == 2 and "review_level is not a field of this event (it accepts: rank)" in err


def test_enterprise_update_is_audited(season_db: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["actor", "add", "admin@sh", "--name", "市经信委管理员"]) == 0
    change = tmp_path / "change.yaml"
    change.write_text("credit_code: 91310118MA1EXA001D\ncontact_phone: '13900000009'\n", encoding="utf-8")
    capsys.readouterr()
    code, out, _ = run(capsys, "--now", "2025-07-06", "enterprise", "update", str(change), "--as", "admin@sh", "--json")
    assert code == 0
    assert json.loads(out)[0]["changes"] == {"contact_phone": ["13800000001", "13900000009"]}
    (event,) = _events("update_enterprise")
    assert event.actor_role == "admin" and event.subject == "enterprise:91310118MA1EXA001D"
    bad = tmp_path / "bad.yaml"
    bad.write_text("credit_code: 91310118MA1EXA001D\ndistrict: sh.nowhere\n", encoding="utf-8")
    code, _, err = run(capsys, "enterprise", "update", str(bad), "--as", "admin@sh")
    assert code == 2 and "sh.nowhere" in err


def test_options_go_before_or_after_the_command(season_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "enterprise", "list", "--json", "--now", "2025-07-10")
    assert code == 0 and len(json.loads(out)) == 5
    code, out, _ = run(capsys, "show", "1", "--json")
    assert code == 0 and json.loads(out)["id"] == 1


def _unfold(text: str) -> list[str]:
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    physical = text.split("\r\n")[:-1]
    assert all(len(line.encode("utf-8")) <= 75 for line in physical)  # RFC 5545 §3.1
    lines: list[str] = []
    for line in physical:
        if line.startswith(" "):
            lines[-1] += line[1:]
        else:
            lines.append(line)
    return lines


def test_calendar_is_valid_icalendar_in_asia_shanghai(app_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--now", "2025-07-01", "calendar", "--unit", "sh.qingpu")
    assert code == 0
    lines = _unfold(out)
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    assert "VERSION:2.0" in lines and any(line.startswith("PRODID:") for line in lines)
    stack: list[str] = []
    events: list[dict[str, str]] = []
    for line in lines:
        name, _, value = line.partition(":")
        if name == "BEGIN":
            stack.append(value)
            if value == "VEVENT":
                events.append({})
        elif name == "END":
            assert stack.pop() == value
        elif stack and stack[-1] == "VEVENT":
            events[-1][name] = value
    assert not stack and events
    assert len({e["UID"] for e in events}) == len(events)
    starts = {}
    for e in events:
        assert re.fullmatch(r"\d{8}T\d{6}Z", e["DTSTAMP"])
        stamp = e["DTSTART;TZID=Asia/Shanghai"]
        starts[e["SUMMARY"]] = datetime.strptime(stamp, "%Y%m%dT%H%M%S").replace(tzinfo=ZoneInfo("Asia/Shanghai"))
    submit = next(v for k, v in starts.items() if "430" in next(e["DESCRIPTION"] for e in events if e["SUMMARY"] == k))
    assert submit.isoformat().startswith("2025-07-11T23:59:00+08:00")
    assert "TZID:Asia/Shanghai" in lines
    assert any("2025-08-31" in s.date().isoformat() for s in starts.values())  # Qingpu's own call (QP §5(一))


def test_qingpu_notice_and_objections_through_options(season_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--now", "2025-08-20", "apply", str(EXAMPLES / "qingpu-factory.yaml"), "--submit"]) == 0
    assert main(["--now", "2025-09-10", "act", "2", "pass_first_check", "--as", QINGPU]) == 0
    capsys.readouterr()
    code, _, err = run(capsys, "--now", "2025-09-26", "notice", "open", "2", "--opens", "2025-09-26",
                       "--closes", "2025-10-09", "--as", QINGPU)  # fmt: skip
    assert code == 2 and "closes on 2025-10-10" in err and "QP §5(二)" in err
    code, out, _ = run(capsys, "--now", "2025-09-26", "notice", "open", "2", "--opens", "2025-09-26", "--as", QINGPU,
                       "--json")  # fmt: skip
    assert code == 0 and json.loads(out)[0]["to_state"] == "public_notice"
    assert main(["--now", "2025-10-09", "objection", "raise", "2", "--reason", "投资额存疑", "--as", QINGPU]) == 0
    assert main(["--now", "2025-10-10", "objection", "dismiss", "2", "--reason", "核实无误", "--as", QINGPU]) == 0
    capsys.readouterr()
    code, out, _ = run(capsys, "--now", "2025-10-11", "act", "2", "designate", "--as", QINGPU, "--json")
    assert code == 0 and json.loads(out)["to_state"] == "designated"


def test_hoisting_moves_only_the_global_options() -> None:
    from cli.context import hoist_global_options

    assert hoist_global_options(["history", "3", "--json", "--now", "2025-07-10"]) == [
        "--json", "--now", "2025-07-10", "history", "3"
    ]  # fmt: skip
    assert hoist_global_options(["act", "1", "submit", "--now=2025-07-10", "--", "--json"]) == [
        "--now=2025-07-10", "act", "1", "submit", "--", "--json"
    ]  # fmt: skip


def test_enterprise_add_says_what_it_left_unchanged(season_db: str, capsys: pytest.CaptureFixture[str],
                                                    tmp_path: Path) -> None:  # fmt: skip
    changed = tmp_path / "e.yaml"
    changed.write_text((EXAMPLES / "enterprises.yaml").read_text(encoding="utf-8").replace("13800000001", "139"),
                       encoding="utf-8")  # fmt: skip
    code, out, _ = run(capsys, "enterprise", "add", str(changed), "--json")
    assert code == 0 and json.loads(out)[0]["unchanged_fields"] == ["contact_phone"]
