"""The audit trail catches an edited, a deleted, a reordered and an inserted event, and a deleted tail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bench.common import qingpu_enterprise
from models.database import make_engine, migrate
from models.enums import Role
from models.tables import Actor, Application
from states.audit import append_event, verify

T0 = datetime(2025, 7, 1, 2, 0, tzinfo=UTC)
ACTOR = Actor(name="审核员", email="a@example.cn", role=Role.LOCAL_OFFICER, unit="sh.qingpu")


@pytest.fixture
def chained(tmp_path: Path) -> Engine:
    """An enterprise's registration and two applications with five events each."""
    engine = make_engine(f"sqlite:///{tmp_path / 'audit.db'}")
    migrate(engine)
    with Session(engine) as session:
        enterprise = qingpu_enterprise(session, "MA1FL4WX0", "青浦精密制造有限公司", T0)
        append_event(session, subject=f"enterprise:{enterprise.credit_code}", actor=ACTOR,
                     event="register_enterprise", at=T0, record=enterprise)  # fmt: skip
        for _ in range(2):
            application = Application(
                enterprise_id=enterprise.id,
                tier="excellent",
                track="national",
                season="2025",
                created_at=T0,
                updated_at=T0,
            )
            session.add(application)
            session.flush()
            for i in range(5):
                append_event(
                    session,
                    subject=f"application:{application.id}",
                    application_id=application.id,
                    actor=ACTOR,
                    event=f"e{i}",
                    at=T0 + timedelta(hours=i),
                    from_state="draft",
                    to_state="draft",
                    data={"i": i, "名称": "中文"},
                )
        append_event(session, subject="unit:sh.qingpu:2025", actor=ACTOR, event="ranked_recommendation", at=T0)
        session.commit()
    return engine


def _problems(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return verify(session).problems


def test_intact_database_verifies(chained: Engine) -> None:
    with Session(chained) as session:
        report = verify(session)
    assert report.ok, report.problems
    assert (report.subjects, report.events, report.rows) == (4, 12, 3)


# Each tampering, as the SQL that does it, and what the one problem it leaves must name.
INSERT_FORGED = (  # a copy of application:1's event #2 as #3, after shifting #3.. up by one
    "INSERT INTO audit_event (subject, seq, application_id, actor_name, actor_role, actor_unit, event, from_state,"
    " to_state, reason, data, at, prev_hash, hash) SELECT subject, 3, application_id, actor_name, actor_role,"
    " actor_unit, 'forged', from_state, to_state, reason, data, at, prev_hash, '" + "f" * 64 + "'"
    " FROM audit_event WHERE subject = 'application:1' AND seq = 2"
)
TAMPERING = [
    pytest.param(
        ["UPDATE audit_event SET reason = 'changed later' WHERE subject = 'application:1' AND seq = 3"],
        ("application:1 event #3", "edited"),
        id="edited-event",
    ),
    pytest.param(
        ["DELETE FROM audit_event WHERE subject = 'application:1' AND seq = 2"], ("application:1",), id="deleted-event"
    ),
    pytest.param(
        [
            "UPDATE audit_event SET seq = 100 WHERE subject = 'application:2' AND seq = 2",
            "UPDATE audit_event SET seq = 2 WHERE subject = 'application:2' AND seq = 3",
            "UPDATE audit_event SET seq = 3 WHERE subject = 'application:2' AND seq = 100",
        ],
        ("application:2",),
        id="reordered-events",
    ),
    pytest.param(
        [  # shift the later events up by one (through 1000+ to step around the unique (subject, seq))
            "UPDATE audit_event SET seq = seq + 1000 WHERE subject = 'application:1' AND seq >= 3",
            "UPDATE audit_event SET seq = seq - 999 WHERE subject = 'application:1' AND seq > 1000",
            INSERT_FORGED,
        ],
        ("application:1",),
        id="inserted-event",
    ),
    # Removing the last events leaves a chain that is valid link by link: the head on the row catches it.
    pytest.param(
        ["DELETE FROM audit_event WHERE subject = 'application:2' AND seq >= 4"], ("tail removed",), id="deleted-tail"
    ),
]


@pytest.mark.parametrize(("statements", "named"), TAMPERING)
def test_tampering_is_caught(chained: Engine, statements: list[str], named: tuple[str, ...]) -> None:
    """One tampering leaves exactly one problem, which names what was touched."""
    with chained.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
    problems = _problems(chained)
    assert len(problems) == 1 and all(part in problems[0] for part in named)


def test_deleted_unit_tail_is_caught(chained: Engine) -> None:
    with chained.begin() as conn:
        conn.execute(text("DELETE FROM audit_event WHERE subject = 'unit:sh.qingpu:2025'"))
    assert any("unit:sh.qingpu:2025" in p for p in _problems(chained))


def test_keyed_chain_cannot_be_recomputed_without_the_key(chained: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """With FACTORY_REVIEW_AUDIT_KEY set, hashes are HMACs: a chain made without the key doesn't verify."""
    from models.settings import get_settings

    monkeypatch.setenv("FACTORY_REVIEW_AUDIT_KEY", "s3cret")
    get_settings.cache_clear()
    try:
        assert _problems(chained), "an unkeyed chain must not verify under a key"
    finally:
        monkeypatch.delenv("FACTORY_REVIEW_AUDIT_KEY")
        get_settings.cache_clear()
    assert not _problems(chained)
