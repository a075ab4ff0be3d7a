"""Official documents: the 申报书 PDF carries the enterprise and the frozen hash; only its readers get it; the
paper-copy register records matches and mismatches; the 推荐汇总表 prints as a form."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlmodel import Session

from documents.builders import application_html, pledge_html, summary_table_html
from documents.render import html_to_pdf
from models.errors import InvalidInput, NotAuthorised, NotFound
from models.tables import AuditEvent, Enterprise, PaperCopy
from programmes.paper_copies import PaperCopyMismatch, record_paper_copy
from programmes.recommendation import submit_ranked_recommendation
from programmes.summary_table import HEADER_ROW, write_summary_table
from tests import factories as f

pytestmark = pytest.mark.sqlite_only  # no backend-specific SQL here (see tests/conftest.py)


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return "".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_the_application_pdf_holds_the_enterprise_name_and_the_frozen_hash(session: Session) -> None:
    app = f.application(session, "submitted")
    ent = session.get(Enterprise, app.enterprise_id)
    assert ent is not None and app.content_sha256
    pdf = html_to_pdf(application_html(session, app.id or 0, f.applicant(session, ent)))
    text = squeeze(pdf_text(pdf))
    assert pdf.startswith(b"%PDF") and ent.name in text and app.content_sha256 in text
    assert "申报书" in text and "<svg" in application_html(session, app.id or 0, f.applicant(session, ent))


def test_the_pledge_pdf_is_tied_to_the_frozen_hash(session: Session) -> None:
    app = f.application(session, "submitted")
    ent = session.get(Enterprise, app.enterprise_id)
    assert ent is not None and app.content_sha256
    text = squeeze(pdf_text(html_to_pdf(pledge_html(session, app.id or 0, f.officer(session, "sh.qingpu")))))
    assert "真实性承诺" in text and ent.name in text and app.content_sha256 in text


def test_another_enterprise_or_another_district_cannot_open_the_documents(session: Session) -> None:
    app = f.application(session, "submitted")
    stranger = f.applicant(session, f.enterprise(session, "sh.pudong"))
    for reader in (stranger, f.officer(session, "sh.pudong")):
        with pytest.raises(NotFound):
            application_html(session, app.id or 0, reader)
    assert application_html(session, app.id or 0, f.officer(session, "sh"))  # the city above it reads it
    assert application_html(session, app.id or 0, f.ministry(session))


def test_the_paper_copy_register_records_a_match_and_records_then_refuses_a_mismatch(session: Session) -> None:
    app = f.application(session, "submitted")
    officer = f.officer(session, "sh.qingpu")
    printed = " ".join(re.findall(".{8}", (app.content_sha256 or "").upper()))  # as typed from the paper
    ok = record_paper_copy(
        session, application_id=app.id or 0, printed_sha256=printed, actor=officer, at=f.at("2025-07-08")
    )
    assert ok.matches and ok.unit == "sh.qingpu"
    wrong = "0" * 64
    with pytest.raises(PaperCopyMismatch) as refused:
        record_paper_copy(
            session, application_id=app.id or 0, printed_sha256=wrong, actor=officer, at=f.at("2025-07-09")
        )
    assert "251 §2(二)3" in str(refused.value)
    rows = session.scalars(select(PaperCopy).where(PaperCopy.application_id == app.id)).all()  # type: ignore[arg-type]
    assert [r.matches for r in rows] == [True, False]
    events = session.scalars(select(AuditEvent.event).where(AuditEvent.subject == f"paper-copy:{app.id}")).all()  # type: ignore[call-overload, arg-type]
    assert list(events) == ["paper_copy_received", "paper_copy_mismatch"]


def test_a_bad_hash_or_a_unit_outside_the_chain_changes_nothing(session: Session) -> None:
    app = f.application(session, "submitted")
    with pytest.raises(InvalidInput):
        record_paper_copy(
            session,
            application_id=app.id or 0,
            printed_sha256="not a hash",
            actor=f.officer(session, "sh.qingpu"),
            at=f.at("2025-07-08"),
        )
    with pytest.raises(NotAuthorised):
        record_paper_copy(
            session,
            application_id=app.id or 0,
            printed_sha256=app.content_sha256 or "",
            actor=f.officer(session, "sh.pudong"),
            at=f.at("2025-07-08"),
        )
    assert session.scalars(select(PaperCopy)).all() == []


def _round(session: Session) -> str:
    apps = [f.application(session, "submitted") for _ in range(2)]
    submit_ranked_recommendation(
        session,
        unit="sh.qingpu",
        tier="excellent",
        season="2025",
        ranked_application_ids=[a.id or 0 for a in apps],
        actor=f.officer(session, "sh.qingpu"),
        at=f.at("2025-07-08"),
    )
    return "sh.qingpu"


def test_the_summary_table_xlsx_prints_as_the_official_form(session: Session, tmp_path: Path) -> None:
    unit = _round(session)
    path = write_summary_table(session, unit=unit, tier="excellent", season="2025", path=tmp_path / "t.xlsx")
    wb = load_workbook(path)
    for ws in (wb["推荐汇总表"], wb["报送清单"]):
        assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == int(ws.PAPERSIZE_A4)
        assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0
        assert ws.sheet_properties.pageSetUpPr.fitToPage
    table = wb["推荐汇总表"]
    assert table.print_title_rows == f"$1:${HEADER_ROW}"
    first = table.cell(HEADER_ROW + 1, 2)
    assert first.border.left.style == "thin" and first.alignment.wrap_text


def test_the_summary_table_pdf_is_landscape_and_ready_to_stamp(session: Session) -> None:
    from pypdf import PdfReader

    unit = _round(session)
    pdf = html_to_pdf(
        summary_table_html(session, unit=unit, tier="excellent", season="2025", viewer=f.officer(session, unit))
    )
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    assert float(page.mediabox.width) > float(page.mediabox.height)
    assert "推荐单位（盖章）" in squeeze(pdf_text(pdf))
