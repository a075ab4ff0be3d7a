"""Notifications that are right and useful (issue 15 item 5) and the due-item index (issue 18 item 1).

Real 2025 season, applications walked through the one door; reminders rendered as the sender would.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.clock import SHANGHAI
from models.settings import get_settings
from models.tables import RECHECK, Application, OutboxMessage
from notifications import due
from notifications.kinds import POLICY_PATH, load_policy
from notifications.outbox import render_queued
from notifications.reminders import Deadlines, sweep
from programmes.season import get_season
from states.lifecycle import State
from tests import factories as f

PLATFORM = "https://zngc.example.gov.cn"


@pytest.fixture(autouse=True)
def platform(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACTORY_REVIEW_PLATFORM_URL", PLATFORM)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def mails(engine: Engine, **where: str) -> list[OutboxMessage]:
    render_queued(engine)
    with Session(engine) as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        for name, value in where.items():
            query = query.where(getattr(OutboxMessage, name) == value)
        return list(session.scalars(query))


def at(day: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00").replace(tzinfo=SHANGHAI)


def test_withdrawal_tells_the_unit_that_held_the_application(session: Session, engine: Engine) -> None:
    held = f.application(session, State.SUBMITTED)
    qingpu = f.officer(session, "sh.qingpu")
    f.fire(session, held.id, "withdraw")
    [mail] = [m for m in mails(engine, recipient=qingpu.email) if "撤回" in m.body_text]
    assert held.title in mail.body_text
    enterprise = session.get(f.Enterprise, held.enterprise_id)
    assert enterprise is not None and f"（{enterprise.name}）" in mail.body_text  # who acted, by name
    assert enterprise.credit_code not in mail.body_text


def test_transition_mail_names_units_and_enterprises_and_carries_link_contact_and_notice(
    session: Session, engine: Engine
) -> None:
    app = f.application(session, State.SUBMITTED)
    enterprise_name = session.get(f.Enterprise, app.enterprise_id).name  # type: ignore[union-attr]
    f.fire(session, app.id, "return_for_revision")
    [mail] = [m for m in mails(engine, kind="transition") if "退回" in m.body_text or "revision" in m.body_text]
    for body in (mail.body_text, mail.body_html):
        assert enterprise_name in body
        assert "青浦区经济委员会" in body and "sh.qingpu" not in body.replace("sh.qingpu 审核员", "")
        assert PLATFORM in body
        assert "沪经信制〔2025〕430号" in body and "23117664" in body


def test_reminder_carries_names_link_contact_and_notice(session: Session, engine: Engine) -> None:
    app = f.application(session, State.SUBMITTED)  # held by Qingpu, whose deadline is 2025-07-11 (430 §1(二)2)
    qingpu = f.officer(session, "sh.qingpu")
    sweep(session, now=at("2025-07-08"), season=get_season("2025"))
    reminders = mails(engine, recipient=qingpu.email, kind="reminder_recommend")
    assert sorted(m.offset_days for m in reminders) == [3, 7]  # the 7-day one (07-04) caught up
    mail = reminders[0]
    assert mail.subject.startswith("【智能工厂梯度培育】青浦区经济委员会：")
    text = mail.body_text.replace(qingpu.name, "")  # the factory names its officer after the unit code
    assert app.title in text and "sh.qingpu" not in text
    assert PLATFORM in text and "沪经信制〔2025〕430号" in text
    assert "上海市经济和信息化委员会" in text and "23117664" in text
    assert f'href="{PLATFORM}"' in mail.body_html


def test_escalation_names_only_the_overdue_unit_s_items_and_goes_to_the_unit_above(
    session: Session, engine: Engine
) -> None:
    qingpu_app = f.application(session, State.SUBMITTED, unit="sh.qingpu")
    pudong_app = f.application(session, State.SUBMITTED, unit="sh.pudong")
    sh, miit = f.officer(session, "sh"), f.ministry(session)
    f.officer(session, "sh.qingpu"), f.officer(session, "sh.pudong")
    sweep(session, now=at("2025-07-12"), season=get_season("2025"))  # both districts overdue since 07-11
    escalations = mails(engine, kind="escalation")
    assert {m.recipient for m in escalations} == {sh.email}, "the unit above the districts, nobody else"
    assert miit.email not in {m.recipient for m in escalations}
    by_unit = {("青浦区" if "青浦区" in m.subject else "浦东新区"): m for m in escalations}
    assert set(by_unit) == {"青浦区", "浦东新区"}
    assert qingpu_app.title in by_unit["青浦区"].body_text and pudong_app.title not in by_unit["青浦区"].body_text
    assert pudong_app.title in by_unit["浦东新区"].body_text and qingpu_app.title not in by_unit["浦东新区"].body_text


def test_due_index_follows_transitions(session: Session, engine: Engine) -> None:
    season = get_season("2025")
    app = f.application(session, State.SUBMITTED)
    f.officer(session, "sh.qingpu"), f.officer(session, "sh")
    assert session.get(Application, app.id, populate_existing=True).remind_at == RECHECK  # type: ignore[union-attr]

    first = sweep(session, now=at("2025-07-08"), season=season)
    assert first.looked_at == 1 and first.queued == 2  # Qingpu's 7-day (caught up) and 3-day reminders
    row = session.get(Application, app.id, populate_existing=True)
    assert row is not None and row.remind_at == at("2025-07-10")  # the 1-day one comes next

    again = sweep(session, now=at("2025-07-08", 15), season=season)
    assert (again.looked_at, again.queued) == (0, 0)  # nothing due: one probe of the index

    f.fire(session, app.id, "recommend", when=at("2025-07-09"))  # Qingpu forwards it to Shanghai
    row = session.get(Application, app.id, populate_existing=True)
    assert row is not None and row.remind_at == RECHECK
    after = sweep(session, now=at("2025-07-10"), season=season)
    assert after.looked_at == 1
    assert after.by_kind["reminder_recommend"] == 0  # Qingpu acted: nothing more for it
    row = session.get(Application, app.id, populate_existing=True)
    # Shanghai holds it at the top now: its next reminder is the ministry one, 7 days before 1 August.
    assert row is not None and row.remind_at == at("2025-07-25")

    f.fire(session, app.id, "recommend", when=at("2025-07-20"))  # Shanghai recommends it to the ministry
    assert sweep(session, now=at("2025-07-25"), season=season).queued == 0
    row = session.get(Application, app.id, populate_existing=True)
    assert row is not None and row.remind_at is None  # nothing more to remind about


def test_a_change_committed_while_a_sweep_runs_waits_for_the_next_sweep(session: Session, engine: Engine) -> None:
    """The sweep claims what is due, then reads and advances only that (notifications.due.claim): an
    application changed meanwhile by another connection keeps RECHECK, never pushed past a reminder the
    sweep didn't queue for it. PostgreSQL only: on SQLite the sweep's BEGIN IMMEDIATE keeps writers out."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite: the sweep holds the write lock from its BEGIN, nothing commits meanwhile")
    season, policy = get_season("2025"), load_policy()
    due_now = f.application(session, State.SUBMITTED)
    later = f.application(session, State.SUBMITTED, unit="sh.pudong")
    f.officer(session, "sh.qingpu"), f.officer(session, "sh.pudong"), f.officer(session, "sh")
    sweep(session, now=at("2025-07-08"), season=season)  # both: next reminder on 07-10
    with Session(engine) as other:  # `later` alone is looked at again now (e.g. an extension's recheck)
        other.execute(update(Application).where(Application.id == later.id).values(remind_at=at("2025-07-09")))
        other.commit()

    now = at("2025-07-09", 10)
    claimed = due.claim(session, season=season.name, now=now)  # the sweep starts: `later` is claimed
    with Session(engine) as other:  # a row not due at the claim becomes due: a transition's RECHECK
        other.execute(update(Application).where(Application.id == due_now.id).values(remind_at=RECHECK))
        other.commit()
    looked_at = due.advance(session, season=season, policy=policy, now=now, deadlines=Deadlines(session, season),
                            claimed=claimed)  # fmt: skip
    session.commit()
    assert looked_at == 1
    assert session.get(Application, later.id, populate_existing=True).remind_at == at("2025-07-10")  # type: ignore[union-attr]
    assert session.get(Application, due_now.id, populate_existing=True).remind_at == RECHECK  # type: ignore[union-attr]


def test_a_new_reminder_kind_is_one_declaration(session: Session, engine: Engine, tmp_path: Path) -> None:
    """The README's example: a kind added in data (reusing a template) is swept with no code change."""
    policy = yaml.safe_load(POLICY_PATH.read_text(encoding="utf-8"))
    policy["kinds"].append({
        "kind": "reminder_unit_drafts", "when": "deadline", "step": "submit", "states": ["draft"],
        "unit": "jurisdiction", "to": ["unit_officers"], "offsets": [3], "catch_up": "all",
        "template": "reminder_recommend", "key": "reminder:{kind}:{deadline}:{offset}:{recipient_unit}:{email}",
        "source": "430 §1(二)2",
    })  # fmt: skip
    path = tmp_path / "kinds.yaml"
    path.write_text(yaml.safe_dump(policy, allow_unicode=True), encoding="utf-8")
    draft = f.draft(session)
    qingpu = f.officer(session, "sh.qingpu")
    report = sweep(session, now=at("2025-07-08"), season=get_season("2025"), policy=load_policy(path))
    assert report.by_kind["reminder_unit_drafts"] == 1
    [mail] = mails(engine, kind="reminder_unit_drafts")
    assert mail.recipient == qingpu.email and draft.title in mail.body_text
    assert "2025-07-11" in mail.subject  # Shanghai's submission deadline (430 §1(二)1)


def test_an_extension_puts_the_unit_s_applications_back_in_the_due_index(session: Session, engine: Engine) -> None:
    from programmes.recommendation import grant_extension

    season = get_season("2025")
    app = f.application(session, State.SUBMITTED)
    qingpu = f.officer(session, "sh.qingpu")
    f.officer(session, "sh")
    sweep(session, now=at("2025-07-12"), season=season)  # Qingpu's 07-11 deadline passed: escalated
    # Next: Shanghai's ministry reminder (7 days before 1 August); nothing more for Qingpu.
    assert session.get(Application, app.id, populate_existing=True).remind_at == at("2025-07-25")  # type: ignore[union-attr]
    grant_extension(session, unit="sh.qingpu", step="recommend", until=datetime(2025, 7, 18).date(),
                    actor=f.admin(session, "sh"), reason="系统故障", at=at("2025-07-12", 10))  # fmt: skip
    sweep(session, now=at("2025-07-15"), season=season)
    moved = [m for m in mails(engine, recipient=qingpu.email, kind="reminder_recommend") if m.deadline_on]
    assert {(m.deadline_on.isoformat(), m.offset_days) for m in moved} >= {("2025-07-18", 3)}  # type: ignore[union-attr]


def test_a_sweep_with_nothing_due_ends_its_transaction(session: Session, engine: Engine) -> None:
    """On SQLite every transaction takes the write lock: a quiet sweep must not keep it."""
    assert sweep(session, now=at("2025-07-08"), season=get_season("2025")).looked_at == 0
    assert not session.in_transaction()
