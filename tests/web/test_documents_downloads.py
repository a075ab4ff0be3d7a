"""Officers' downloads (issue 14 §4): the 推荐函, the 推荐汇总表 and the 公示名单 as PDF (and HTML) from the same
builders as `factory-review document`; scope-checked (another unit's letter is a 404); the PDF's text holds the
unit's and the enterprises' names."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session

from models.tables import Enterprise
from programmes.recommendation import submit_ranked_recommendation
from programmes.season import get_season
from tests import factories
from tests.documents.test_documents import pdf_text, squeeze
from tests.web.conftest import World

pytestmark = pytest.mark.sqlite_only  # no backend-specific SQL here (see tests/conftest.py)

QINGPU = "sh.qingpu"


def _round(session: Session, world: World) -> list[str]:
    """Qingpu's ranked excellent round over two applications; returns their enterprises' names."""
    second = factories.application(session, "submitted", unit=QINGPU)
    ids = [world.qingpu_app, second.id or 0]
    submit_ranked_recommendation(session, unit=QINGPU, tier="excellent", season="2025", ranked_application_ids=ids,
                                 actor=factories.officer(session, QINGPU), at=factories.at("2025-07-08"))  # fmt: skip
    other = session.get(Enterprise, second.enterprise_id)
    assert other is not None
    names = [world.qingpu_name, other.name]
    session.commit()  # last: an open transaction here would hold SQLite's write lock against the web app
    return names


def _pdf(response: Any) -> str:
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"] == "application/pdf" and response.content.startswith(b"%PDF")
    assert "attachment" in response.headers["content-disposition"]
    return squeeze(pdf_text(response.content))


def test_the_letter_and_the_summary_table_come_back_as_pdf_with_the_unit_and_enterprises(
    session: Session, world: World, client_for: Any
) -> None:
    names = _round(session, world)
    unit_name = get_season("2025").unit(QINGPU).name_zh
    client = client_for("qingpu")
    letter = _pdf(client.get("/documents/letter.pdf?tier=excellent"))
    assert "推荐函" in letter and squeeze(unit_name) in letter
    assert all(squeeze(n) in letter for n in names)
    table = _pdf(client.get("/documents/summary-table.pdf?tier=excellent&season=2025"))
    assert squeeze(unit_name) in table and all(squeeze(n) in table for n in names) and "盖章" in table
    html = client.get("/documents/letter.html?tier=excellent")
    assert html.headers["content-type"].startswith("text/html") and names[0] in html.text
    assert client.get("/documents").status_code == 200
    # the ministry reads any unit's documents; the xlsx beside them is unchanged
    assert names[0] in _pdf(client_for("ministry").get(f"/documents/letter.pdf?unit={QINGPU}"))


def test_another_units_documents_are_404_and_non_officers_get_none(
    session: Session, world: World, client_for: Any
) -> None:
    _round(session, world)
    minhang = client_for("minhang")
    for url in (f"/documents/letter.pdf?unit={QINGPU}", f"/documents/summary-table.html?unit={QINGPU}"):
        response = minhang.get(url)
        assert response.status_code == 404 and world.qingpu_name not in response.text, url
    own = minhang.get("/documents/letter.pdf")  # Minhang has submitted no round: the builder's line
    assert own.status_code == 404 and "no ranked excellent recommendation" in own.text
    for who in ("enterprise", "auditor"):
        assert client_for(who).get("/documents/letter.pdf").status_code == 404, who
        assert client_for(who).get("/documents/notice.pdf").status_code == 404, who
    assert client_for("qingpu").get("/documents/letter.docx").status_code == 404
    assert client_for("qingpu").get("/documents/letter.pdf?tier=basic").status_code == 404
    assert client_for(None).get("/documents/letter.pdf", follow_redirects=False).status_code == 303


def test_the_notice_list_pdf_names_the_enterprises_on_notice(session: Session, world: World, client_for: Any) -> None:
    on_notice = factories.application(session, "public_notice", unit="sh.minhang")
    ent = session.get(Enterprise, on_notice.enterprise_id)
    assert ent is not None
    session.commit()
    for who in ("city", "ministry"):
        text = _pdf(client_for(who).get("/documents/notice.pdf?tier=excellent"))
        assert "公示" in text and squeeze(ent.name) in text and squeeze(world.qingpu_name) not in text
    html = client_for("qingpu").get("/documents/notice.html")
    assert html.status_code == 200 and ent.name in html.text
