"""Reminders: a fixture season replayed day by day, 2025-07-01 → 2025-08-31, with two sweeps a day.

Enterprises and applications (chain district → province; the 2025 dates of domain.md §4):

- E1 sh.qingpu, excellent draft, never submits                → 4 submit reminders for 07-11
- E2 tj.binhai, leading draft, submits 07-15 08:00             → the 7-day reminder for 07-18 only;
  binhai holds it from 07-15 and forwards it 07-19 08:00       → binhai: the 7-day one for 07-20, caught up
  on 07-15 (its day, 07-13, came before binhai held anything), the 3-day one on 07-17, not the 1-day one;
  tj recommends it 07-30 08:00
- E3 tj.binhai, excellent draft, never submits                 → 4 submit reminders for 07-18
- E4 sh.pudong, submitted before the season opens, never moves → pudong 4 for 07-11, escalation to sh on
  07-12, sh 4 ministry reminders for 08-01
- E5 sh.qingpu, in cultivation until 08-20                     → 90-day (caught up on 07-01) and 30-day,
  to the enterprise and to sh
- E6 sh.qingpu, already recommended                            → nothing
- E7 sh.qingpu, Qingpu designation draft                       → 4 submit reminders for 08-31
- E8 tj.binhai, held by tj from the start, never recommended   → tj 4 ministry reminders for 08-01,
  escalation to the ministry on 08-02
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.clock import SHANGHAI
from models.tables import Actor, Application, Enterprise, OutboxMessage
from notifications.outbox import render_queued
from notifications.reminders import plan, sweep, sweep_has_work
from programmes.season import Season, load_season

SEASON_FILE = Path(__file__).with_name("season_fixture.yaml")
NOW0 = datetime(2025, 6, 20, 9, 0, tzinfo=SHANGHAI)


@pytest.fixture(scope="module")
def season() -> Season:
    return load_season(SEASON_FILE)


def at(day: str, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(date.fromisoformat(day), time(hour, minute), SHANGHAI)


def seed(session: Session) -> dict[str, int]:
    """The fixture population; returns application ids by enterprise label."""
    for role, unit in [
        ("local_officer", "sh"),
        ("local_officer", "sh.qingpu"),
        ("local_officer", "sh.pudong"),
        ("local_officer", "tj"),
        ("local_officer", "tj.binhai"),
        ("ministry_officer", "miit"),
    ]:
        session.add(Actor(name=f"{unit} 联络员", email=f"{unit}@gov.example.cn", role=role, unit=unit))
    spec: list[tuple[str, str, str, str, list[str], int, dict[str, Any]]] = [
        ("E1", "sh", "sh.qingpu", "excellent", ["sh.qingpu", "sh"], 0, {"state": "draft"}),
        ("E2", "tj", "tj.binhai", "leading", ["tj.binhai", "tj"], 0, {"state": "draft"}),
        ("E3", "tj", "tj.binhai", "excellent", ["tj.binhai", "tj"], 0, {"state": "draft"}),
        ("E4", "sh", "sh.pudong", "excellent", ["sh.pudong", "sh"], 0, {"state": "submitted"}),
        ("E5", "sh", "sh.qingpu", "leading", ["sh.qingpu", "sh"], 1,
         {"state": "in_cultivation", "cultivation_ends_on": date(2025, 8, 20)}),
        ("E6", "sh", "sh.qingpu", "excellent", ["sh.qingpu", "sh"], 1, {"state": "recommended"}),
        ("E7", "sh", "sh.qingpu", "smart_factory", ["sh.qingpu"], 0, {"state": "draft", "track": "district"}),
        ("E8", "tj", "tj.binhai", "excellent", ["tj.binhai", "tj"], 1, {"state": "local_review"}),
    ]  # fmt: skip
    ids: dict[str, int] = {}
    for n, (label, province, district, tier, chain, level, extra) in enumerate(spec, start=1):
        enterprise = Enterprise(
            credit_code=f"91310000MA1K{n:06d}",
            name=f"{label} 智能制造有限公司",
            province=province,
            district=district,
            industry="装备制造",
            contact_name=f"{label} 联系人",
            contact_email=f"{label.lower()}@corp.example.com",
            created_at=NOW0,
        )
        session.add(enterprise)
        session.flush()
        application = Application(
            enterprise_id=enterprise.id,  # type: ignore[arg-type]
            tier=tier,
            track=extra.pop("track", "national"),
            season="2025",
            title=f"{label} 项目",
            chain=chain,
            review_level=level,
            created_at=NOW0,
            updated_at=NOW0,
            **extra,
        )
        session.add(application)
        session.flush()
        ids[label] = application.id  # type: ignore[assignment]
    session.commit()
    return ids


def set_state(session: Session, application_id: int, state: str, level: int) -> None:
    session.execute(update(Application).where(Application.id == application_id).values(state=state, review_level=level))
    session.commit()


def replay(
    engine: Engine, season: Season, ids: dict[str, int], sweeps: tuple[int, ...] = (9, 15), *, skip_idle: bool = False
) -> list[tuple[datetime, int | None]]:
    """Day by day: the fixture's actions at their times, then the sweeps. Returns (sweep time, queued);
    `skip_idle` leaves out a sweep `sweep_has_work` says has nothing to look at (queued None)."""
    actions: dict[datetime, Callable[[Session], None]] = {
        at("2025-07-15", 8): lambda s: set_state(s, ids["E2"], "submitted", 0),
        at("2025-07-19", 8): lambda s: set_state(s, ids["E2"], "local_review", 1),
        at("2025-07-30", 8): lambda s: set_state(s, ids["E2"], "recommended", 1),
    }
    log = []
    day = date(2025, 7, 1)
    with Session(engine) as session:
        while day <= date(2025, 8, 31):
            moments = sorted({*[a for a in actions if a.date() == day], *[at(day.isoformat(), h) for h in sweeps]})
            for moment in moments:
                if moment in actions:
                    actions[moment](session)
                elif skip_idle and not sweep_has_work(session, now=moment, season=season):
                    log.append((moment, None))
                else:
                    log.append((moment, sweep(session, now=moment, season=season).queued))
            day += timedelta(days=1)
    return log


EXPECTED = Counter(
    {("reminder_submit", "e1@corp.example.com", "2025-07-11", o): 1 for o in (7, 3, 1, 0)}
    | {("reminder_submit", "e2@corp.example.com", "2025-07-18", 7): 1}
    | {("reminder_submit", "e3@corp.example.com", "2025-07-18", o): 1 for o in (7, 3, 1, 0)}
    | {("reminder_submit", "e7@corp.example.com", "2025-08-31", o): 1 for o in (7, 3, 1, 0)}
    | {("reminder_recommend", "sh.pudong@gov.example.cn", "2025-07-11", o): 1 for o in (7, 3, 1, 0)}
    | {("reminder_recommend", "tj.binhai@gov.example.cn", "2025-07-20", o): 1 for o in (7, 3)}
    | {("escalation", "sh@gov.example.cn", "2025-07-11", -1): 1}
    | {("escalation", "miit@gov.example.cn", "2025-08-01", -1): 1}
    | {("reminder_ministry", "sh@gov.example.cn", "2025-08-01", o): 1 for o in (7, 3, 1, 0)}
    | {("reminder_ministry", "tj@gov.example.cn", "2025-08-01", o): 1 for o in (7, 3, 1, 0)}
    | {("reminder_cultivation", "e5@corp.example.com", "2025-08-20", o): 1 for o in (90, 30)}
    | {("reminder_cultivation", "sh@gov.example.cn", "2025-08-20", o): 1 for o in (90, 30)}
)


def outbox(engine: Engine) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_replayed_season_sends_exactly_the_expected_reminders_once(engine: Engine, season: Season) -> None:
    with Session(engine) as session:
        ids = seed(session)
    log = replay(engine, season, ids)
    rows = outbox(engine)
    got = Counter((r.kind, r.recipient, r.deadline_on.isoformat(), r.offset_days) for r in rows)  # type: ignore[union-attr]
    assert got == EXPECTED
    assert sum(EXPECTED.values()) == 33
    # The second sweep of every day finds everything already queued.
    assert all(queued == 0 for moment, queued in log if moment.hour == 15)
    # Sent on the morning of the reminder day (caught-up ones: at their day's 09:00 too).
    for r in rows:
        day = r.deadline_on - timedelta(days=r.offset_days)  # type: ignore[operator]
        assert r.next_attempt_at == datetime.combine(day, time(9), SHANGHAI)
    # Running the whole season again queues nothing more.
    assert sum(queued or 0 for _, queued in replay(engine, season, ids)) == 0
    assert len(outbox(engine)) == 33


def test_skipping_the_sweeps_with_nothing_to_look_at_queues_the_same_reminders(engine: Engine, season: Season) -> None:
    """What the demo's Prefect replay relies on to run no flow on a day with nothing due."""
    with Session(engine) as session:
        ids = seed(session)
    log = replay(engine, season, ids, skip_idle=True)
    rows = outbox(engine)
    assert Counter((r.kind, r.recipient, r.deadline_on.isoformat(), r.offset_days) for r in rows) == EXPECTED  # type: ignore[union-attr]
    skipped = [moment for moment, queued in log if queued is None]
    assert len(skipped) > len(log) / 2  # most sweeps of a season have nothing due


def test_submitting_on_07_15_gets_the_7_day_reminder_but_not_the_3_day_one(engine: Engine, season: Season) -> None:
    with Session(engine) as session:
        ids = seed(session)
    replay(engine, season, ids)
    e2 = [(r.deadline_on, r.offset_days, r.next_attempt_at) for r in outbox(engine) if r.recipient.startswith("e2@")]
    assert e2 == [(date(2025, 7, 18), 7, at("2025-07-11", 9))]


def test_reminder_lists_the_applications_in_both_languages(engine: Engine, season: Season) -> None:
    with Session(engine) as session:
        seed(session)
        report = sweep(session, now=at("2025-07-25", 9), season=season)
    assert report.by_kind["reminder_ministry"] == 2
    assert {r.status for r in outbox(engine)} == {"queued"}  # rendered when the sender picks them up
    assert render_queued(engine) == len(outbox(engine))
    [tj] = [r for r in outbox(engine) if r.recipient == "tj@gov.example.cn"]
    assert "天津市" in tj.subject and "2025-08-01" in tj.subject
    assert "E8 项目" in tj.body_text and tj.body_text.index("您好") < tj.body_text.index("Dear")


def test_a_sweep_before_nine_leaves_the_day_s_reminders_for_later(engine: Engine, season: Season) -> None:
    with Session(engine) as session:
        seed(session)
        assert sweep(session, now=at("2025-07-04", 8, 59), season=season).by_kind["reminder_submit"] == 0
        assert sweep(session, now=at("2025-07-04", 9), season=season).by_kind["reminder_submit"] == 1


def test_missed_days_are_caught_up_once(engine: Engine, season: Season) -> None:
    with Session(engine) as session:
        seed(session)
        # The scheduler was down until 07-09: E1's 7- and 3-day reminders for 07-11 are both still useful.
        first = sweep(session, now=at("2025-07-09", 9), season=season)
        again = sweep(session, now=at("2025-07-09", 21), season=season)
    e1 = sorted(r.offset_days for r in outbox(engine) if r.recipient.startswith("e1@"))  # type: ignore[type-var]
    assert e1 == [3, 7] and first.queued > 0 and again.queued == 0


def test_plan_lists_without_writing(engine: Engine, season: Season) -> None:
    with Session(engine) as session:
        seed(session)
        items = plan(session, start=date(2025, 7, 1), end=date(2025, 8, 31), season=season)
    assert not outbox(engine)
    planned = Counter((p.kind, p.recipient, p.deadline.isoformat(), p.offset_days) for p in items)
    # Nobody acts in a plan: E2 keeps its draft (all four submit reminders), binhai never holds it,
    # tj holds only E8; E5's 90-day reminder fell before 07-01.
    assert planned[("reminder_submit", "e2@corp.example.com", "2025-07-18", 3)] == 1
    assert not any(p.recipient.startswith("tj.binhai@") for p in items)
    assert ("reminder_cultivation", "e5@corp.example.com", "2025-08-20", 90) not in planned
    assert planned[("reminder_cultivation", "e5@corp.example.com", "2025-08-20", 30)] == 1
    assert all(p.send_at.time() == time(9) for p in items)
    assert max(planned.values()) == 1


def test_an_extension_moves_the_reminders(engine: Engine, season: Season) -> None:
    from models.tables import DeadlineExtension

    with Session(engine) as session:
        seed(session)
        session.add(DeadlineExtension(season="2025", unit="sh.pudong", step="recommend", until=date(2025, 7, 18),
                                      granted_by="admin@sh", reason="系统故障", granted_at=NOW0))  # fmt: skip
        session.commit()
        sweep(session, now=at("2025-07-11", 9), season=season)
    pudong = [(r.deadline_on, r.offset_days) for r in outbox(engine) if r.recipient.startswith("sh.pudong@")]
    assert pudong == [(date(2025, 7, 18), 7)]
