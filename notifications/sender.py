"""Drain the outbox after commit: exactly-once discipline, retries with backoff, one connection per batch.

Per row, in this order (no send-then-save gap):

1. claim it: `pending|uncertain → sending`, attempts + 1, attempted_at, and COMMIT;
2. hand it to SMTP (or the .eml sink);
3. right after the server accepts: `sending → sent`, sent_at, COMMIT.

A crash between 2 and 3 leaves the row in `sending`. The next run turns every such row into `uncertain`
(counted in the report, listed by `outbox list --status uncertain`) and sends it once more with the same
Message-ID, so mail clients collapse the copy. A crash before 2 also leaves `sending`: that resend is then
the first delivery. Nothing is lost; a duplicate is possible only for a row reported `uncertain`.

Failures: connection errors, timeouts and 4xx replies are transient (back to `pending` with exponential
backoff, up to `max_attempts`); 5xx replies and unusable addresses are permanent (`failed`, never retried
unless an administrator runs `outbox retry`).

Assumes one sender at a time (the Prefect deployment runs with a concurrency limit of 1): a second sender
starting mid-batch would take the first one's in-flight rows for crashed ones.

    report = send_pending(engine, transport=SmtpTransport.from_settings(), now=clock.now())
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path
from typing import Any, Literal, Protocol

import aiosmtplib
from sqlalchemy import func, or_, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.clock import ensure_aware, to_utc
from models.settings import Settings, get_settings
from models.tables import OutboxMessage
from notifications.addresses import BadAddress, mailbox, validate_address
from notifications.outbox import render_queued

Outcome = Literal["transient", "permanent"]
SENDABLE = ("pending", "uncertain")
UNCERTAIN_NOTE = "uncertain: the sender stopped after handing this message to SMTP and before recording the reply"
T = OutboxMessage.__table__


# ---- transports -------------------------------------------------------------------------------------


class Connection(Protocol):
    """One open channel for a batch of messages."""

    async def open(self) -> None: ...

    async def send(self, outbox_id: int, data: bytes, sender: str, recipient: str) -> None:
        """Return when the server accepted the message; raise otherwise."""
        ...

    async def close(self) -> None: ...


class Transport(Protocol):
    """Makes a connection per batch."""

    def connect(self) -> Connection: ...


@dataclass(frozen=True)
class SmtpTransport:
    """SMTP over aiosmtplib: one connection per batch, reused for every message in it."""

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
        self.transport = transport
        self.client: aiosmtplib.SMTP | None = None

    async def open(self) -> None:
        t = self.transport
        client = aiosmtplib.SMTP(
            hostname=t.host,
            port=t.port,
            username=t.username or None,
            password=t.password or None,
            timeout=t.timeout,
            use_tls=t.tls,
            start_tls=t.starttls and not t.tls,
            local_hostname=t.local_hostname,
        )
        await client.connect()
        self.client = client

    async def send(self, outbox_id: int, data: bytes, sender: str, recipient: str) -> None:
        if self.client is None or not self.client.is_connected:
            await self.open()
        assert self.client is not None
        await self.client.sendmail(sender, [recipient], data)

    async def close(self) -> None:
        if self.client is not None and self.client.is_connected:
            with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                await self.client.quit()
        self.client = None


@dataclass(frozen=True)
class EmlFolderTransport:
    """A folder sink for the demo and development: `<outbox id>.eml`, written atomically.

    Writing the same row twice (an uncertain resend) replaces the file: the sink is idempotent.
    """

    directory: Path

    def connect(self) -> EmlFolderConnection:
        return EmlFolderConnection(Path(self.directory))


class EmlFolderConnection:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)

    async def send(self, outbox_id: int, data: bytes, sender: str, recipient: str) -> None:
        target = self.directory / f"{outbox_id}.eml"
        partial = target.with_suffix(f".eml.{os.getpid()}.tmp")
        partial.write_bytes(data)
        os.replace(partial, target)  # atomic: a reader never sees half a message

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
    """Transient: connection, timeout, 4xx. Permanent: 5xx, an unusable address."""
    if isinstance(exc, BadAddress):
        return "permanent"
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        return "permanent" if codes and all(c >= 500 for c in codes) else "transient"
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return "permanent" if exc.code >= 500 else "transient"
    return "transient"  # disconnects, timeouts, OSError, and anything unexpected (bounded by max_attempts)


def _is_connection_error(exc: BaseException) -> bool:
    return isinstance(exc, ConnectionError | TimeoutError | OSError | aiosmtplib.SMTPServerDisconnected)


# ---- report -----------------------------------------------------------------------------------------


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    retried: int = 0  # transient failures rescheduled with backoff
    uncertain: int = 0  # rows found in `sending`/`uncertain` at the start of the run
    uncertain_resent: int = 0  # of those, resent (same Message-ID) and accepted in this run
    batches: int = 0
    seconds: float = 0.0
    uncertain_ids: list[int] = field(default_factory=list)
    failed_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---- building the message ---------------------------------------------------------------------------


def _header(value: str) -> str:
    """A header value we set ourselves: CR, LF or other control characters are refused outright."""
    if any(ord(ch) < 32 or ch in "\x7f\x85\u2028\u2029" for ch in value):
        raise BadAddress(f"header value contains a line break or control character: {value!r}")
    return value


def build_message(row: Any, *, mail_from: str) -> bytes:
    """The wire bytes for an outbox row: text and HTML alternatives, the row's stable Message-ID.

    Built with the compat32 MIME classes, about 4x faster than `EmailMessage` with the modern policy
    (measured: 0.7 ms against 2.6 ms per message, the sender's main cost), so every header value is
    checked here instead: raises BadAddress when the recipient, name or subject can't be a header.
    `Date` is the queue time, so an uncertain resend differs from the first copy only in MIME boundaries.
    """
    from_name, from_address = parseaddr(mail_from)
    message = MIMEMultipart("alternative")
    message["From"] = formataddr((_header(from_name), validate_address(from_address)), charset="utf-8")
    message["To"] = mailbox(row.recipient_name, row.recipient)
    message["Subject"] = Header(_header(row.subject), "utf-8")
    message["Message-ID"] = _header(row.message_id)
    if row.created_at is not None:
        message["Date"] = format_datetime(ensure_aware(row.created_at))
    message["X-Factory-Review-Outbox"] = str(row.id)
    message["X-Factory-Review-Kind"] = _header(row.kind)
    message.attach(MIMEText(row.body_text, "plain", "utf-8"))
    if row.body_html:
        message.attach(MIMEText(row.body_html, "html", "utf-8"))
    return message.as_bytes()


# ---- the run ----------------------------------------------------------------------------------------


def _engine_of(session_factory_or_engine: Engine | Callable[[], Session]) -> Engine:
    if isinstance(session_factory_or_engine, Engine):
        return session_factory_or_engine
    with session_factory_or_engine() as session:
        bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


class _Run:
    """State of one `send_pending` call. DB writes are synchronous and never span an `await`, so each
    commit is finished before the event loop can switch to another batch."""

    def __init__(
        self,
        engine: Engine,
        transport: Transport,
        now: datetime,
        *,
        batch_size: int,
        max_attempts: int,
        concurrency: int,
        backoff: Backoff,
        mail_from: str,
    ) -> None:
        self.engine = engine
        self.transport = transport
        self.start = to_utc(now)
        self.t0 = time.monotonic()
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self.concurrency = concurrency
        self.backoff = backoff
        self.mail_from = mail_from
        self.envelope_from = parseaddr(mail_from)[1] or mail_from
        self.report = SendReport()
        self.uncertain_ids: set[int] = set()

    def now(self) -> datetime:
        """The injected start instant plus real elapsed time: replays keep their date, backoff still works."""
        return self.start + timedelta(seconds=time.monotonic() - self.t0)

    def _write(self, statement: Any) -> int:
        with self.engine.begin() as conn:
            return conn.execute(statement).rowcount

    def recover(self) -> None:
        """Rows left in `sending` by a crashed run become `uncertain`; count them with earlier ones."""
        self._write(update(T).where(T.c.status == "sending").values(status="uncertain", last_error=UNCERTAIN_NOTE))
        with self.engine.connect() as conn:
            ids = list(conn.scalars(select(T.c.id).where(T.c.status == "uncertain").order_by(T.c.id)))
        self.uncertain_ids = set(ids)
        self.report.uncertain = len(ids)
        self.report.uncertain_ids = ids

    def due(self, limit: int) -> list[Any]:
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    select(T)
                    .where(T.c.status.in_(SENDABLE))
                    .where(or_(T.c.next_attempt_at.is_(None), T.c.next_attempt_at <= self.now()))
                    .order_by(T.c.id)
                    .limit(limit)
                )
            )

    def next_due_at(self) -> datetime | None:
        with self.engine.connect() as conn:
            value = conn.scalar(select(func.min(T.c.next_attempt_at)).where(T.c.status.in_(SENDABLE)))
        return ensure_aware(value) if value is not None else None

    def _claim(self, row: Any) -> bool:
        """`pending|uncertain → sending`, committed before anything reaches SMTP. False if someone else did."""
        claimed = self._write(
            update(T)
            .where(T.c.id == row.id, T.c.status == row.status)
            .values(status="sending", attempts=T.c.attempts + 1, attempted_at=self.now())
        )
        return claimed == 1

    def _sent(self, row: Any) -> None:
        note = "resent once after an uncertain crash, same Message-ID" if row.id in self.uncertain_ids else ""
        self._write(
            update(T)
            .where(T.c.id == row.id, T.c.status == "sending")
            .values(status="sent", sent_at=self.now(), last_error=note, next_attempt_at=None)
        )
        self.report.sent += 1
        if row.id in self.uncertain_ids:
            self.report.uncertain_resent += 1

    def _failed(self, row: Any, exc: BaseException, *, claimed: bool) -> None:
        """Record a failure: reschedule a transient one, stop a permanent or exhausted one."""
        attempts = row.attempts + 1  # the claim (or, unclaimed, this failure) counts as an attempt
        error = f"{type(exc).__name__}: {exc}"[:2000]
        expected = "sending" if claimed else row.status
        if classify(exc) == "transient" and attempts < self.max_attempts:
            values: dict[str, Any] = {
                "status": "pending",
                "last_error": error,
                "next_attempt_at": self.now() + timedelta(seconds=self.backoff.delay(attempts)),
            }
            self.report.retried += 1
        else:
            values = {"status": "failed", "last_error": error, "next_attempt_at": None}
            self.report.failed += 1
            self.report.failed_ids.append(row.id)
        if not claimed:
            values["attempts"] = T.c.attempts + 1
        self._write(update(T).where(T.c.id == row.id, T.c.status == expected).values(**values))

    async def batch(self, rows: Sequence[Any]) -> None:
        """One connection for the whole batch; reconnect once after a drop, then give the rest back."""
        self.report.batches += 1
        connection = self.transport.connect()
        try:
            try:
                await connection.open()
            except Exception as exc:
                for row in rows:  # nothing reached the server: reschedule (or fail) without claiming
                    self._failed(row, exc, claimed=False)
                return
            for index, row in enumerate(rows):
                try:
                    data = build_message(row, mail_from=self.mail_from)
                    recipient = validate_address(row.recipient)
                except BadAddress as exc:
                    self._failed(row, exc, claimed=False)
                    continue
                if not self._claim(row):
                    continue
                try:
                    await connection.send(row.id, data, self.envelope_from, recipient)
                except Exception as exc:
                    self._failed(row, exc, claimed=True)
                    if _is_connection_error(exc):
                        try:
                            await connection.close()
                            await connection.open()
                        except Exception as again:
                            for rest in rows[index + 1 :]:
                                self._failed(rest, again, claimed=False)
                            return
                    continue
                self._sent(row)
        finally:
            with contextlib.suppress(Exception):
                await connection.close()

    async def run(self, retry_within: float) -> SendReport:
        self.recover()
        while True:
            rows = self.due(self.batch_size * self.concurrency)
            if rows:
                batches = [rows[i : i + self.batch_size] for i in range(0, len(rows), self.batch_size)]
                await asyncio.gather(*(self.batch(b) for b in batches))
                continue
            upcoming = self.next_due_at()
            if upcoming is None:
                break
            wait = (upcoming - self.now()).total_seconds()
            if wait > retry_within:
                break  # later runs (the schedule) pick these up
            await asyncio.sleep(max(0.0, wait))
        self.report.seconds = round(time.monotonic() - self.t0, 3)
        return self.report


async def send_pending_async(
    session_factory_or_engine: Engine | Callable[[], Session],
    *,
    transport: Transport | None = None,
    now: datetime,
    batch_size: int = 100,
    max_attempts: int = 5,
    concurrency: int = 2,
    backoff: Backoff | None = None,
    retry_within: float = 0.0,
    mail_from: str | None = None,
) -> SendReport:
    """Send every due outbox row; see the module docstring for the exactly-once discipline.

    `concurrency` batches run at once, each over its own connection (one connection per batch).
    Transient failures due again within `retry_within` seconds are retried in this run; later ones are
    left for the next run.
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
    )
    return await run.run(retry_within)


def send_pending(
    session_factory_or_engine: Engine | Callable[[], Session],
    *,
    transport: Transport | None = None,
    now: datetime,
    batch_size: int = 100,
    max_attempts: int = 5,
    concurrency: int = 2,
    backoff: Backoff | None = None,
    retry_within: float = 0.0,
    mail_from: str | None = None,
) -> SendReport:
    """Synchronous wrapper (CLI, Prefect task). Inside a running event loop use `send_pending_async`."""
    return asyncio.run(
        send_pending_async(
            session_factory_or_engine,
            transport=transport,
            now=now,
            batch_size=batch_size,
            max_attempts=max_attempts,
            concurrency=concurrency,
            backoff=backoff,
            retry_within=retry_within,
            mail_from=mail_from,
        )
    )


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
