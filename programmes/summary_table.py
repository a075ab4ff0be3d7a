"""The recommendation summary table (推荐汇总表) as .xlsx, in the layouts of 附件3 (卓越级) and 附件5 (领航级),
and the paper set a unit sends with it (Sichuan/Chengdu: table ×6, applications ×3, pledge ×1, PDF scans).

Rows are the unit's ranked round in priority order (按优先次序排名); never more rows than the quota
(注：2.推荐数量不超过通知中规定的上限).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.worksheet.page import PageMargins
from sqlalchemy import select
from sqlmodel import Session, col

from models.cells import set_text_cell
from models.errors import NotFound, QuotaExceeded
from models.tables import Application, Enterprise, RecommendationRound
from programmes.season import Season, get_season

HEADERS: dict[str, list[str]] = {
    # 附件3 卓越级智能工厂项目推荐汇总表
    "excellent": [
        "序号",
        "申报单位名称",
        "卓越级智能工厂项目名称",
        "涉及典型场景实例（罗列）",
        "联系人",
        "联系方式（手机号）",
    ],
    # 附件5 领航级智能工厂项目推荐汇总表
    "leading": [
        "序号",
        "申报单位名称",
        "领航级智能工厂项目名称",
        "涉及典型场景实例（罗列）",
        "重点探索的未来制造模式清单",
        "联系人",
        "联系方式（手机号）",
    ],
}
TITLES = {"excellent": "卓越级智能工厂项目推荐汇总表", "leading": "领航级智能工厂项目推荐汇总表"}
ATTACHMENT = {"excellent": "附件3", "leading": "附件5"}
HEADER_ROW = 3  # row 1: title; row 2: 推荐单位（盖章）; row 3: the header


def _numbered(items: list[str], sep: str = "") -> str:
    return "\n".join(f"{i}.{text}{sep}" for i, text in enumerate(items, 1))


def summary_rows(session: Session, *, unit: str, tier: str, season: str) -> tuple[RecommendationRound, list[list[Any]]]:
    """The unit's ranked round and its rows, in priority order."""
    if tier not in HEADERS:
        raise NotFound(f"there is no summary table for tier {tier!r} (only 附件3 excellent, 附件5 leading)")
    round_ = session.scalars(
        select(RecommendationRound).where(
            col(RecommendationRound.season) == season,
            col(RecommendationRound.unit) == unit,
            col(RecommendationRound.tier) == tier,
        )
    ).first()
    if round_ is None:
        raise NotFound(
            f"{unit} has no ranked {tier} recommendation in season {season}; submit it first "
            "(factory-review recommend UNIT TIER APP_ID...)",
            rule="ranked-recommendation",
        )
    if round_.quota is not None and round_.counted_against_quota > round_.quota:
        raise QuotaExceeded(
            f"round {round_.id} counts {round_.counted_against_quota} against a quota of {round_.quota}",
            rule="quota",
            source="附件3/附件5 注2 (推荐数量不超过通知中规定的上限)",
        )
    rows: list[list[Any]] = []
    for rank, app_id in enumerate(round_.ranked_application_ids, 1):
        application = session.get(Application, app_id)
        if application is None:
            raise NotFound(f"application {app_id} of round {round_.id} is missing")
        enterprise = session.get(Enterprise, application.enterprise_id)
        assert enterprise is not None
        content = application.content or {}
        row: list[Any] = [rank, enterprise.name, application.title, _numbered(list(content.get("scenarios", [])))]
        if tier == "leading":
            row.append(_numbered(list(content.get("future_modes", [])), "；"))
        row += [
            content.get("contact_name") or enterprise.contact_name,
            content.get("contact_mobile") or enterprise.contact_phone,
        ]
        rows.append(row)
    return round_, rows


def paper_checklist(
    season: Season, unit: str, tier: str, applications: int, track: str = "national"
) -> list[dict[str, Any]]:
    """What `unit` sends up with the table: item, copies, and totals for per-application items."""
    paper = season.paper_set_for(unit, tier, track)
    if paper is None:
        return []
    out = []
    for item in paper.items:
        per_application = item.item in ("applications", "pledge")
        out.append(
            {
                "item": item.item,
                "name_zh": item.name_zh,
                "copies": item.copies,
                "total": item.copies * applications if per_application else item.copies,
                "per_application": per_application,
                "to": paper.to,
                "source": paper.source,
            }
        )
    return out


def print_as_form(ws: Any, *, header_row: int, last_row: int, columns: int) -> None:
    """The official form's print setup: landscape A4, one page wide, the title rows repeated on every page,
    every cell of the table bordered and wrapped (nothing cut), ready to stamp (盖章)."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages tall as the rows need
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"1:{header_row}"
    ws.print_options.horizontalCentered = True
    ws.page_margins = PageMargins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    edge = Side(style="thin")
    for row in ws.iter_rows(min_row=header_row, max_row=max(last_row, header_row), max_col=columns):
        for cell in row:
            cell.border = Border(left=edge, right=edge, top=edge, bottom=edge)
            cell.alignment = Alignment(vertical="top", wrap_text=True, horizontal=cell.alignment.horizontal)


def write_summary_table(session: Session, *, unit: str, tier: str, season: str | Season, path: str | Path) -> Path:
    """Write the unit's 推荐汇总表 for the tier as .xlsx (sheet 1) with the paper set (sheet 2)."""
    s = get_season(season)
    unit_name = s.unit(unit).name_zh
    round_, rows = summary_rows(session, unit=unit, tier=tier, season=s.name)
    headers = HEADERS[tier]
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "推荐汇总表"
    ws.cell(row=1, column=1, value=f"{ATTACHMENT[tier]}  {TITLES[tier]}").font = Font(bold=True, size=14)
    ws.cell(row=2, column=1, value=f"推荐单位（盖章）：{unit_name}")
    for column, header in enumerate(headers, 1):
        cell = ws.cell(row=HEADER_ROW, column=column, value=header)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    wrap = Alignment(vertical="top", wrap_text=True)
    for r, row in enumerate(rows, HEADER_ROW + 1):
        for column, value in enumerate(row, 1):
            cell = ws.cell(row=r, column=column)
            set_text_cell(cell, value)  # user text: `=HYPERLINK(…)` in a name stays text (models.cells)
            cell.alignment = wrap
    note_row = HEADER_ROW + len(rows) + 2
    ws.cell(
        row=note_row,
        column=1,
        value=f"注：1.推荐的{TITLES[tier][:3]}智能工厂项目按优先次序排名；2.推荐数量不超过通知中规定的上限。"
        + (f"（本单位名额：{round_.quota}）" if round_.quota is not None else ""),
    )
    for letter, width in zip("ABCDEFG", (6, 30, 30, 60, 40, 12, 16), strict=False):
        ws.column_dimensions[letter].width = width
    print_as_form(ws, header_row=HEADER_ROW, last_row=HEADER_ROW + len(rows), columns=len(headers))
    paper = wb.create_sheet("报送清单")
    paper.append(["材料", "份数", "合计", "报送至", "依据"])
    for r, item in enumerate(paper_checklist(s, unit, tier, len(rows)), 2):
        for column, value in enumerate([item["name_zh"], item["copies"], item["total"], item["to"], item["source"]], 1):
            set_text_cell(paper.cell(row=r, column=column), value)
    for letter, width in zip("ABCDE", (40, 8, 8, 30, 50), strict=True):
        paper.column_dimensions[letter].width = width
    print_as_form(paper, header_row=1, last_row=paper.max_row, columns=5)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def default_path(*, output_dir: str | None, season: str, unit: str, tier: str) -> Path:
    """Where a unit's summary table goes: `output_dir`, else <data dir>/out (the folder is created)."""
    from models.settings import get_settings

    folder = Path(output_dir) if output_dir else get_settings().data_dir / "out"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"summary-{season}-{unit}-{tier}.xlsx"


def read_table_rows(path: Path) -> list[dict[str, Any]]:
    """A written table's rows as dicts (the header row's cells are the keys), e.g. for a table artifact."""
    from openpyxl import load_workbook

    sheet = load_workbook(path, read_only=True).active
    assert sheet is not None
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    header_at = next((i for i, r in enumerate(rows) if r and str(r[0] or "").strip() in {"序号", "No."}), 0)
    header = [str(h or f"col{i}") for i, h in enumerate(rows[header_at])] if rows else []
    return [
        {h: ("" if v is None else v) for h, v in zip(header, r, strict=False)}
        for r in rows[header_at + 1 :]
        if any(v not in (None, "") for v in r)
    ]
