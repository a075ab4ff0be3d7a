"""A small SMTP client that pipelines (RFC 2920): one round trip per message instead of four.

aiosmtplib waits for the reply to each of MAIL, RCPT, DATA and the content; its protocol object keeps one
reply at a time, so it cannot pipeline. Here, when the server offers PIPELINING, the envelope of message
n+1 (`MAIL`, `RCPT`, `DATA`) is written right behind the content of message n (content may open a group,
RFC 2920 §3.1), and the replies are read in order. Without PIPELINING each command waits for its reply.

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
from collections.abc import Sequence
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
    body = _LINE_ENDINGS.sub(b"\r\n", data)
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    return _DOT.sub(b"..", body) + b".\r\n"


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
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.extensions: set[str] = set()

    @property
    def is_connected(self) -> bool:
        return self.writer is not None and not self.writer.is_closing()

    async def _reply(self) -> tuple[int, str]:
        assert self.reader is not None
        lines: list[str] = []
        while True:
            try:
                async with asyncio.timeout(self.timeout):
                    line = await self.reader.readline()
            except TimeoutError:
                raise aiosmtplib.SMTPReadTimeoutError("timed out waiting for the server's reply") from None
            if not line:
                raise aiosmtplib.SMTPServerDisconnected("the server closed the connection")
            try:
                code = int(line[:3])
            except ValueError:
                raise aiosmtplib.SMTPResponseException(-1, f"malformed reply {line[:80]!r}") from None
            lines.append(line[4:].decode("utf-8", "replace").strip())
            if line[3:4] != b"-":
                return code, "\n".join(lines)

    async def _command(self, line: str, expect: int) -> str:
        assert self.writer is not None
        self.writer.write(line.encode("utf-8") + b"\r\n")
        code, text = await self._reply()
        if code != expect:
            raise aiosmtplib.SMTPResponseException(code, text)
        return text

    async def _ehlo(self) -> None:
        text = await self._command(f"EHLO {self.local_hostname}", 250)
        self.extensions = {line.split(" ", 1)[0].upper() for line in text.splitlines()[1:]}

    async def open(self) -> None:
        context = ssl.create_default_context() if self.tls or self.starttls else None
        try:
            async with asyncio.timeout(self.timeout):
                self.reader, self.writer = await asyncio.open_connection(
                    self.host, self.port, ssl=context if self.tls else None
                )
        except (OSError, TimeoutError) as exc:
            raise aiosmtplib.SMTPConnectError(f"cannot connect to {self.host}:{self.port}: {exc}") from exc
        code, text = await self._reply()
        if code != 220:
            raise aiosmtplib.SMTPConnectResponseError(code, text)
        await self._ehlo()
        if self.starttls and not self.tls:
            await self._command("STARTTLS", 220)
            assert self.writer is not None and context is not None
            await self.writer.start_tls(context, server_hostname=self.host)
            await self._ehlo()
        if self.username:
            secret = base64.b64encode(f"\0{self.username}\0{self.password or ''}".encode()).decode("ascii")
            await self._command(f"AUTH PLAIN {secret}", 235)

    def _envelope(self, item: Envelope) -> list[bytes]:
        option = " SMTPUTF8" if item.smtputf8 else ""
        return [
            f"MAIL FROM:<{item.sender}>{option}\r\n".encode(),
            f"RCPT TO:<{item.recipient}>\r\n".encode(),
            b"DATA\r\n",
        ]

    async def send_many(self, items: Sequence[Envelope]) -> list[BaseException | None]:
        """Send each envelope; per item None (accepted) or the exception that refused it.

        A broken connection ends the call: the item in flight gets `InFlight`, the rest the error."""
        results: list[BaseException | None] = [None] * len(items)
        pipelining = "PIPELINING" in self.extensions
        awaiting: int | None = None  # the item whose content reply is still to be read
        index = 0
        try:
            for index, item in enumerate(items):
                if item.smtputf8 and "SMTPUTF8" not in self.extensions:
                    results[index] = aiosmtplib.SMTPNotSupported(
                        f"{item.recipient}: a non-ASCII address needs SMTPUTF8, which the server does not offer"
                    )
                    continue
                awaiting = await self._transaction(item, index, results, awaiting, pipelining)
            if awaiting is not None:
                results[awaiting] = await self._content_reply()
                awaiting = None
        except (OSError, aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPReadTimeoutError) as exc:
            await self.close(polite=False)
            if awaiting is not None:
                results[awaiting] = InFlight(f"connection lost before the server's reply: {exc}")
            for rest in range(index, len(items)):
                if rest != awaiting and results[rest] is None:
                    results[rest] = exc
        return results

    async def _content_reply(self) -> BaseException | None:
        code, text = await self._reply()
        return None if code == 250 else aiosmtplib.SMTPDataError(code, text)

    async def _transaction(
        self, item: Envelope, index: int, results: list[BaseException | None], awaiting: int | None, pipelining: bool
    ) -> int | None:
        """Write one envelope (behind the previous content when pipelining); returns the item now awaiting."""
        assert self.writer is not None
        commands = self._envelope(item)
        if pipelining:
            self.writer.write(b"".join(commands))
            if awaiting is not None:
                results[awaiting] = await self._content_reply()
            replies = [await self._reply() for _ in commands]
        else:
            if awaiting is not None:
                results[awaiting] = await self._content_reply()
            replies = []
            for command in commands:
                self.writer.write(command)
                replies.append(await self._reply())
                if replies[-1][0] >= 400:
                    break
        accepted = len(replies) == 3 and replies[0][0] == 250 and replies[1][0] in (250, 251)
        if not (accepted and replies[2][0] == 354):
            results[index] = self._refusal(item, replies)
            if replies[-1][0] == 354:  # DATA accepted although the envelope was refused: end it empty
                self.writer.write(b".\r\n")
                await self._reply()
            await self._command("RSET", 250)
            return None
        self.writer.write(_content(item.data))
        return index

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
        writer, self.writer, self.reader = self.writer, None, None
        if writer is None:
            return
        with contextlib.suppress(Exception):
            if polite and not writer.is_closing():
                writer.write(b"QUIT\r\n")  # the reply is not awaited: everything sent is already answered
            writer.close()
            async with asyncio.timeout(2):
                await writer.wait_closed()
