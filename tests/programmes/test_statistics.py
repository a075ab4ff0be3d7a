"""Statistics as data (issue #15 item 1): template, whole-file checks naming row and column, versions,
audit, and the quotas computed from them (251 §2(二)2, §3(二)2)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from cli.main import main
from models.errors import InvalidInput, NotAuthorised
from models.tables import AuditEvent, StatisticsVersion
from programmes.recommendation import quota_overview
from programmes.season import get_season
from programmes.statistics import load_statistics, parse_statistics, read_cells, template_rows, write_template
from tests import factories as f

pytestmark = pytest.mark.sqlite_only  # no backend-specific SQL here (see tests/conftest.py)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "statistics-2025.csv"


def _rows() -> list[list[str]]:
    return list(csv.reader(EXAMPLE.read_text(encoding="utf-8-sig").splitlines()))


def _write(path: Path, rows: list[list[str]]) -> Path:
    path.write_text("\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8-sig")
    return path


def _versions(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(StatisticsVersion)) or 0)


def test_the_example_file_gives_every_province_both_figures() -> None:
    values = parse_statistics(get_season("2025"), read_cells(EXAMPLE), EXAMPLE.name)
    provinces = {u.code for u in get_season("2025").units if u.level == "province"}
    assert set(values["value_added_rank_2024"]) == provinces
    assert set(values["excellent_count_2024"]) == provinces
    assert sorted(values["value_added_rank_2024"].values()) == list(range(1, 32))


def test_a_wrong_file_is_refused_naming_row_and_column_and_loads_nothing(
    app_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = _rows()
    rows = [r for r in rows if r[0] != "he"]  # 河北省 missing
    rows[3][2] = "第三"  # text where a rank should be (row 4, column C)
    bad = _write(tmp_path / "bad.csv", rows)
    assert main(["actor", "add", "admin@miit", "--name", "统计管理员"]) == 0
    capsys.readouterr()
    assert main(["stats", "load", str(bad), "--as", "admin@miit"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "nothing loaded" in err
    assert "row 4, column C (value_added_rank_2024): '第三' is not a whole number" in err
    assert err.count("no row for 河北省 (he) in column A (unit)") == 1  # named once, not once per column
    assert "251 §2(二)2" in err
    from models.database import get_engine

    with Session(get_engine()) as session:
        assert _versions(session) == 0


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda rows: rows.append(["xx", "某地", "5", "1"]), "'xx' is not a unit these statistics cover"),
        (lambda rows: rows[2].__setitem__(2, rows[1][2]), "each value once"),
        (lambda rows: rows[1].__setitem__(3, ""), "row 2, column D (excellent_count_2024): empty"),
        (lambda rows: rows[1].__setitem__(2, "0"), "row 2, column C (value_added_rank_2024): 0 is below 1"),
        (lambda rows: rows.append(list(rows[1])), "bj already given in row 2"),
        (lambda rows: rows[0].__setitem__(3, "数量"), "lacks the column(s) 2024年获评卓越级智能工厂数量"),
    ],
)
def test_each_kind_of_mistake_names_its_place(edit, expected: str) -> None:  # type: ignore[no-untyped-def]
    rows: list[list[object]] = [list(r) for r in _rows()]
    edit(rows)
    with pytest.raises(InvalidInput) as caught:
        parse_statistics(get_season("2025"), rows, "f.csv")
    assert expected in str(caught.value)


def test_load_is_versioned_audited_and_idempotent(session: Session) -> None:
    season = get_season("2025")
    admin = f.admin(session, "miit")
    values = parse_statistics(season, read_cells(EXAMPLE), EXAMPLE.name)
    first, created = load_statistics(session, season, values, actor=admin, at=f.at("2025-07-01"), file_name="a.csv")
    assert created and first.version == 1
    again, created = load_statistics(session, season, values, actor=admin, at=f.at("2025-07-02"), file_name="a.csv")
    assert not created and again.id == first.id
    changed = {**values, "excellent_count_2024": {**values["excellent_count_2024"], "sh": 21}}
    second, created = load_statistics(session, season, changed, actor=admin, at=f.at("2025-07-03"), file_name="b.csv")
    assert created and second.version == 2
    events = session.scalars(select(AuditEvent).where(AuditEvent.subject == "statistics:2025")
                             .order_by(AuditEvent.seq)).all()  # fmt: skip
    assert [e.data["version"] for e in events] == [1, 2]
    assert events[1].data["changes"] == {"excellent_count_2024": {"sh": [15, 21]}}
    sh = {r["tier"]: r for r in quota_overview(session, season, ["sh"])}
    assert sh["leading"]["quota"] == 3 and "21" in sh["leading"]["rule"]  # 20(含)个以上不超过3个
    assert sh["excellent"]["quota"] == 30 and "251 §2(二)2" in sh["excellent"]["rule"]  # rank 12: 11~20位


def test_only_an_administrator_or_ministry_officer_at_the_ministry_may_load(session: Session) -> None:
    season = get_season("2025")
    values = parse_statistics(season, read_cells(EXAMPLE), EXAMPLE.name)
    with pytest.raises(NotAuthorised):
        load_statistics(session, season, values, actor=f.officer(session, "sh"), at=f.at("2025-07-01"))
    assert _versions(session) == 0


def test_the_template_round_trips_through_xlsx(session: Session, tmp_path: Path) -> None:
    season = get_season("2025")
    rows = template_rows(session, season)
    assert rows[0][0] == "单位代码 unit" and len(rows) == 32
    filled = [rows[0]] + [[r[0], r[1], i, 40 - i] for i, r in enumerate(rows[1:], start=1)]
    write_template(filled, tmp_path / "s.xlsx")
    values = parse_statistics(season, read_cells(tmp_path / "s.xlsx"), "s.xlsx")
    assert values["value_added_rank_2024"]["bj"] == 1 and values["excellent_count_2024"]["bj"] == 39


def test_quota_show_before_and_after_loading(app_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["quota", "show", "--unit", "sh", "--json"]) == 0
    before = {r["tier"]: r for r in json.loads(capsys.readouterr().out)}
    assert before["excellent"]["quota"] is None and before["excellent"]["rule"].startswith("unknown:")
    assert main(["actor", "add", "ministry_officer@miit", "--name", "秘书处"]) == 0
    assert main(["stats", "load", str(EXAMPLE), "--as", "ministry_officer@miit"]) == 0
    capsys.readouterr()
    assert main(["quota", "show", "--season", "2025", "--unit", "sh", "--unit", "soe.baowu", "--json"]) == 0
    after = {(r["unit"], r["tier"]): r for r in json.loads(capsys.readouterr().out)}
    assert after[("sh", "excellent")]["quota"] == 30
    assert after[("sh", "leading")]["quota"] == 2
    assert after[("soe.baowu", "excellent")]["quota"] == 5
    assert "251 §3(二)2" in after[("soe.baowu", "leading")]["rule"]
