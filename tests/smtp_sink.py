"""A local SMTP sink (aiosmtpd on 127.0.0.1) for the tests and the mail benchmark (not part of the product).

    with SmtpSink() as sink:                       # picks a free port first
        send_pending(engine, transport=sink.transport(), now=...)
        sink.message_ids()                          # Counter of Message-IDs received

`aiosmtpd.controller.Controller(port=0)` doesn't work: after starting, the controller connects to the
port it was given to check the server is up, and port 0 is nowhere. So we ask the OS for a free port,
release it and hand that number to the controller (a tiny race, acceptable for a local sink).

The handler can misbehave on purpose: answer 4xx to the first N messages (a transient failure) or 5xx
to chosen recipients (a permanent one).
"""

from __future__ import annotations

import socket
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller

from notifications.sender import SmtpTransport


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message_id: str
    subject: str
    content: bytes


class RecordingHandler:
    """An aiosmtpd handler that records what it accepts (thread-safe: the server runs in its own thread).

    transient_failures: the first N DATA commands get `451` (try again later).
    reject: recipients for which RCPT gets `550` (mailbox unavailable: permanent).
    save_dir: also write each accepted message as <n>.eml there.
    """

    def __init__(
        self,
        *,
        transient_failures: int = 0,
        reject: Callable[[str], bool] | None = None,
        save_dir: Path | None = None,
    ) -> None:
        self.transient_left = transient_failures
        self.reject = reject or (lambda _address: False)
        self.save_dir = save_dir
        self.received: list[Received] = []
        self.refused = 0
        self._lock = threading.Lock()

    async def handle_EHLO(  # aiosmtpd hook name
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        """Offer PIPELINING (RFC 2920): aiosmtpd reads commands one line at a time from a buffered stream,
        so pipelined commands are answered in order like a real MTA (Postfix, Exim) does."""
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

    async def handle_RCPT(  # aiosmtpd hook name
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if self.reject(address):
            with self._lock:
                self.refused += 1
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            if self.transient_left > 0:
                self.transient_left -= 1
                self.refused += 1
                return "451 4.3.0 temporary failure, try again later"
        content = bytes(envelope.content)
        # Headers only, compat32: the sink shares the GIL with the sender in tests and benchmarks.
        parsed = BytesHeaderParser().parsebytes(content)
        item = Received(
            mail_from=str(envelope.mail_from),
            rcpt_tos=tuple(envelope.rcpt_tos),
            message_id=str(parsed.get("Message-ID", "")).strip(),
            subject=str(parsed.get("Subject", "")),
            content=content,
        )
        with self._lock:
            self.received.append(item)
            number = len(self.received)
        if self.save_dir is not None:
            self.save_dir.mkdir(parents=True, exist_ok=True)
            (self.save_dir / f"{number:06d}.eml").write_bytes(content)
        return "250 Message accepted for delivery"

    def message_ids(self) -> Counter[str]:
        with self._lock:
            return Counter(r.message_id for r in self.received)


class SmtpSink:
    """An aiosmtpd server on 127.0.0.1 and a free port, recording what it receives."""

    def __init__(
        self,
        handler: RecordingHandler | None = None,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        smtputf8: bool = False,
    ):
        self.handler = handler or RecordingHandler()
        self.host = host
        self.port = port or free_port(host)
        self.controller = Controller(
            self.handler, hostname=host, port=self.port, ready_timeout=5.0, enable_SMTPUTF8=smtputf8
        )

    def start(self) -> SmtpSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def transport(self, **kwargs: Any) -> SmtpTransport:
        """An SmtpTransport pointed at this sink (plain SMTP, no auth)."""
        return SmtpTransport(host=self.host, port=self.port, **kwargs)

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def message_ids(self) -> Counter[str]:
        return self.handler.message_ids()
