"""A small SMTP client that pipelines (RFC 2920): one round trip per message instead of four.

aiosmtplib waits for the reply to each of MAIL, RCPT, DATA and the content; its protocol object keeps one
reply at a time, so it cannot pipeline. Here, when the server offers PIPELINING, the envelope of message
n+1 (`MAIL`, `RCPT`, `DATA`) is written right behind the content of message n, in one write (content may
open a group, RFC 2920 §3.1), and the group's four replies are awaited once. Without PIPELINING each
command waits for its reply.

Replies are parsed by an asyncio Protocol as they arrive, not read line by line through a StreamReader
with a timeout each: at the sink's speed the client's per-reply overhead (a future, a timer, a task
switch per line) cost as much as building the message.

Errors are aiosmtplib's typed exceptions, so `notifications.sender.classify` treats both clients alike.
A message whose content was written but whose reply never came is reported as `InFlight`: the server
may have accepted it, so the sender records it `uncertain` (resent once, same Message-ID).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
import ssl
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import aiosmtplib

_DOT = re.compile(rb"(?m)^\.")
_LINE_ENDINGS = re.compile(rb"\r\n|\n|\r(?!\n)")


class InFlight(ConnectionError):
    """The content reached the server and the connection broke before its reply: maybe delivered."""


@dataclass(frozen=True)
class Envelope:
    sender: str
    recipient: str
    data: bytes
    smtputf8: bool = False


def _content(data: bytes) -> bytes:
    """CRLF line endings, dot-stuffed, terminated by `.` (RFC 5321 §4.5.2)."""
    crlf = data.count(b"\r\n")
    if crlf == data.count(b"\n") == data.count(b"\r") and not data.startswith(b".") and b"\n." not in data:
        # Already CRLF with no line to stuff (every message notifications.wire builds): the regex passes
        # below would copy the message twice to change nothing. Counting and searching run in C.
        return data + (b".\r\n" if data.endswith(b"\r\n") else b"\r\n.\r\n")
    body = _LINE_ENDINGS.sub(b"\r\n", data)
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    return _DOT.sub(b"..", body) + b".\r\n"


class _Replies(asyncio.Protocol):
    """Parses the server's replies as they arrive; `wait(n)` resolves once n are complete.

    The read timeout is one watchdog timer per connection that fires at most every `timeout` seconds and
    fails the wait if nothing arrived for that long, instead of an `asyncio.timeout` (a timer scheduled
    and cancelled) for every wait: that was a fifth of the client's time at the sink's speed."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.loop = asyncio.get_running_loop()
        self.since = 0.0  # when the current wait started or data last came, whichever is later
        self.watchdog: asyncio.TimerHandle | None = None
        self.buffer = b""
        self.lines: list[str] = []  # the lines read so far of a multi-line reply
        self.replies: deque[tuple[int, str]] = deque()
        self.error: BaseException | None = None
        self.wanted = 0
        self.waiter: asyncio.Future[None] | None = None
        self.lost: asyncio.Future[None] = self.loop.create_future()

    def wait(self, count: int) -> asyncio.Future[None]:
        self.wanted, self.waiter, self.since = count, self.loop.create_future(), self.loop.time()
        if self.watchdog is None:
            self.watchdog = self.loop.call_at(self.since + self.timeout, self._watch)
        return self.waiter

    def _watch(self) -> None:
        self.watchdog = None
        if self.waiter is None or self.waiter.done():
            return  # nobody waits: the next wait arms it again
        due = self.since + self.timeout
        if self.loop.time() >= due:
            self.waiter.set_exception(aiosmtplib.SMTPReadTimeoutError("timed out waiting for the server's reply"))
        else:
            self.watchdog = self.loop.call_at(due, self._watch)

    def data_received(self, data: bytes) -> None:
        self.since = self.loop.time()
        *complete, self.buffer = (self.buffer + data).split(b"\n")
        for line in complete:
            try:
                code = int(line[:3])
            except ValueError:
                self.error = self.error or aiosmtplib.SMTPResponseException(-1, f"malformed reply {line[:80]!r}")
                break
            self.lines.append(line[4:].decode("utf-8", "replace").strip())
            if line[3:4] != b"-":
                self.replies.append((code, "\n".join(self.lines)))
                self.lines = []
        self._wake()

    def connection_lost(self, exc: Exception | None) -> None:
        reason = f": {exc}" if exc else ""
        self.error = self.error or aiosmtplib.SMTPServerDisconnected(f"the server closed the connection{reason}")
        if not self.lost.done():
            self.lost.set_result(None)
        if self.watchdog is not None:
            self.watchdog.cancel()
            self.watchdog = None
        self._wake()

    def _wake(self) -> None:
        ready = len(self.replies) >= self.wanted or self.error is not None
        if ready and self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)


@dataclass
class _Pipeline:
    """Where a send_many call stands: each item's result so far, the item being sent, the item whose
    content was written and whose reply is still to come, the item accepted for DATA whose content goes
    out with the next envelope, and whether the next item was already drawn."""

    results: list[BaseException | None]
    current: int | None = None
    awaiting: int | None = None
    held: tuple[int, bytes] | None = None
    ahead: bool = False


class PipelinedSmtp:
    """One SMTP session: `await open()`, `await send_many(envelopes)` as often as needed, `await close()`."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        username: str | None = None,
        password: str | None = None,
        tls: bool = False,
        starttls: bool = False,
        timeout: float = 10.0,
        local_hostname: str = "factory-review.local",
    ) -> None:
        self.host, self.port, self.timeout, self.local_hostname = host, port, timeout, local_hostname
        self.username, self.password, self.tls, self.starttls = username, password, tls, starttls
        self.transport: asyncio.BaseTransport | None = None
        self.protocol: _Replies | None = None
        self.extensions: set[str] = set()

    @property
    def is_connected(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    def _write(self, data: bytes) -> None:
        assert isinstance(self.transport, asyncio.WriteTransport)
        self.transport.write(data)

    async def _replies(self, count: int) -> list[tuple[int, str]]:
        """The next `count` replies. On an error the replies that did arrive stay queued (`_arrived`), so
        a content reply read before a break is not lost."""
        protocol = self.protocol
        assert protocol is not None
        while len(protocol.replies) < count:
            if protocol.error is not None:
                raise protocol.error
            try:
                await protocol.wait(count)
            finally:
                protocol.waiter = None
        return [protocol.replies.popleft() for _ in range(count)]

    def _arrived(self) -> tuple[int, str] | None:
        """A reply already received and not yet consumed, if any (used after a broken connection)."""
        return self.protocol.replies.popleft() if self.protocol is not None and self.protocol.replies else None

    async def _command(self, line: str, expect: int) -> str:
        self._write(line.encode("utf-8") + b"\r\n")
        [(code, text)] = await self._replies(1)
        if code != expect:
            raise aiosmtplib.SMTPResponseException(code, text)
        return text

    async def _ehlo(self) -> None:
        text = await self._command(f"EHLO {self.local_hostname}", 250)
        self.extensions = {line.split(" ", 1)[0].upper() for line in text.splitlines()[1:]}

    async def open(self) -> None:
        context = ssl.create_default_context() if self.tls or self.starttls else None
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.timeout):
                self.transport, self.protocol = await loop.create_connection(
                    lambda: _Replies(self.timeout), self.host, self.port, ssl=context if self.tls else None
                )
        except (OSError, TimeoutError) as exc:
            raise aiosmtplib.SMTPConnectError(f"cannot connect to {self.host}:{self.port}: {exc}") from exc
        [(code, text)] = await self._replies(1)
        if code != 220:
            raise aiosmtplib.SMTPConnectResponseError(code, text)
        await self._ehlo()
        if self.starttls and not self.tls:
            await self._command("STARTTLS", 220)
            assert context is not None and self.transport is not None
            self.transport = await loop.start_tls(self.transport, self.protocol, context, server_hostname=self.host)
            await self._ehlo()
        if self.username:
            secret = base64.b64encode(f"\0{self.username}\0{self.password or ''}".encode()).decode("ascii")
            await self._command(f"AUTH PLAIN {secret}", 235)

    @staticmethod
    def _envelope(item: Envelope) -> list[bytes]:
        option = " SMTPUTF8" if item.smtputf8 else ""
        return [
            f"MAIL FROM:<{item.sender}>{option}\r\n".encode(),
            f"RCPT TO:<{item.recipient}>\r\n".encode(),
            b"DATA\r\n",
        ]

    async def send_many(self, items: Iterable[Envelope]) -> list[BaseException | None]:
        """Send each envelope; per item taken, in order, None (accepted) or the exception that refused it.

        Items are taken one ahead: the next is drawn from `items` (a generator may build it then) after
        a group is written and before its replies are read, so building overlaps the server's work.
        A broken connection or a reply that makes no sense ends the call: the item in flight gets
        `InFlight`, the rest (all remaining items are drawn) the error."""
        state = _Pipeline([])
        upcoming = iter(items)
        try:
            item = next(upcoming, None)
            while item is not None:
                state.current, state.ahead = len(state.results), False
                state.results.append(None)
                item = await self._send_one(item, state, upcoming)
            state.current = None
            await self._flush(state)
        except (OSError, aiosmtplib.SMTPException) as exc:
            if isinstance(exc, aiosmtplib.SMTPResponseException):  # e.g. a refused RSET, a malformed reply:
                # the messages not yet sent were not refused themselves, so they are retried, not failed
                exc = aiosmtplib.SMTPServerDisconnected(f"the SMTP conversation broke off: {exc}")
            await self._broken(exc, state, upcoming)
        return state.results

    async def _send_one(self, item: Envelope, state: _Pipeline, upcoming: Iterator[Envelope]) -> Envelope | None:
        """Send `item` (the current one); returns the next item, drawn while the server works."""
        index = state.current
        assert index is not None
        if item.smtputf8 and "SMTPUTF8" not in self.extensions:
            state.results[index] = aiosmtplib.SMTPNotSupported(
                f"{item.recipient}: a non-ASCII address needs SMTPUTF8, which the server does not offer"
            )
            return next(upcoming, None)
        if "PIPELINING" not in self.extensions:
            await self._stepwise(item, index, state)
            return next(upcoming, None)
        group = b"".join(self._envelope(item))
        if state.held is not None:  # content may open a group (RFC 2920 §3.1): one write for both
            state.awaiting, content = state.held
            state.held = None
            group = content + group
        self._write(group)
        following = next(upcoming, None)
        state.ahead = following is not None
        replies = await self._replies(4 if state.awaiting is not None else 3)
        if state.awaiting is not None:
            state.results[state.awaiting] = self._content_result(*replies.pop(0))
            state.awaiting = None
        await self._after_envelope(item, index, state, replies)
        return following

    async def _flush(self, state: _Pipeline) -> None:
        """The last held content, and its reply."""
        if state.held is not None:
            state.awaiting, content = state.held
            state.held = None
            self._write(content)
            state.results[state.awaiting] = self._content_result(*(await self._replies(1))[0])
            state.awaiting = None

    async def _broken(self, exc: Exception, state: _Pipeline, upcoming: Iterator[Envelope]) -> None:
        """After a break: the written content's reply if it came, else InFlight; everything unsent gets exc."""
        results = state.results
        reply = self._arrived()
        await self.close(polite=False)
        if state.awaiting is not None:
            lost = InFlight(f"connection lost before the server's reply: {exc}")
            results[state.awaiting] = self._content_result(*reply) if reply is not None else lost
        for unsent in (state.current, state.held[0] if state.held is not None else None):
            if unsent is not None and unsent != state.awaiting and results[unsent] is None:  # keep a refusal
                results[unsent] = exc
        results.extend([exc] * (state.ahead + sum(1 for _ in upcoming)))

    @staticmethod
    def _content_result(code: int, text: str) -> BaseException | None:
        return None if code == 250 else aiosmtplib.SMTPDataError(code, text)

    async def _stepwise(self, item: Envelope, index: int, state: _Pipeline) -> None:
        """Without PIPELINING: each command waits for its reply, and the content for its own."""
        replies: list[tuple[int, str]] = []
        for command in self._envelope(item):
            self._write(command)
            replies += await self._replies(1)
            if replies[-1][0] >= 400:
                break
        await self._after_envelope(item, index, state, replies)
        await self._flush(state)

    async def _after_envelope(
        self, item: Envelope, index: int, state: _Pipeline, replies: list[tuple[int, str]]
    ) -> None:
        """Accepted for DATA: hold the content for the next write. Refused: record why, end the transaction."""
        accepted = len(replies) == 3 and replies[0][0] == 250 and replies[1][0] in (250, 251)
        if accepted and replies[2][0] == 354:
            state.held = (index, _content(item.data))
            return
        state.results[index] = self._refusal(item, replies)
        if replies[-1][0] == 354:  # DATA accepted although the envelope was refused: end it empty
            self._write(b".\r\n")
            await self._replies(1)
        await self._command("RSET", 250)

    @staticmethod
    def _refusal(item: Envelope, replies: list[tuple[int, str]]) -> BaseException:
        mail, *rest = replies
        if mail[0] != 250:
            return aiosmtplib.SMTPSenderRefused(mail[0], mail[1], item.sender)
        if rest and rest[0][0] != 250:
            return aiosmtplib.SMTPRecipientsRefused(
                [aiosmtplib.SMTPRecipientRefused(rest[0][0], rest[0][1], item.recipient)]
            )
        code, text = replies[-1]
        return aiosmtplib.SMTPDataError(code, text)

    async def close(self, *, polite: bool = True) -> None:
        transport, protocol = self.transport, self.protocol
        self.transport = self.protocol = None
        if transport is None:
            return
        with contextlib.suppress(Exception):
            if polite and not transport.is_closing() and isinstance(transport, asyncio.WriteTransport):
                transport.write(b"QUIT\r\n")  # the reply is not awaited: everything sent is already answered
            transport.close()
            if protocol is not None:
                async with asyncio.timeout(2):
                    await protocol.lost
