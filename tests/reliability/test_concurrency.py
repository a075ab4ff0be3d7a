"""Concurrency on both databases: real processes (multiprocessing, spawn) firing conflicting events.

1. Races: four processes fire conflicting events at one application at the same instant (a barrier),
   round after round → exactly one wins each race, the others are refused with a typed error, no audit
   event is lost and every chain verifies.
2. Stress: 8 processes × 1,000 events (FACTORY_REVIEW_STRESS_EVENTS, FACTORY_REVIEW_STRESS_WORKERS scale
   it), all eight firing at the same application in each round: two reviewers of one district deciding
   it, the province officer, the applicant withdrawing or resubmitting, the ministry, an outsider —
   every event is applied once or refused with a `ReviewError`; applied == audit events written; chains
   continuous and verified; no outbox row queued twice; the queued mail is delivered once each.

The figures are printed (`-s`) and collected in the terminal summary ("reliability figures").
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.tables import Actor, Application, AuditEvent, OutboxMessage
from states.audit import verify
from states.lifecycle import State
from tests import factories as f
from tests.reliability import workers
from tests.reliability.figures import FIGURES

pytestmark = pytest.mark.slow

STRESS_EVENTS = int(os.environ.get("FACTORY_REVIEW_STRESS_EVENTS", "1000"))
# SQLite serialises every writer, so its run shows the invariants rather than contention; CI keeps the full
# size for PostgreSQL and may run SQLite smaller (.ci/run).
SQLITE_STRESS_EVENTS = int(os.environ.get("FACTORY_REVIEW_STRESS_EVENTS_SQLITE", str(STRESS_EVENTS)))
STRESS_WORKERS = int(os.environ.get("FACTORY_REVIEW_STRESS_WORKERS", "8"))
AT = "2025-07-05T10:00:00+08:00"  # inside every Shanghai deadline of 2025


def _spawn() -> Any:
    return multiprocessing.get_context("spawn")


def _run_rounds(
    db_url: str, plans: list[list[dict[str, Any] | None]], tmp_path: Path
) -> tuple[list[dict[str, Any]], float]:
    """Start one process per plan; every process fires its op of round i after all reached round i."""
    ctx = _spawn()
    barrier = ctx.Barrier(len(plans))
    outs = [tmp_path / f"worker-{i}.json" for i in range(len(plans))]
    procs = [
        ctx.Process(target=workers.stress, args=(db_url, i, plan, barrier, str(out)), daemon=True)
        for i, (plan, out) in enumerate(zip(plans, outs, strict=True))
    ]
    started = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=560)
    elapsed = time.perf_counter() - started
    for p in procs:
        if p.is_alive():
            p.kill()
    assert all(p.exitcode == 0 for p in procs), [p.exitcode for p in procs]
    records: list[dict[str, Any]] = []
    for out in outs:
        records.extend(json.loads(out.read_text(encoding="utf-8"))["records"])
    return records, elapsed


def _prepared(session: Session, state: State) -> Application:
    """An application in `state` whose holder units have ranked it (so `recommend` may fire)."""
    app = f.application(session, state)
    for unit in app.chain[app.review_level :]:
        f.rank(session, app, unit)
    return app


def _baseline(session: Session) -> tuple[int, int]:
    last_event = session.scalar(select(func.coalesce(func.max(AuditEvent.id), 0))) or 0
    last_mail = session.scalar(select(func.coalesce(func.max(OutboxMessage.id), 0))) or 0
    return int(last_event), int(last_mail)


def _check_chains(session: Session, records: list[dict[str, Any]], since_event: int, since_mail: int) -> dict[str, Any]:
    """The invariants: applied == audit events written; each applied seq exists once with its event;
    per application the transitions are continuous and end at the row's state; chains verify; no mail
    queued twice; mails queued == what the door reported."""
    session.expire_all()
    applied = [r for r in records if r["outcome"] == "applied" and r["event"] != "sweep"]
    new_events = session.scalars(select(AuditEvent).where(AuditEvent.id > since_event).order_by(AuditEvent.id)).all()
    by_key = {(e.application_id, e.seq): e for e in new_events}
    assert len(new_events) == len(applied), (len(new_events), len(applied))
    applied_keys = Counter((r["app"], r["seq"]) for r in applied)
    duplicates = sum(n - 1 for n in applied_keys.values() if n > 1)
    assert duplicates == 0
    for r in applied:
        assert by_key[(r["app"], r["seq"])].event == r["event"]
    for app_id in {r["app"] for r in records if r.get("app")}:
        app = session.get(Application, app_id)
        assert app is not None
        chain = session.scalars(
            select(AuditEvent).where(AuditEvent.subject == f"application:{app_id}").order_by(AuditEvent.seq)
        ).all()
        assert [e.seq for e in chain] == list(range(1, len(chain) + 1))
        for before, after in itertools.pairwise(chain):
            assert after.from_state == before.to_state, (app_id, before.seq, before.to_state, after.from_state)
        assert chain[-1].to_state == app.state and app.audit_count == len(chain)
    report = verify(session)
    assert report.ok, report.problems[:5]
    mails = session.scalars(select(OutboxMessage).where(OutboxMessage.id > since_mail)).all()
    key_dupes = sum(n - 1 for n in Counter(m.dedupe_key for m in mails).values() if n > 1)
    assert key_dupes == 0
    transition_mails = [m for m in mails if m.kind == "transition"]
    reminder_mails = [m for m in mails if m.kind != "transition"]
    assert len(transition_mails) == sum(r["mails"] for r in applied)
    # Two sweeps at once may both *report* a reminder they raced for; the outbox holds it once.
    sweep_reported = sum(r.get("mails", 0) for r in records if r["event"] == "sweep" and r["outcome"] == "applied")
    assert len(reminder_mails) <= sweep_reported
    return {
        "reminders": len(reminder_mails),
        "sweep_reported": sweep_reported,
        "applied": len(applied),
        "audit_written": len(new_events),
        "duplicates": duplicates + key_dupes,
        "subjects": report.subjects,
        "events": report.events,
        "mails": len(mails),
    }


def _deliver(engine: Engine, since_mail: int) -> tuple[int, int]:
    """Send the queued mail to a local SMTP sink: every row queued by the run arrives exactly once."""
    from notifications.sender import send_pending
    from tests.smtp_sink import SmtpSink

    runs = []
    with SmtpSink() as sink:
        for hour in range(6):  # later runs pick up what a transient failure rescheduled (backoff)
            report = send_pending(engine, transport=sink.transport(), now=f.at("2025-07-09", 10 + hour),
                                  batch_size=200)  # fmt: skip
            runs.append(report.as_dict())
            if not report.retried:
                break
        received = sink.message_ids()
    assert all(r["failed"] == 0 for r in runs), runs
    with Session(engine) as session:
        ours = session.scalars(select(OutboxMessage.message_id).where(OutboxMessage.id > since_mail)).all()
        unsent = session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != "sent"))
    assert unsent == 0
    twice = sum(n - 1 for n in received.values() if n > 1)
    missing = [m for m in ours if received[m] == 0]
    assert twice == 0 and not missing, (twice, missing[:3])
    return sum(1 for m in ours if received[m] == 1), twice


# ---- 1. races -----------------------------------------------------------------------------------

# Each set is mutually exclusive from its start state: whichever event wins, the others are no longer
# allowed (or no longer the actor's to fire). A recommendation and a withdrawal are *not* exclusive in this
# lifecycle (an application may be withdrawn after a recommendation); the stress test races those and
# checks that both orders leave a continuous chain.
RACES: list[tuple[State, list[tuple[str, str]]]] = [
    # (start state, [(who, event)] — who: r1/r2 two reviewers of the district, prov, app (applicant), miit)
    (State.SUBMITTED, [("r1", "recommend"), ("r2", "recommend"), ("r2", "reject"), ("r1", "return_for_revision")]),
    (State.SUBMITTED, [("app", "withdraw"), ("r1", "reject"), ("r2", "reject"), ("app", "withdraw")]),
    (State.LOCAL_REVIEW, [("prov", "reject"), ("prov", "reject"), ("app", "withdraw"), ("prov", "reject")]),
    (State.RECOMMENDED, [("miit", "open_ministry_review"), ("miit", "open_ministry_review"), ("prov", "reject"),
                         ("prov", "reject")]),
    (State.RETURNED, [("app", "resubmit"), ("app", "resubmit"), ("app", "resubmit"), ("app", "resubmit")]),
]  # fmt: skip


def test_conflicting_events_race_exactly_one_wins(db_url: str, engine: Engine, backend: str, tmp_path: Path) -> None:
    repeats = 2
    with Session(engine, expire_on_commit=False) as session:
        r1 = f.officer(session, "sh.qingpu")
        r2 = f.officer(session, "sh.qingpu", email="second.reviewer@gov.example.cn")
        f.officer(session, "sh")
        f.ministry(session)
        rounds: list[tuple[Application, list[tuple[str, str]]]] = []
        for _ in range(repeats):
            for state, ops in RACES:
                rounds.append((_prepared(session, state), ops))
        codes = {app.id: session.get(f.Enterprise, app.enterprise_id).credit_code for app, _ in rounds}  # type: ignore[union-attr]
        since_event, since_mail = _baseline(session)
    who = {"r1": f"id:{r1.id}", "r2": f"id:{r2.id}", "prov": "local_officer@sh", "miit": "ministry_officer@miit"}
    plans: list[list[dict[str, Any] | None]] = [[] for _ in range(4)]
    for app, ops in rounds:
        for w, (actor, event) in enumerate(ops):
            spec = f"enterprise@{codes[app.id]}" if actor == "app" else who[actor]
            plans[w].append({"worker": w, "app": app.id, "event": event, "actor": spec, "at": AT, "reason": "并发测试"})
    records, elapsed = _run_rounds(db_url, plans, tmp_path)

    errors = [r for r in records if r["outcome"] == "error"]
    assert not errors, [e["detail"][-800:] for e in errors[:2]]
    winners = Counter(r["app"] for r in records if r["outcome"] == "applied")
    assert all(winners[app.id] == 1 for app, _ in rounds), winners
    with Session(engine) as session:
        figures = _check_chains(session, records, since_event, since_mail)
    refused = Counter(r["detail"] for r in records if r["outcome"] == "refused")
    FIGURES.record(
        f"concurrency races [{backend}]",
        f"{len(rounds)} races × 4 processes: attempted {len(records)}, applied {figures['applied']} "
        f"(exactly one per race), refused {sum(refused.values())} {dict(refused)}, audit events written "
        f"{figures['audit_written']}, duplicates {figures['duplicates']}, chains verified {figures['subjects']} "
        f"({figures['events']} events), {elapsed:.1f}s",
    )


# ---- 2. stress ----------------------------------------------------------------------------------

ROLES: list[tuple[str, list[tuple[str, float]]]] = [
    ("r1", [("recommend", 5), ("return_for_revision", 4), ("reject", 0.5)]),  # reviewer A of the district
    ("r2", [("recommend", 4), ("return_for_revision", 5), ("reject", 0.5)]),  # reviewer B of the same district
    ("prov", [("recommend", 5), ("return_for_revision", 4), ("reject", 0.5)]),  # the recommending province
    ("app", [("withdraw", 0.5), ("resubmit", 6), ("submit", 2)]),  # the applicant
    ("miit", [("open_ministry_review", 4), ("return_for_revision", 4), ("pass_review", 2), ("reject", 0.3)]),
    ("app", [("withdraw", 0.5), ("resubmit", 5)]),  # a recommendation racing a withdrawal
    ("miit", [("open_ministry_review", 3), ("pass_review", 3), ("pass_verification", 2)]),
    ("outsider", [("recommend", 3), ("reject", 1), ("withdraw", 1)]),  # another district / enterprise
]


def test_stress_8_workers_x_1000_events(db_url: str, engine: Engine, backend: str, tmp_path: Path) -> None:
    n_workers, n_rounds = STRESS_WORKERS, STRESS_EVENTS if backend == "postgresql" else SQLITE_STRESS_EVENTS
    n_apps = max(1, n_rounds // 4)
    rng = random.Random(2025)
    setup_started = time.perf_counter()
    with Session(engine, expire_on_commit=False) as session:
        r1 = f.officer(session, "sh.qingpu")
        r2 = f.officer(session, "sh.qingpu", email="second.reviewer@gov.example.cn")
        f.officer(session, "sh")
        f.officer(session, "sh.pudong")
        f.ministry(session)
        outsider = f.enterprise(session, "sh.pudong")
        states = [State.SUBMITTED, State.SUBMITTED, State.LOCAL_REVIEW, State.RECOMMENDED]
        apps = [_prepared(session, states[i % len(states)]) for i in range(n_apps)]
        codes = {a.id: session.get(f.Enterprise, a.enterprise_id).credit_code for a in apps}  # type: ignore[union-attr]
        since_event, since_mail = _baseline(session)
    setup_seconds = time.perf_counter() - setup_started
    who = {"r1": f"id:{r1.id}", "r2": f"id:{r2.id}", "prov": "local_officer@sh", "miit": "ministry_officer@miit"}
    sweeps = _sweep_available()
    plans: list[list[dict[str, Any] | None]] = [[] for _ in range(n_workers)]
    for r in range(n_rounds):
        app = apps[r % n_apps]
        for w in range(n_workers):
            role, events = ROLES[w % len(ROLES)]
            if sweeps and w >= n_workers - 2 and r % 100 == 50:
                plans[w].append(None)  # two reminder sweeps at once
                continue
            event = rng.choices([e for e, _ in events], weights=[wt for _, wt in events])[0]
            if role == "app":
                spec = f"enterprise@{codes[app.id]}"
            elif role == "outsider":
                spec = rng.choice(["local_officer@sh.pudong", f"enterprise@{outsider.credit_code}"])
            else:
                spec = who[role]
            data = dict(f.NOTICE) if event == "pass_verification" else {}
            plans[w].append({"worker": w, "app": app.id, "event": event, "actor": spec, "at": AT,
                             "reason": "并发压力测试", "data": data})  # fmt: skip
    records, elapsed = _run_rounds(db_url, plans, tmp_path)

    errors = [r for r in records if r["outcome"] == "error"]
    assert not errors, [e["detail"][-600:] for e in errors[:3]]
    attempted = [r for r in records if r["event"] != "sweep"]
    assert len(attempted) + sum(1 for r in records if r["event"] == "sweep") == n_workers * n_rounds
    refused = Counter(r["detail"] for r in attempted if r["outcome"] == "refused")
    applied = sum(1 for r in attempted if r["outcome"] == "applied")
    assert applied + sum(refused.values()) == len(attempted)
    with Session(engine) as session:
        figures = _check_chains(session, records, since_event, since_mail)
        final_states = Counter(session.scalars(select(Application.state).where(Application.id.in_(codes))).all())  # type: ignore[attr-defined]
    delivered, twice = _deliver(engine, since_mail)
    rate = applied / elapsed if elapsed else 0.0
    sweep_runs = Counter(r["outcome"] for r in records if r["event"] == "sweep")
    FIGURES.record(
        f"concurrency stress [{backend}]",
        f"{n_workers} processes × {n_rounds} events on {n_apps} applications (all workers on one application "
        f"per round): attempted {len(attempted)}, applied {applied}, refused {sum(refused.values())}, "
        f"unexpected errors {len(errors)}",
    )
    FIGURES.record(f"concurrency stress [{backend}]", f"refused by type: {dict(refused)}")
    FIGURES.record(
        f"concurrency stress [{backend}]",
        f"audit events written {figures['audit_written']} (= applied), duplicates found {figures['duplicates']}, "
        f"chains verified {figures['subjects']} ({figures['events']} events), mails queued {figures['mails']}, "
        f"delivered {delivered} (Message-IDs received twice: {twice}); reminder sweeps {dict(sweep_runs) or 'n/a'}: "
        f"{figures['reminders']} reminders in the outbox (sweeps reported {figures['sweep_reported']}), none twice",
    )
    FIGURES.record(
        f"concurrency stress [{backend}]",
        f"final states {dict(final_states)}; {elapsed:.1f}s for the run ({rate:.0f} applied/s), "
        f"setup {setup_seconds:.1f}s",
    )


def _sweep_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("notifications.reminders") is not None


_ = Actor
