"""The paper-copy register on the application page (issue 14 §4; 251 §2(二)3 纸质材料与线上一致): the officer
records the arrival and the hash printed on the 申报书; a match is recorded, a mismatch is recorded and then
refused on the page, a malformed hash changes nothing; auditors read, other districts get a 404."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from models.tables import Application, AuditEvent, PaperCopy
from tests.web.conftest import World, csrf_of

pytestmark = pytest.mark.sqlite_only  # no backend-specific SQL here (see tests/conftest.py)


def _counts(engine: Engine, app_id: int) -> tuple[int, int]:
    with Session(engine) as session:
        copies = session.scalar(select(func.count()).select_from(PaperCopy)
                                .where(col(PaperCopy.application_id) == app_id))  # fmt: skip
        events = session.scalar(select(func.count()).select_from(AuditEvent)
                                .where(col(AuditEvent.subject) == f"paper-copy:{app_id}"))  # fmt: skip
        return int(copies or 0), int(events or 0)


def _frozen(engine: Engine, app_id: int) -> str:
    with Session(engine) as session:
        row = session.get(Application, app_id)
        assert row is not None and row.content_sha256
        return row.content_sha256


def _post(client: Any, app_id: int, printed: str) -> Any:
    csrf = csrf_of(client.get(f"/applications/{app_id}").text)
    return client.post(f"/applications/{app_id}/paper-copy", follow_redirects=False,
                       data={"printed_sha256": printed, "note": "快递 SF123", "csrf_token": csrf})  # fmt: skip


def test_a_match_is_recorded_a_mismatch_recorded_and_refused_a_malformed_hash_changes_nothing(
    client_for: Any, world: World, engine: Engine
) -> None:
    officer, app_id = client_for("qingpu"), world.qingpu_app
    frozen = _frozen(engine, app_id)
    assert "登记纸质材料" in officer.get(f"/applications/{app_id}").text
    bad = _post(officer, app_id, "not a hash")
    assert bad.status_code == 422 and "paper-copy-hash" in bad.text and _counts(engine, app_id) == (0, 0)
    differs = _post(officer, app_id, "0" * 64)
    assert differs.status_code == 409 and "they differ (recorded)" in differs.text
    assert _counts(engine, app_id) == (1, 1)
    spaced = " ".join(frozen[i : i + 8] for i in range(0, 64, 8)).upper()  # as read off the paper
    assert _post(officer, app_id, spaced).status_code == 303
    page = officer.get(f"/applications/{app_id}").text
    assert "与线上一致" in page and "与线上不一致" in page and _counts(engine, app_id) == (2, 2)


def test_an_auditor_reads_the_register_and_another_district_gets_a_404(
    client_for: Any, world: World, engine: Engine
) -> None:
    app_id = world.qingpu_app
    auditor = client_for("auditor")
    assert "登记纸质材料" not in auditor.get(f"/applications/{app_id}").text
    assert client_for("minhang").get(f"/applications/{app_id}").status_code == 404
    minhang = client_for("minhang")
    csrf = csrf_of(minhang.get(f"/applications/{world.minhang_app}").text)
    refused = minhang.post(f"/applications/{app_id}/paper-copy", data={"printed_sha256": "0" * 64, "csrf_token": csrf})
    assert refused.status_code == 404 and _counts(engine, app_id) == (0, 0)
