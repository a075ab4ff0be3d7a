"""Many rows through the one door, one transaction per batch: a province's enterprises, a season's drafts
and basic filings, a unit's decisions.

Each row is validated, authorised, guarded, audited and chained exactly as the single-row path does it
(`states.intake.add_enterprise`, `create_application`, `states.service.transition` — the same functions
check and build the rows); what changes is the I/O: a batch is read with one query per table, written
with one statement per table and committed once. A refused row is reported with its typed error and
leaves nothing behind; the rest of the batch goes on. Anything else (a lost connection, a stale row)
rolls the whole batch back and raises — the batches before it stay committed, and a re-run skips them
(registration is idempotent on the credit code; a transition already made is refused by the lifecycle).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, col

from models.clock import ensure_aware, to_utc
from models.enums import Role
from models.errors import ConcurrentUpdate, NotFound, ReviewError
from models.memo import batch_memo
from models.tables import Actor, Application, AuditChain, AuditEvent, Enterprise, jurisdiction_of
from states.audit import GENESIS, chained_row
from states.audit_rows import snapshot_of
from states.intake import Draft as Draft  # built by this module's callers, who import it from here
from states.intake import (
    application_slot,
    creation_event,
    live_applications,
    new_actor,
    new_draft,
    refuse_second_application,
    registration_event,
    validated_enterprise,
)
from states.lifecycle import State
from states.service import Batch, TransitionResult, apply_to_locked

# What a chain is made of, and the name a refusal gives.
LOCATION = ("id", "credit_code", "name", "province", "city", "district", "tax_district", "soe_group")
BATCH = 500  # rows per transaction: well under SQLite's bound-variable limit for the IN (...) reads
Progress = Callable[[int], None]
# Core tables: the batch's INSERTs and keyed UPDATEs skip the ORM's per-row bookkeeping (and its bulk
# update, which wants every row's version column).
APPLICATION: Table = Application.__table__  # type: ignore[attr-defined]
AUDIT_CHAIN: Table = AuditChain.__table__  # type: ignore[attr-defined]
AUDIT_EVENT: Table = AuditEvent.__table__  # type: ignore[attr-defined]
ENTERPRISE: Table = Enterprise.__table__  # type: ignore[attr-defined]
ACTOR: Table = Actor.__table__  # type: ignore[attr-defined]
T = TypeVar("T")

if TYPE_CHECKING:
    from programmes.season import Season


@dataclass
class Refusal:
    index: int  # position in the caller's input
    ref: str  # credit code or application id
    error: ReviewError


@dataclass
class BulkReport:
    done: list[int] = field(default_factory=list)  # ids written (enterprises, applications)
    existing: list[int] = field(default_factory=list)  # ids already there (an idempotent re-run)
    by_index: dict[int, int] = field(default_factory=dict)  # input position -> id written (drafts)
    chains: dict[int, list[str]] = field(default_factory=dict)  # draft id -> its recommendation chain
    refused: list[Refusal] = field(default_factory=list)
    results: list[TransitionResult] = field(default_factory=list)
    mails_queued: int = 0


@dataclass
class Decision:
    """One event on one application: what `states.service.transition` takes."""

    application_id: int
    event: str
    actor: Actor
    reason: str = ""
    data: dict[str, Any] = field(default_factory=dict)


def batches(items: Sequence[T], size: int) -> Iterator[tuple[int, list[T]]]:
    for start in range(0, len(items), size):
        yield start, list(items[start : start + size])


def _committed(session: Session, work: Callable[..., None], *args: Any) -> None:
    """One batch, all or nothing: `work(session, *args)`, then commit."""
    try:
        with _collector_paused():
            work(session, *args)
        session.commit()
    except BaseException:
        session.rollback()
        raise


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while a batch is built. A batch makes tens of thousands of
    rows, snapshots and events (dicts and lists, none in a cycle) that live until its statements run; the
    collector promoted them and then walked the whole heap for them (a full collection, 0.1-0.15 s, about a
    sixth of registering the demo's 2,400 enterprises and drafts). What the batch frees is freed at once by
    reference counting; a cycle it leaves is collected after it. Left off if the caller had turned it off."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# ---- enterprises ----------------------------------------------------------------------------------------


def register_enterprises(session: Session, rows: Sequence[dict[str, Any]], *, actor: Actor, at: datetime,
                         batch: int = BATCH, progress: Progress | None = None) -> BulkReport:  # fmt: skip
    """`add_enterprise` for many: validated one by one, written per batch (enterprise, its actor, the
    `register_enterprise` event on the enterprise's chain). An existing credit code is left as it is."""
    at = to_utc(at)  # once: every row and event stores it in UTC (a zone conversion per row and event)
    report = BulkReport()
    for start, part in batches(rows, batch):
        _committed(session, _register_batch, start, part, actor, at, report)
        if progress:
            progress(len(part))
    return report


def _register_batch(session: Session, start: int, part: list[dict[str, Any]], actor: Actor, at: datetime,
                    report: BulkReport) -> None:  # fmt: skip
    from programmes.season import get_season

    try:
        season: Season | None = get_season()  # once per batch: every row is checked against the same season
    except ReviewError:
        season = None  # each row is refused with this error, as the single path would refuse it
    valid: dict[str, dict[str, Any]] = {}
    for offset, data in enumerate(part):
        try:
            enterprise = validated_enterprise(data, at, season=season)
        except ReviewError as error:
            report.refused.append(Refusal(start + offset, str(data.get("credit_code", "")), error))
            continue
        valid.setdefault(enterprise["credit_code"], enterprise)
    found = session.execute(select(col(Enterprise.credit_code), col(Enterprise.id))
                            .where(col(Enterprise.credit_code).in_(valid)))  # fmt: skip
    existing: dict[str, int] = {code: ident for code, ident in found}
    report.existing += [existing[c] for c in valid if c in existing]
    new = [e for code, e in valid.items() if code not in existing]
    if not new:
        return
    inserted = session.execute(insert(ENTERPRISE).returning(ENTERPRISE.c.id, ENTERPRISE.c.credit_code),
                               new)  # fmt: skip
    ids = {code: ident for ident, code in inserted}
    actors = [{"name": e["name"], "email": e["contact_email"], "role": Role.ENTERPRISE, "unit": e["credit_code"]}
              for e in new if e["contact_email"]]  # fmt: skip
    if actors:
        session.execute(insert(ACTOR), actors)
    events = _chain_events(session, [(f"enterprise:{e['credit_code']}", e, ids[e["credit_code"]]) for e in new],
                           actor, at)  # fmt: skip
    report.done += [ids[e["credit_code"]] for e in new]
    session.execute(insert(AUDIT_EVENT), events)


def _chain_events(session: Session, subjects: list[tuple[str, dict[str, Any], int]], actor: Actor,
                  at: datetime) -> list[dict[str, Any]]:  # fmt: skip
    """The `register_enterprise` event of each subject, chained on its `audit_chain` row (created or moved),
    with the snapshot of the row as inserted (what `add_enterprise` records)."""
    names = [s for s, _, _ in subjects]
    # Core, not ORM: the heads are all it needs (an ORM select cost more than the rows it found) and they
    # are moved below with Core, which would leave ORM copies stale.
    chain_table = AUDIT_CHAIN.c
    locked = select(chain_table.subject, chain_table.head, chain_table.count).where(chain_table.subject.in_(names))
    chains = {name: (head, count) for name, head, count in session.execute(locked.with_for_update())}
    events, heads = [], []
    for subject, enterprise, ident in subjects:
        chain = chains.get(subject)
        prev, count = (chain[0] or GENESIS, chain[1]) if chain else (GENESIS, 0)
        event = chained_row(prev, count, subject=subject, actor=actor, event="register_enterprise", at=at,
                            data=registration_event(enterprise),
                            row_snapshot=snapshot_of(Enterprise, {**enterprise, "id": ident}))  # fmt: skip
        events.append(event)
        heads.append({"subject": subject, "head": event["hash"], "count": event["seq"], "known": chain is not None})
    fresh = [{"subject": h["subject"], "head": h["head"], "count": h["count"]} for h in heads if not h["known"]]
    if fresh:
        session.execute(insert(AUDIT_CHAIN), fresh)
    moved = [{"s": h["subject"], "h": h["head"], "c": h["count"]} for h in heads if h["known"]]
    if moved:
        session.execute(update(AUDIT_CHAIN).where(AUDIT_CHAIN.c.subject == bindparam("s"))
                        .values(head=bindparam("h"), count=bindparam("c")), moved)  # fmt: skip
    return events


def add_actors(session: Session, actors: Sequence[dict[str, str]]) -> int:
    """`add_actor` for many (name, email, role, unit), one statement and one commit; idempotent on
    (role, unit, email). Returns how many were new."""
    checked = {(a.role, a.unit, a.email): a for a in (new_actor(**spec) for spec in actors)}
    units = {unit for _, unit, _ in checked}
    known = set(session.execute(select(col(Actor.role), col(Actor.unit), col(Actor.email))
                                .where(col(Actor.unit).in_(units))).tuples())  # fmt: skip
    new = [a.model_dump(exclude={"id"}) for key, a in checked.items() if key not in known]
    if new:
        _committed(session, lambda s, rows: s.execute(insert(ACTOR), rows), new)
    return len(new)


# ---- drafts ---------------------------------------------------------------------------------------------


def create_drafts(session: Session, drafts: Sequence[Draft], *, at: datetime, batch: int = BATCH,
                  progress: Progress | None = None) -> BulkReport:  # fmt: skip
    """`create_application` for many: each draft checked and authorised by `new_draft`, then written per
    batch with its `create` event (the first of the application's chain). `done` keeps the input order
    (refused drafts are missing from it and listed in `refused`)."""
    at = to_utc(at)  # once: every row and event stores it in UTC (a zone conversion per row and event)
    report = BulkReport()
    for start, part in batches(drafts, batch):
        _committed(session, _drafts_batch, start, part, at, report)
        if progress:
            progress(len(part))
    return report


@dataclass(frozen=True, slots=True)
class Located:
    """An enterprise's `LOCATION` columns: what its drafts are checked against (`new_draft`, the season's
    `chain_for`, `refuse_second_application` read these and `jurisdiction`, nothing else)."""

    id: int
    credit_code: str
    name: str
    province: str
    city: str | None
    district: str | None
    tax_district: str | None
    soe_group: str | None

    @property
    def jurisdiction(self) -> str:
        return jurisdiction_of(province=self.province, city=self.city, district=self.district)


def _located(session: Session, codes: set[str]) -> dict[str, Enterprise]:
    """The batch's enterprises by credit code, read with Core: an ORM object per enterprise was a twentieth
    of writing the demo's drafts. Typed as the `Enterprise` whose columns each carries."""
    columns = [ENTERPRISE.c[name] for name in LOCATION]
    found = session.execute(select(*columns).where(ENTERPRISE.c.credit_code.in_(codes)))
    return {row.credit_code: cast(Enterprise, Located(*row)) for row in found}


def _drafts_batch(session: Session, start: int, part: list[Draft], at: datetime, report: BulkReport) -> None:
    enterprises = _located(session, {d.enterprise_code for d in part})
    by_id = {e.id: e for e in enterprises.values()}
    live = live_applications(session, by_id, {d.season for d in part})
    built: list[tuple[int, Draft, dict[str, Any]]] = []
    taken: dict[tuple[Any, ...], int] = {}  # a slot → the position in `built` of this batch's draft holding it
    twins: list[tuple[int, Draft, int]] = []
    rulebooks: dict[str, Season | None] = {}  # each season read once per batch
    for offset, d in enumerate(part):
        try:
            row = _draft_row(enterprises, d, at, rulebooks)
            slot = application_slot(row)
            refuse_second_application(by_id[row["enterprise_id"]], live.get(slot), tier=d.tier,
                                      track=row["track"], season=d.season)  # fmt: skip
        except ReviewError as error:
            report.refused.append(Refusal(start + offset, d.enterprise_code, error))
            continue
        if slot in taken:  # refused once the first one has its id, as a second `create_application` would be
            twins.append((start + offset, d, taken[slot]))
            continue
        taken[slot] = len(built)
        built.append((start + offset, d, {**_defaults(), **row}))
    if built:
        _insert_drafts(session, built, at, report)
    for index, d, first in twins:
        existing = SimpleNamespace(id=report.by_index[built[first][0]], tier=built[first][2]["tier"], state=State.DRAFT)
        try:
            refuse_second_application(by_id[built[first][2]["enterprise_id"]], existing, tier=d.tier, track=d.track,
                                      season=d.season)  # fmt: skip
        except ReviewError as error:
            report.refused.append(Refusal(index, d.enterprise_code, error))


def _insert_drafts(session: Session, built: list[tuple[int, Draft, dict[str, Any]]], at: datetime,
                   report: BulkReport) -> None:  # fmt: skip
    """The batch's drafts with one INSERT, their `create` events (each the first of its chain) with another.
    Their ids are reserved first, so each row goes in with its chain head: an UPDATE of every row after
    its event (2,400 for the demo) and a RETURNING are saved."""
    events, rows = [], []
    for ident, (index, d, row) in zip(_reserved_ids(session, len(built)), built, strict=True):
        report.by_index[index] = ident
        report.chains[ident] = row["chain"]
        snapshot = snapshot_of(Application, {**row, "id": ident})
        # The content's digest once per draft: the snapshot took it, the event records it.
        digest = snapshot["content"].removeprefix("sha256:")
        created = creation_event(ident, row, actor=d.actor, at=at, content_sha256=digest)
        events.append(chained_row(GENESIS, 0, **created, row_snapshot=snapshot))
        rows.append({**row, "id": ident, "audit_head": events[-1]["hash"], "audit_count": 1})
    session.execute(insert(APPLICATION), rows)
    session.execute(insert(AUDIT_EVENT), events)
    report.done += [row["id"] for row in rows]


def _reserved_ids(session: Session, count: int) -> list[int]:
    """`count` ids for new applications, taken before they are inserted. PostgreSQL draws them from the id
    column's sequence. SQLite gives a new row max(rowid) + 1 (no AUTOINCREMENT), and a batch holds the
    write lock from its first statement (BEGIN IMMEDIATE, `models.database.make_engine`): no other writer
    can take these ids before the batch commits."""
    if session.get_bind().dialect.name == "postgresql":
        sequence = func.nextval(func.pg_get_serial_sequence(APPLICATION.name, "id"))
        return list(session.scalars(select(sequence).select_from(func.generate_series(1, count))))
    top = session.scalar(select(func.max(APPLICATION.c.id))) or 0
    return list(range(top + 1, top + count + 1))


def _draft_row(enterprises: dict[str, Enterprise], d: Draft, at: datetime,
               rulebooks: dict[str, Season | None]) -> dict[str, Any]:  # fmt: skip
    from models.credit_code import CreditCodeError, validate_credit_code
    from models.errors import InvalidInput
    from programmes.season import get_season

    try:
        code = validate_credit_code(d.enterprise_code)
    except CreditCodeError as exc:
        raise InvalidInput(str(exc), rule="credit-code", source="GB 32100-2015") from None
    if code not in enterprises:
        raise NotFound(f"enterprise {code} is not registered; `factory-review enterprise add` first")
    if d.season not in rulebooks:
        try:
            rulebooks[d.season] = get_season(d.season)
        except ReviewError:
            rulebooks[d.season] = None  # `new_draft` refuses it, after the checks it makes first
    return new_draft(enterprises[code], d, at=at, rulebook=rulebooks[d.season])


@cache
def _defaults() -> dict[str, Any]:
    """The ORM-side defaults of an application row (version 1 as the ORM's first INSERT writes it)."""
    blank = Application(enterprise_id=0, tier="", track="", season="").model_dump(exclude={"id"})
    return {**blank, "version": 1}


# ---- transitions ----------------------------------------------------------------------------------------


def transition_many(session: Session, decisions: Sequence[Decision], *, at: datetime, batch: int = BATCH,
                    progress: Progress | None = None) -> BulkReport:  # fmt: skip
    """`transition` for many: the batch's rows locked with one SELECT … FOR UPDATE, each decision through
    `apply_to_locked` (authorised, guarded, state, audit chain), the batch's mail queued with one
    statement, one commit. A refused decision changes nothing; the others of the batch are applied."""
    at = ensure_aware(at)
    report = BulkReport()
    for start, part in batches(decisions, batch):
        try:
            _committed(session, _transitions_batch, start, part, at, report)
        except StaleDataError as exc:
            raise ConcurrentUpdate(
                "an application of the batch was changed by someone else; the batch was rolled back, try again",
                rule="concurrent-update", source="optimistic lock (version)") from exc  # fmt: skip
        if progress:
            progress(len(part))
    return report


def _transitions_batch(session: Session, start: int, part: list[Decision], at: datetime,
                       report: BulkReport) -> None:  # fmt: skip
    ids = sorted({d.application_id for d in part})  # one lock order for every writer: no deadlocks
    rows = {a.id: a for a in session.scalars(
        select(Application).where(col(Application.id).in_(ids)).order_by(col(Application.id))
        .with_for_update().execution_options(populate_existing=True))}  # fmt: skip
    # Held for the batch: the session's identity map only keeps objects somebody references.
    held = list(
        session.scalars(select(Enterprise).where(col(Enterprise.id).in_({a.enterprise_id for a in rows.values()})))
    )
    batch = Batch()
    results: list[TransitionResult] = []
    with batch_memo(session):
        for offset, d in enumerate(part):
            application = rows.get(d.application_id)
            try:
                if application is None:
                    raise NotFound(f"application {d.application_id} does not exist", rule="not-found")
                results.append(apply_to_locked(session, application, d.event, actor=d.actor, at=at,
                                               reason=d.reason, data=d.data, batch=batch))  # fmt: skip
            except ReviewError as error:
                report.refused.append(Refusal(start + offset, str(d.application_id), error))
    # Mail rendered when sent: a batch of filings spent a quarter of its time in Jinja2 for mail the sender
    # reads minutes later.
    report.mails_queued += batch.write(session, at=at)
    report.results += results
    report.done += [r.application_id for r in results]
    del held
