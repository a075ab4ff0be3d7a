"""Drain the outbox after commit: any number of senders, each row delivered once, status written in batches.

A sender runs `concurrency` workers; each keeps one SMTP connection open and repeats:

1. claim a batch: due `pending|uncertain` rows → `sending`, with this sender's token and a lease expiry,
   attempts + 1, in ONE commit (`SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL, so concurrent senders
   take disjoint rows; on SQLite the claim runs in a `BEGIN IMMEDIATE` write transaction);
2. hand the batch to SMTP, pipelined (notifications.smtp_client), or to the .eml folder;
3. write every row's result in ONE commit: `sent` only for rows the server accepted, each with its time;
   the same commit claims the worker's next batch (step 1), so a batch costs one commit, not two.

A row is never marked sent before the server accepted it. A crash between 2 and 3 leaves the batch in
`sending` with a lease: when the lease expires (`lease_seconds`, default 300), any sender turns those
rows into `uncertain` (counted in its report, listed by `outbox list --status uncertain`) and sends them
once more with the same Message-ID, so mail clients collapse the copy. A row whose content reached the
server when the connection broke is recorded `uncertain` at once. So the uncertain window is at most one
batch per worker, and always counted; nothing is lost, and a duplicate is possible only for such rows.
A lease held by a stuck sender expires the same way and another sender takes the rows.

Failures: connection errors, timeouts and 4xx replies are transient (back to `pending` with exponential
backoff, up to `max_attempts`); 5xx replies, unusable addresses and messages that can't be built are
permanent (`failed` with the reason, never retried unless an administrator runs `outbox retry`). One bad
row never stops the others.

    report = send_pending(engine, transport=SmtpTransport.from_settings(), now=clock.now())
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Any, Literal, Protocol

import aiosmtplib
from sqlalchemy import Table, bindparam, func, or_, select, update
from sqlalchemy.engine import Connection as DbConnection
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.clock import ensure_aware, to_utc
from models.settings import Settings, get_settings
from models.tables import OutboxMessage
from notifications.addresses import BadAddress, needs_smtputf8, normalise_address
from notifications.outbox import render_queued
from notifications.smtp_client import Envelope, InFlight, PipelinedSmtp
from notifications.wire import build_message

__all__ = ["Backoff", "EmlFolderTransport", "SendReport", "SmtpTransport", "build_message", "classify",
           "retry_failed", "send_pending", "send_pending_async", "transport_from_settings"]  # fmt: skip

Outcome = Literal["transient", "permanent"]
SENDABLE = ("pending", "uncertain")
UNCERTAIN_NOTE = "uncertain: the sender stopped after handing this message to SMTP and before recording the reply"
RESENT_NOTE = "resent once after an uncertain crash, same Message-ID"
T: Table = OutboxMessage.__table__  # type: ignore[attr-defined]


# ---- transports -------------------------------------------------------------------------------------


class Connection(Protocol):
    """One open channel, kept by a worker for all its batches."""

    async def open(self) -> None:
        """Open the channel unless it is open."""
        ...

    async def send_many(self, items: Iterable[tuple[int, Envelope]]) -> list[tuple[int, BaseException | None]]:
        """Open the channel if needed and send, drawing items as it goes (building overlaps sending); per
        item its id and None when the server accepted it, else the exception (InFlight: maybe delivered).
        Raises only when the channel cannot be opened, before drawing any item."""
        ...

    async def close(self) -> None: ...


class Transport(Protocol):
    """Makes a connection per worker."""

    def connect(self) -> Connection: ...


@dataclass(frozen=True)
class SmtpTransport:
    """SMTP, pipelined when the server offers it: one connection per worker, reused for every batch."""

    host: str
    port: int = 25
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    tls: bool = False
    timeout: float = 10.0
    local_hostname: str = "factory-review.local"  # avoids socket.getfqdn(), which can stall on DNS

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> SmtpTransport:
        settings = settings or get_settings()
        if not settings.smtp_host:
            raise ValueError("FACTORY_REVIEW_SMTP_HOST is not set")
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_user,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            starttls=settings.smtp_starttls,
            tls=settings.smtp_tls,
            timeout=settings.smtp_timeout,
        )

    def connect(self) -> SmtpConnection:
        return SmtpConnection(self)


class SmtpConnection:
    def __init__(self, transport: SmtpTransport) -> None:
        t = transport
        self.client = PipelinedSmtp(
            t.host, t.port, username=t.username or None, password=t.password or None, tls=t.tls,
            starttls=t.starttls and not t.tls, timeout=t.timeout, local_hostname=t.local_hostname,
        )  # fmt: skip

    async def open(self) -> None:
        if not self.client.is_connected:
            await self.client.open()

    async def send_many(self, items: Iterable[tuple[int, Envelope]]) -> list[tuple[int, BaseException | None]]:
        await self.open()
        ids: list[int] = []

        def envelopes() -> Iterator[Envelope]:
            for outbox_id, envelope in items:
                ids.append(outbox_id)
                yield envelope

        results = await self.client.send_many(envelopes())
        return list(zip(ids, results, strict=True))

    async def close(self) -> None:
        await self.client.close()


@dataclass(frozen=True)
class EmlFolderTransport:
    """A folder sink for the demo and development: `<outbox id>.eml`, written atomically."""

    directory: Path | str

    def connect(self) -> EmlFolderConnection:
        return EmlFolderConnection(Path(self.directory))


class EmlFolderConnection:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)

    async def send_many(self, items: Iterable[tuple[int, Envelope]]) -> list[tuple[int, BaseException | None]]:
        await self.open()
        results: list[tuple[int, BaseException | None]] = []
        for outbox_id, envelope in items:
            target = self.directory / f"{outbox_id}.eml"
            partial = target.with_suffix(f".eml.{os.getpid()}.tmp")
            try:
                partial.write_bytes(envelope.data)
                os.replace(partial, target)  # atomic: a reader never sees half a message
                results.append((outbox_id, None))
            except OSError as exc:
                results.append((outbox_id, exc))
        return results

    async def close(self) -> None:
        return None


def transport_from_settings(settings: Settings | None = None) -> Transport:
    """SMTP when FACTORY_REVIEW_SMTP_HOST is set, else the .eml folder (mail_dir, default data/mail)."""
    settings = settings or get_settings()
    if settings.smtp_host:
        return SmtpTransport.from_settings(settings)
    return EmlFolderTransport(settings.mail_dir or settings.data_dir / "mail")


# ---- policy -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Backoff:
    """Delay before attempt n+1 after n failed attempts: base · factor^(n-1), at most cap (seconds)."""

    base: float = 30.0
    factor: float = 2.0
    cap: float = 3600.0

    def delay(self, attempts: int) -> float:
        return min(self.cap, self.base * self.factor ** max(0, attempts - 1))


def classify(exc: BaseException) -> Outcome:
    """Transient: connection, timeout, 4xx. Permanent: 5xx, an unusable address, a message that can't be
    built or needs SMTPUTF8 the server lacks (retrying cannot help)."""
    if isinstance(exc, BadAddress | UnicodeError | aiosmtplib.SMTPNotSupported):
        return "permanent"
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        return "permanent" if codes and all(c >= 500 for c in codes) else "transient"
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return "permanent" if exc.code >= 500 else "transient"
    return "transient"  # disconnects, timeouts, OSError, and anything unexpected (bounded by max_attempts)


# ---- report -----------------------------------------------------------------------------------------


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    retried: int = 0  # transient failures rescheduled with backoff
    uncertain: int = 0  # rows found uncertain, or whose lease expired, or in flight when a connection broke
    uncertain_resent: int = 0  # of those, resent (same Message-ID) and accepted in this run
    batches: int = 0
    seconds: float = 0.0
    uncertain_ids: list[int] = field(default_factory=list)
    failed_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---- the run ----------------------------------------------------------------------------------------


def _engine_of(session_factory_or_engine: Engine | Callable[[], Session]) -> Engine:
    if isinstance(session_factory_or_engine, Engine):
        return session_factory_or_engine
    with session_factory_or_engine() as session:
        bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def sender_token() -> str:
    """Who holds a lease: host, process and a random part (several senders may share a process)."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


_RECORD = (
    update(T)
    .where(T.c.id == bindparam("b_id"), T.c.status == "sending", T.c.claimed_by == bindparam("b_token"))
    .values(
        status=bindparam("b_status"),
        last_error=bindparam("b_error"),
        next_attempt_at=bindparam("b_next"),
        sent_at=bindparam("b_sent"),
        claimed_by=None,
        lease_until=None,
    )
)


# What building and recording a message read from its row (notifications.wire, _Run._result): the claim
# returns these columns only, so no JSON context or unused timestamps are decoded for every row.
_SEND_COLUMNS = (T.c.id, T.c.kind, T.c.recipient, T.c.recipient_name, T.c.subject, T.c.body_text, T.c.body_html,
                 T.c.message_id, T.c.created_at, T.c.attempts)  # fmt: skip
_TAKE = (
    update(T)
    .where(T.c.id.in_(bindparam("c_ids", expanding=True)))
    .values(status="sending", claimed_by=bindparam("c_token"), lease_until=bindparam("c_lease"),
            attempts=T.c.attempts + 1, attempted_at=bindparam("c_now"))
    .returning(*_SEND_COLUMNS)
)  # fmt: skip


def _pick(batch_size: int, *, postgres: bool) -> Any:
    """Due `pending|uncertain` rows, oldest first, with their status before the claim; on PostgreSQL
    locked with SKIP LOCKED, so concurrent senders take disjoint rows."""
    due = or_(T.c.next_attempt_at.is_(None), T.c.next_attempt_at <= bindparam("c_now"))
    pick = select(T.c.id, T.c.status).where(T.c.status.in_(SENDABLE), due).order_by(T.c.id).limit(batch_size)
    return pick.with_for_update(skip_locked=True) if postgres else pick


@dataclass
class _Batch:
    """A claimed batch: its rows, the rows that were uncertain before this claim, and their results."""

    rows: list[Any]
    uncertain: set[int]
    results: list[dict[str, Any]] = field(default_factory=list)


class _Run:
    """State of one `send_pending` call. The workers' claims and records run one at a time on one thread
    of the run's own: the event loop keeps every other connection busy while a batch is committed (and
    while SQLite checkpoints its WAL), and a run never waits for its own write lock."""

    def __init__(self, engine: Engine, transport: Transport, now: datetime, *, batch_size: int, max_attempts: int,
                 concurrency: int, backoff: Backoff, mail_from: str, lease_seconds: float) -> None:  # fmt: skip
        self.engine = engine
        self.transport = transport
        self.start = to_utc(now)
        self.t0 = time.monotonic()
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self.concurrency = concurrency
        self.backoff = backoff
        self.mail_from = mail_from
        self.envelope_from = normalise_address(parseaddr(mail_from)[1] or mail_from)
        self.lease = timedelta(seconds=lease_seconds)
        self.token = sender_token()
        self.report = SendReport()
        self.postgres = engine.dialect.name == "postgresql"
        self.pick = _pick(batch_size, postgres=self.postgres)
        self.db_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox-db")

    def now(self) -> datetime:
        """The injected start instant plus real elapsed time: replays keep their date, backoff still works."""
        return self.start + timedelta(seconds=time.monotonic() - self.t0)

    def _count_uncertain(self, ids: Sequence[int]) -> None:
        self.report.uncertain += len(ids)
        self.report.uncertain_ids.extend(ids)

    def expire_leases(self) -> None:
        """Rows whose sender stopped (its lease expired, or none recorded) become `uncertain`, counted."""
        statement = (
            update(T)
            .where(T.c.status == "sending", or_(T.c.lease_until.is_(None), T.c.lease_until < self.now()))
            .values(status="uncertain", last_error=UNCERTAIN_NOTE, claimed_by=None, lease_until=None)
            .returning(T.c.id)
        )
        with self.engine.begin() as conn:
            self._count_uncertain(sorted(conn.scalars(statement)))

    def count_uncertain_at_start(self) -> None:
        with self.engine.connect() as conn:
            self._count_uncertain(list(conn.scalars(select(T.c.id).where(T.c.status == "uncertain").order_by(T.c.id))))

    def claim(self, conn: DbConnection) -> _Batch | None:
        """Take up to batch_size due rows under this sender's lease, in the caller's transaction: pick the
        ids, then one UPDATE that returns the columns to send (prebuilt statements, compiled once)."""
        now = self.now()
        picked = conn.execute(self.pick, {"c_now": now}).all()
        if not picked:
            return None
        params = {"c_ids": [row.id for row in picked], "c_token": self.token, "c_lease": now + self.lease,
                  "c_now": now}  # fmt: skip
        rows = sorted(conn.execute(_TAKE, params), key=lambda row: row.id)
        return _Batch(rows, {row.id for row in picked if row.status == "uncertain"})

    def _result(self, batch: _Batch, row: Any, exc: BaseException | None) -> None:
        """The row's new status: sent; uncertain when maybe delivered; pending with backoff; or failed."""
        values: dict[str, Any] = {"b_id": row.id, "b_token": self.token, "b_error": "", "b_next": None,
                                  "b_sent": None}  # fmt: skip
        if exc is None:
            values.update(b_status="sent", b_sent=self.now(), b_error=RESENT_NOTE if row.id in batch.uncertain else "")
            self.report.sent += 1
            self.report.uncertain_resent += row.id in batch.uncertain
        elif isinstance(exc, InFlight):
            values.update(b_status="uncertain", b_error=f"{UNCERTAIN_NOTE} ({exc})"[:2000])
            self._count_uncertain([row.id])
        elif classify(exc) == "transient" and row.attempts < self.max_attempts:
            delay = timedelta(seconds=self.backoff.delay(row.attempts))
            values.update(b_status="pending", b_error=f"{type(exc).__name__}: {exc}"[:2000], b_next=self.now() + delay)
            self.report.retried += 1
        else:
            values.update(b_status="failed", b_error=f"{type(exc).__name__}: {exc}"[:2000])
            self.report.failed += 1
            self.report.failed_ids.append(row.id)
        batch.results.append(values)

    def record_and_claim(self, batch: _Batch | None) -> _Batch | None:
        """Every result of `batch` (a row another sender took over is left to it) and the claim of the next
        batch, in one commit: half the commits of recording and claiming apart, and a crash before it
        leaves the same state as a crash before recording (the batch in `sending` under its lease)."""
        with self.engine.begin() as conn:
            if batch is not None and batch.results:
                conn.execute(_RECORD, batch.results)
            return self.claim(conn)

    def envelopes(self, batch: _Batch) -> Iterator[tuple[int, Envelope]]:
        """Build each message when the connection draws it; a row that can't be built is failed then, with
        the reason, and skipped."""
        for row in batch.rows:
            try:
                recipient = normalise_address(row.recipient)
                data = build_message(row, mail_from=self.mail_from)
            except (BadAddress, UnicodeError, ValueError) as exc:
                self._result(batch, row, exc)
                continue
            yield row.id, Envelope(self.envelope_from, recipient, data, needs_smtputf8(recipient))

    async def deliver(self, connection: Connection, batch: _Batch) -> None:
        by_id = {row.id: row for row in batch.rows}
        results: list[tuple[int, BaseException | None]]
        try:
            await connection.open()
        except Exception as exc:  # could not open: nothing reached the server
            results = [(outbox_id, exc) for outbox_id, _envelope in self.envelopes(batch)]
        else:
            results = await connection.send_many(self.envelopes(batch))
        for outbox_id, result in results:
            self._result(batch, by_id[outbox_id], result)

    async def worker(self) -> None:
        """One connection for all of this worker's batches; claim, deliver, record until nothing is due."""
        connection = self.transport.connect()
        try:
            loop = asyncio.get_running_loop()
            batch = await loop.run_in_executor(self.db_thread, self.record_and_claim, None)
            while batch is not None:
                self.report.batches += 1
                await self.deliver(connection, batch)
                batch = await loop.run_in_executor(self.db_thread, self.record_and_claim, batch)
        finally:
            await connection.close()

    def next_due_at(self) -> datetime | None:
        with self.engine.connect() as conn:
            value = conn.scalar(select(func.min(T.c.next_attempt_at)).where(T.c.status.in_(SENDABLE)))
        return ensure_aware(value) if value is not None else None

    async def run(self, retry_within: float) -> SendReport:
        self.count_uncertain_at_start()
        try:
            while True:
                self.expire_leases()
                await asyncio.gather(*(self.worker() for _ in range(self.concurrency)))
                upcoming = self.next_due_at()
                if upcoming is None:
                    break
                wait = (upcoming - self.now()).total_seconds()
                if wait > retry_within:
                    break  # later runs (the schedule) pick these up
                await asyncio.sleep(max(0.0, wait))
        finally:
            self.db_thread.shutdown(wait=True)  # a transaction under way finishes (commits or rolls back)
        self.report.seconds = round(time.monotonic() - self.t0, 3)
        return self.report


async def send_pending_async(
    session_factory_or_engine: Engine | Callable[[], Session],
    *,
    transport: Transport | None = None,
    now: datetime,
    batch_size: int = 100,
    max_attempts: int = 5,
    concurrency: int = 4,
    backoff: Backoff | None = None,
    retry_within: float = 0.0,
    mail_from: str | None = None,
    lease_seconds: float = 300.0,
) -> SendReport:
    """Send every due outbox row; see the module docstring for the exactly-once discipline.

    `concurrency` workers run at once, each over its own connection (4 by default: with one message in
    flight per connection, four keep the server busy while our side builds and commits; the uncertain
    window after a crash is one batch per worker). Transient failures due again within
    `retry_within` seconds are retried in this run; later ones are left for the next run. A batch not
    recorded within `lease_seconds` (on the run's clock) may be taken over by another sender.
    """
    engine = _engine_of(session_factory_or_engine)
    render_queued(engine)  # a sweep's reminders are rendered when they are sent (notifications.outbox)
    run = _Run(
        engine,
        transport or transport_from_settings(),
        ensure_aware(now),
        batch_size=max(1, batch_size),
        max_attempts=max(1, max_attempts),
        concurrency=max(1, concurrency),
        backoff=backoff or Backoff(),
        mail_from=mail_from or get_settings().mail_from,
        lease_seconds=max(0.0, lease_seconds),
    )
    return await run.run(retry_within)


def send_pending(
    session_factory_or_engine: Engine | Callable[[], Session], *, now: datetime, **options: Any
) -> SendReport:
    """Synchronous wrapper (CLI, Prefect task) taking `send_pending_async`'s options. Called where an event
    loop already runs in this thread (a notebook, a browser driver's loop), it runs on a thread of its own
    instead of failing; code that is itself async should await `send_pending_async`."""

    def send() -> SendReport:
        return asyncio.run(send_pending_async(session_factory_or_engine, now=now, **options))

    try:
        asyncio.get_running_loop()
    except RuntimeError:  # the usual case: no loop here
        return send()
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(send).result()


def retry_failed(engine: Engine, *, now: datetime, ids: Sequence[int] | None = None) -> int:
    """Give `failed` rows (all, or these ids) a fresh set of attempts: an administrator's decision."""
    statement = (
        update(T)
        .where(T.c.status == "failed")
        .values(status="pending", attempts=0, next_attempt_at=to_utc(now), last_error=T.c.last_error)
    )
    if ids:
        statement = statement.where(T.c.id.in_(list(ids)))
    with engine.begin() as conn:
        return conn.execute(statement).rowcount
