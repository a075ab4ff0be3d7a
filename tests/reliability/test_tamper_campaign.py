"""The tamper campaign (issue 12): random forgeries across the audited tables, each in a transaction that
is rolled back, each checked by `verify`.

With the audit key and an anchor every forgery is detected and the first problem names a tampered row.
The same forgeries are also checked without the anchor, and on a trail written without the key (where a
forger can recompute the chain); the detection table per class, mode and database is printed at the end
(tests/reliability/figures.py, out/reliability-report.txt). FACTORY_REVIEW_TAMPER_COUNT sets the number
of forgeries per mode and database (default 200; the issue's campaign is 1,000),
FACTORY_REVIEW_TAMPER_COUNT_NO_KEY the number without the key (default the same).
"""

from __future__ import annotations

import os
import random
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Date, DateTime, Integer, String, delete, select, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from models.enums import Role
from models.tables import (
    Account,
    Actor,
    Application,
    AuditChain,
    AuditEvent,
    DeadlineExtension,
    Enterprise,
    OutboxMessage,
    RecommendationRound,
    ReviewAssignment,
)
from states.audit import event_hash, hashed_fields, verify
from states.ledger import take_anchor
from tests.reliability.figures import FIGURES
from tests.states.audit_trail import build_trail

COUNT = int(os.environ.get("FACTORY_REVIEW_TAMPER_COUNT", "200"))
# Without the key only *which* classes a recomputed chain escapes is asked (issue 12 §6), not a rate.
COUNT_NO_KEY = int(os.environ.get("FACTORY_REVIEW_TAMPER_COUNT_NO_KEY", str(COUNT)))
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
EVENT_COLUMNS = ("actor_name", "actor_role", "actor_unit", "event", "from_state", "to_state", "reason", "data",
                 "at", "recorded_at", "application_id", "prev_hash", "hash")  # fmt: skip
APPLICATION_COLUMNS = ("state", "review_level", "content", "content_sha256", "pledge", "chain", "ranks",
                       "warnings", "milestones", "open_objections", "cultivation_ends_on", "title", "tier", "track",
                       "season", "enterprise_id", "created_at", "updated_at", "submitted_at", "audit_head",
                       "audit_count")  # fmt: skip
ENTERPRISE_COLUMNS = ("name", "province", "city", "district", "industry", "is_branch",
                      "above_designated_size", "clean_record_3y", "security_controllable", "has_smart_factory_org",
                      "demonstration_unit", "tax_district", "recognitions", "contact_name", "contact_email",
                      "contact_phone", "created_at")  # fmt: skip

UNIT_COLUMNS = {
    "recommendation_round": ("tier", "ranked_application_ids", "counted_against_quota", "quota", "submitted_by",
                             "submitted_at"),
    "deadline_extension": ("step", "until", "granted_by", "reason", "granted_at"),
}  # fmt: skip

# ---- forged values ------------------------------------------------------------------------------------


def _other(value: Any, column: Any, rng: random.Random) -> Any:
    """A plausible value different from `value`, of the column's type (within its length)."""
    if value is None:
        kind = getattr(column.type, "impl", column.type)  # AutoString, UTCDateTime: what they wrap
        if isinstance(kind, DateTime):
            return NOW
        if isinstance(kind, Date):
            return date(2030, 1, 1)
        return 1 if isinstance(kind, Integer) else ("X" if isinstance(kind, String) else {"forged": True})
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + rng.choice((1, 2, -1))
    if isinstance(value, datetime | date):
        return value + timedelta(days=rng.choice((1, -1)))
    if isinstance(value, str):
        return value[:-1] + ("X" if value[-1:] != "X" else "Y") if value else "X"
    if isinstance(value, dict):
        return {**value, "forged": rng.randint(1, 9)}
    return [*value, "forged"]


def _chains(conn: Connection) -> dict[str, list[Any]]:
    chains: dict[str, list[Any]] = {}
    for row in conn.execute(select(AuditEvent).order_by(AuditEvent.subject, AuditEvent.seq)):  # type: ignore[arg-type]
        chains.setdefault(row.subject, []).append(row)
    return chains


def _set_head(conn: Connection, subject: str, head: str, count: int) -> None:
    """What a forger does after changing a chain: make the head beside the subject match again."""
    if subject.startswith("application:"):
        app_id = int(subject.split(":")[1])
        conn.execute(update(Application).where(Application.id == app_id).values(audit_head=head, audit_count=count))  # type: ignore[arg-type]
    else:
        conn.execute(update(AuditChain).where(AuditChain.subject == subject).values(head=head, count=count))  # type: ignore[arg-type]


# ---- the forgeries: each returns the subjects the first problem may name -------------------------------


def edit_event(conn: Connection, rng: random.Random) -> set[str]:
    event = rng.choice([e for chain in _chains(conn).values() for e in chain])
    column = rng.choice(EVENT_COLUMNS)
    table = AuditEvent.__table__  # type: ignore[attr-defined]
    value = _other(getattr(event, column), table.c[column], rng)
    conn.execute(update(AuditEvent).where(AuditEvent.id == event.id).values({column: value}))  # type: ignore[arg-type]
    return {event.subject}


def delete_event(conn: Connection, rng: random.Random) -> set[str]:
    event = rng.choice([e for chain in _chains(conn).values() for e in chain])
    conn.execute(delete(AuditEvent).where(AuditEvent.id == event.id))  # type: ignore[arg-type]
    return {event.subject}


def reorder_events(conn: Connection, rng: random.Random) -> set[str]:
    subject, chain = rng.choice([(s, c) for s, c in _chains(conn).items() if len(c) >= 2])
    a, b = rng.sample(chain, 2)
    for event_id, seq in ((a.id, -1), (b.id, a.seq), (a.id, b.seq)):
        conn.execute(update(AuditEvent).where(AuditEvent.id == event_id).values(seq=seq))  # type: ignore[arg-type]
    return {subject}


def insert_event(conn: Connection, rng: random.Random) -> set[str]:
    """A forged event after the last one (head fixed to it), or slipped in between two."""
    subject, chain = rng.choice(list(_chains(conn).items()))
    model = rng.choice(chain)
    forged = {k: getattr(model, k) for k in AuditEvent.__table__.columns.keys() if k != "id"}  # noqa: SIM118  # type: ignore[attr-defined]
    forged.update(reason="伪造的事件", hash=f"{rng.getrandbits(256):064x}")
    if rng.random() < 0.5:
        forged.update(seq=len(chain) + 1, prev_hash=chain[-1].hash)
        _set_head(conn, subject, forged["hash"], len(chain) + 1)
    else:
        at = rng.randrange(len(chain))
        for event in reversed(chain[at:]):
            conn.execute(update(AuditEvent).where(AuditEvent.id == event.id).values(seq=event.seq + 1))  # type: ignore[arg-type]
        forged.update(seq=at + 1, prev_hash=chain[at].prev_hash)
    conn.execute(AuditEvent.__table__.insert().values(forged))  # type: ignore[attr-defined]
    return {subject}


def truncate_tail_fix_head(conn: Connection, rng: random.Random) -> set[str]:
    subject, chain = rng.choice([(s, c) for s, c in _chains(conn).items() if len(c) >= 2])
    keep = rng.randrange(1, len(chain))
    conn.execute(delete(AuditEvent).where(AuditEvent.id.in_([e.id for e in chain[keep:]])))  # type: ignore[union-attr]
    _set_head(conn, subject, chain[keep - 1].hash, keep)
    return {subject}


def _delete_application_row(conn: Connection, app_id: int) -> None:
    """The row and what refers to it (its mail, its expert reviews): what a forger must remove with it."""
    conn.execute(delete(OutboxMessage).where(OutboxMessage.application_id == app_id))  # type: ignore[arg-type]
    conn.execute(delete(ReviewAssignment).where(ReviewAssignment.application_id == app_id))  # type: ignore[arg-type]
    conn.execute(delete(Application).where(Application.id == app_id))  # type: ignore[arg-type]


def _delete_application(conn: Connection, app_id: int) -> str:
    subject = f"application:{app_id}"
    conn.execute(delete(AuditEvent).where(AuditEvent.subject == subject))  # type: ignore[arg-type]
    _delete_application_row(conn, app_id)
    return subject


def delete_whole_chain(conn: Connection, rng: random.Random) -> set[str]:
    """An application with its whole chain, or a unit's whole chain with its head."""
    subjects = list(_chains(conn))
    subject = rng.choice([s for s in subjects if not s.startswith("enterprise:")])
    if subject.startswith("application:"):
        return {_delete_application(conn, int(subject.split(":")[1]))}
    conn.execute(delete(AuditEvent).where(AuditEvent.subject == subject))  # type: ignore[arg-type]
    conn.execute(delete(AuditChain).where(AuditChain.subject == subject))  # type: ignore[arg-type]
    return {subject}


def delete_enterprise(conn: Connection, rng: random.Random) -> set[str]:
    """An enterprise, its chain, its applications and theirs, its actor: as if it never applied."""
    enterprise = rng.choice(list(conn.execute(select(Enterprise))))
    subjects = {f"enterprise:{enterprise.credit_code}"}
    for (app_id,) in conn.execute(select(Application.id).where(Application.enterprise_id == enterprise.id)):  # type: ignore[arg-type]
        subjects.add(_delete_application(conn, app_id))
    for subject in [s for s in subjects if s.startswith("enterprise:")]:
        conn.execute(delete(AuditEvent).where(AuditEvent.subject == subject))  # type: ignore[arg-type]
        conn.execute(delete(AuditChain).where(AuditChain.subject == subject))  # type: ignore[arg-type]
    conn.execute(delete(Actor).where(Actor.unit == enterprise.credit_code))  # type: ignore[arg-type]
    conn.execute(delete(Enterprise).where(Enterprise.id == enterprise.id))  # type: ignore[arg-type]
    return subjects


def swap_contents(conn: Connection, rng: random.Random) -> set[str]:
    a, b = rng.sample(list(conn.execute(select(Application))), 2)
    columns = ("content", "content_sha256") if rng.random() < 0.5 else ("content",)
    for mine, theirs in ((a, b), (b, a)):
        values = {c: getattr(theirs, c) for c in columns}
        conn.execute(update(Application).where(Application.id == mine.id).values(values))  # type: ignore[arg-type]
    return {f"application:{a.id}", f"application:{b.id}"}


def _unit_subject(row: Any) -> str:
    return f"unit:{row.unit}:{row.season}"


def delete_row(conn: Connection, rng: random.Random) -> set[str]:
    """A row deleted, its chain left as it was: an application, a unit's ranked round or extension."""
    table = rng.choice((Application, RecommendationRound, DeadlineExtension))
    row = rng.choice(list(conn.execute(select(table))))
    if table is Application:
        _delete_application_row(conn, row.id)
    else:
        conn.execute(delete(table).where(table.id == row.id))  # type: ignore[attr-defined]
    return {f"application:{row.id}" if table is Application else _unit_subject(row)}


def edit_row(conn: Connection, rng: random.Random) -> set[str]:
    """One column of an application, an enterprise, a unit's round or extension, or a unit chain's head,
    changed without an event."""
    table = rng.choice((Application, Application, Enterprise, AuditChain, RecommendationRound, DeadlineExtension))
    row = rng.choice(list(conn.execute(select(table))))
    if table is AuditChain:
        column = rng.choice(("head", "count"))
        value = _other(getattr(row, column), AuditChain.__table__.c[column], rng)  # type: ignore[attr-defined]
        conn.execute(update(AuditChain).where(AuditChain.subject == row.subject).values({column: value}))  # type: ignore[arg-type]
        return {row.subject}
    if table is Application:
        column, subject = rng.choice(APPLICATION_COLUMNS), f"application:{row.id}"
    elif table is Enterprise:
        column, subject = rng.choice(ENTERPRISE_COLUMNS), f"enterprise:{row.credit_code}"
    else:
        column, subject = rng.choice(UNIT_COLUMNS[table.__tablename__]), _unit_subject(row)
    value = _other(getattr(row, column), table.__table__.c[column], rng)  # type: ignore[attr-defined]
    if column == "enterprise_id":
        value = rng.choice([e for (e,) in conn.execute(select(Enterprise.id)) if e != row.enterprise_id])
    conn.execute(update(table).where(table.id == row.id).values({column: value}))  # type: ignore[attr-defined]
    return {subject}


def _recompute(conn: Connection, subject: str, start: int, change: Callable[[AuditEvent], None]) -> None:
    """The forger's tool: change event #start, recompute every hash after it (no key), fix the head."""
    with Session(bind=conn) as session:
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.subject == subject)  # type: ignore[arg-type]
                                      .order_by(AuditEvent.seq)))  # type: ignore[arg-type]  # fmt: skip
        change(events[start - 1])
        prev = events[start - 1].prev_hash
        for event in events[start - 1:]:
            event.prev_hash = prev
            event.hash = prev = event_hash(hashed_fields(event), prev, None)
        session.flush()
    _set_head(conn, subject, prev, len(events))


def recompute_chain(conn: Connection, rng: random.Random) -> set[str]:
    subject, chain = rng.choice(list(_chains(conn).items()))

    def reword(event: AuditEvent) -> None:
        event.reason = "改写的理由"

    _recompute(conn, subject, rng.randrange(1, len(chain) + 1), reword)
    return {subject}


def edit_row_and_recompute_chain(conn: Connection, rng: random.Random) -> set[str]:
    """Change an application's state and make its last event agree, recomputing that event's hash."""
    row = rng.choice(list(conn.execute(select(Application))))
    forged = "recognised" if row.state != "recognised" else "rejected"
    conn.execute(update(Application).where(Application.id == row.id).values(state=forged))  # type: ignore[arg-type]

    def agree(event: AuditEvent) -> None:
        event.to_state = forged
        event.data = {**event.data, "row": {**event.data["row"], "state": forged}}

    _recompute(conn, f"application:{row.id}", row.audit_count, agree)
    return {f"application:{row.id}"}


def raise_account_role(conn: Connection, rng: random.Random) -> set[str]:
    """An account made a ministry officer, or a national one, without a grant on its chain."""
    row = rng.choice([a for a in conn.execute(select(Account)) if a.role != Role.ADMIN])
    values = {"role": Role.MINISTRY_OFFICER, "unit": "miit"} if rng.random() < 0.5 else {"role": Role.ADMIN}
    conn.execute(update(Account).where(Account.id == row.id).values(values))  # type: ignore[arg-type]
    return {f"account:{row.id}"}


TAMPERS: dict[str, Callable[[Connection, random.Random], set[str]]] = {
    "edit an event": edit_event,
    "delete an event": delete_event,
    "reorder events": reorder_events,
    "insert an event": insert_event,
    "delete tail, fix head": truncate_tail_fix_head,
    "delete a row": delete_row,
    "delete a whole chain": delete_whole_chain,
    "delete an enterprise": delete_enterprise,
    "swap two contents": swap_contents,
    "edit a row": edit_row,
    "recompute a chain": recompute_chain,
    "edit a row, recompute": edit_row_and_recompute_chain,
    "raise an account's role": raise_account_role,
}


# ---- the campaign -------------------------------------------------------------------------------------


def _campaign(engine: Engine, anchor: dict[str, Any], count: int, seed: int) -> dict[str, Counter[str]]:
    """Run `count` forgeries (classes in turn), each rolled back; tally detection with and without the
    anchor, and check that with the anchor the first problem names a tampered row."""
    tally: dict[str, Counter[str]] = {name: Counter() for name in TAMPERS}
    names = list(TAMPERS)
    with engine.connect() as conn:
        for i in range(count):
            name, rng = names[i % len(names)], random.Random(seed * 100_003 + i)
            transaction = conn.begin()
            try:
                expected = TAMPERS[name](conn, rng)
                with Session(bind=conn) as session:
                    anchored, alone = verify(session, anchor=anchor), verify(session)
            finally:
                transaction.rollback()
            tally[name].update(tried=1, anchored=int(not anchored.ok), alone=int(not alone.ok))
            first = anchored.problems[0] if anchored.problems else ""
            named = any(first.startswith((f"{s} ", f"{s}:")) for s in expected)
            tally[name]["named"] += int(named)
            if anchored.ok or not named:
                print(f"[{name} #{i}] expected one of {sorted(expected)} first; got {anchored.problems[:2]}")
    return tally


def _record(backend: str, mode: str, tally: dict[str, Counter[str]]) -> None:
    title = f"tamper campaign [{backend}]"
    FIGURES.record(title, f"{mode}: {sum(t['tried'] for t in tally.values())} forgeries; detected with the "
                          "anchor / without it")  # fmt: skip
    width = max(len(n) for n in tally)
    for name, t in tally.items():
        n = t["tried"] or 1
        anchored, alone = 100 * t["anchored"] / n, 100 * t["alone"] / n
        FIGURES.record(title, f"  {name:<{width}}  {t['anchored']:>4}/{t['tried']:<4} ({anchored:5.1f} %)"
                              f"   {t['alone']:>4}/{t['tried']:<4} ({alone:5.1f} %)")  # fmt: skip


@pytest.fixture
def audit_key_env(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    from models.settings import get_settings

    keyed = bool(request.param)
    if keyed:
        monkeypatch.setenv("FACTORY_REVIEW_AUDIT_KEY", "campaign-key")
    else:
        monkeypatch.delenv("FACTORY_REVIEW_AUDIT_KEY", raising=False)
    get_settings.cache_clear()
    request.addfinalizer(get_settings.cache_clear)
    return keyed


@pytest.mark.parametrize("audit_key_env", [True, False], ids=["key", "no-key"], indirect=True)
def test_tamper_campaign(engine: Engine, session: Session, backend: str, audit_key_env: bool) -> None:
    build_trail(session)
    anchor = take_anchor(session, at=NOW)
    session.close()
    tally = _campaign(engine, anchor, COUNT if audit_key_env else COUNT_NO_KEY, seed=2025 if audit_key_env else 2026)
    mode = "with the key" if audit_key_env else "without the key"
    _record(backend, mode, tally)
    detected_with_anchor = {n: t["anchored"] == t["tried"] and t["named"] == t["tried"] for n, t in tally.items()}
    if audit_key_env:
        assert all(detected_with_anchor.values()), tally
        assert tally["recompute a chain"]["alone"] == tally["recompute a chain"]["tried"]  # the key alone suffices
    else:
        # Without the key a forger recomputes the hashes: only an anchor taken before still shows it.
        assert tally["recompute a chain"]["alone"] == 0 and tally["edit a row, recompute"]["alone"] == 0
        assert all(detected_with_anchor.values()), tally
