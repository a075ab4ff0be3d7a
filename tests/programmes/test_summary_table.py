"""推荐汇总表 (附件3 / 附件5) as .xlsx, the paper set per jurisdiction, and the programme CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlmodel import Session
from typer.testing import CliRunner

from models.enums import Role
from models.errors import NotFound
from programmes.recommendation import submit_ranked_recommendation
from programmes.season import get_season
from programmes.summary_table import HEADER_ROW, HEADERS, paper_checklist, write_summary_table
from states.service import transition
from tests.programmes.conftest import T0, actor, applicant, make_application, make_enterprise

pytestmark = pytest.mark.sqlite_only  # no backend-specific SQL here (see tests/conftest.py)


def _round(session: Session, n: int = 2) -> list[int]:
    ids = []
    for _ in range(n):
        enterprise = make_enterprise(session)
        app = make_application(session, enterprise)
        transition(session, app.id, "submit", actor=applicant(session, enterprise), at=T0)  # type: ignore[arg-type]
        ids.append(app.id)
    submit_ranked_recommendation(session, unit="sh.qingpu", tier="excellent", ranked_application_ids=ids,  # type: ignore[arg-type]
                                 actor=actor(session, Role.LOCAL_OFFICER, "sh.qingpu"), at=T0)  # fmt: skip
    return ids  # type: ignore[return-value]


def test_excellent_summary_table_has_official_header_附件3(session: Session, tmp_path: Path) -> None:
    ids = _round(session)
    path = write_summary_table(session, unit="sh.qingpu", tier="excellent", season="2025", path=tmp_path / "t.xlsx")
    ws = load_workbook(path)["推荐汇总表"]
    header = [c.value for c in ws[HEADER_ROW]]
    assert header == HEADERS["excellent"] and header[2] == "卓越级智能工厂项目名称"
    # 附件3's columns are 附件5's (see the next test) for the other tier, without the future-modes column.
    assert header == [h.replace("领航级", "卓越级") for h in HEADERS["leading"] if h != "重点探索的未来制造模式清单"]
    assert ws.cell(HEADER_ROW + 1, 1).value == 1 and ws.cell(HEADER_ROW + 2, 1).value == 2
    assert str(ws.cell(HEADER_ROW + 1, 4).value).startswith("1.工厂建设—数字孪生工厂构建—")
    assert ws.cell(HEADER_ROW + len(ids) + 1, 1).value is None  # no more rows than the round
    assert ws.cell(2, 1).value == "推荐单位（盖章）：青浦区"


def test_leading_header_adds_future_modes_附件5() -> None:
    assert HEADERS["leading"][4] == "重点探索的未来制造模式清单" and len(HEADERS["leading"]) == 7


def test_no_round_no_table(session: Session, tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        write_summary_table(session, unit="sh.qingpu", tier="excellent", season="2025", path=tmp_path / "t.xlsx")


def test_paper_set_chengdu_and_sichuan_CD_319() -> None:
    """CD: table ×6, applications ×3, pledge ×1, PDF scans; 319: the same without the scans."""
    s = get_season("2025")
    chengdu = {i["item"]: i["total"] for i in paper_checklist(s, "sc.chengdu.wuhou", "excellent", 2)}
    assert chengdu == {"summary_table": 6, "applications": 6, "pledge": 2, "pdf_scans": 1}
    sichuan = {i["item"]: i["copies"] for i in paper_checklist(s, "sc.mianyang", "excellent", 1)}
    assert sichuan == {"summary_table": 6, "applications": 3, "pledge": 1}
    assert {i["item"] for i in paper_checklist(s, "sh", "excellent", 1)} >= {"recommendation_letter"}


def test_cli_season_validate_and_deadlines(tmp_path: Path) -> None:
    from cli.programme_cmds import app

    runner = CliRunner()
    ok = runner.invoke(app, ["season", "validate", "programmes/seasons/2026.yaml"])
    assert ok.exit_code == 0, ok.output
    out = runner.invoke(app, ["season", "deadlines", "2025"])
    assert "2025-07-11" in out.output and "430 §1(二)1" in out.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nunits: []\n", encoding="utf-8")
    refused = runner.invoke(app, ["season", "validate", str(bad)])
    assert refused.exit_code != 0 and "bad.yaml" in str(refused.exception)


def test_cli_recommend_and_summary_table(app_db: str, tmp_path: Path) -> None:
    from sqlmodel import Session as SqlSession

    from cli.programme_cmds import app
    from models.database import make_engine

    engine = make_engine(app_db)
    with SqlSession(engine, expire_on_commit=False) as session:
        enterprise = make_enterprise(session)
        application = make_application(session, enterprise)
        transition(session, application.id, "submit", actor=applicant(session, enterprise), at=T0)  # type: ignore[arg-type]
        actor(session, Role.LOCAL_OFFICER, "sh.qingpu")
        app_id = application.id
    engine.dispose()
    runner = CliRunner()
    late = runner.invoke(app, ["recommend", "sh.qingpu", "excellent", str(app_id), "--as", "local_officer@sh.qingpu",
                               "--now", "2025-07-12T00:00"])  # fmt: skip
    assert late.exit_code != 0 and "430 §1(二)2" in str(late.exception)
    ok = runner.invoke(app, ["recommend", "sh.qingpu", "excellent", str(app_id), "--as", "local_officer@sh.qingpu",
                             "--now", "2025-07-11T23:59"])  # fmt: skip
    assert ok.exit_code == 0, ok.output
    out = tmp_path / "table.xlsx"
    table = runner.invoke(app, ["summary-table", "sh.qingpu", "excellent", "--out", str(out)])
    assert table.exit_code == 0, table.output
    assert load_workbook(out)["推荐汇总表"].cell(HEADER_ROW + 1, 1).value == 1
