"""The local SMTP sink in a process of its own, as a real mail server would be.

In the benchmark's own process the sink (aiosmtpd) would share the interpreter lock with the sender it
measures, and every client would pay for the server's work too. Here it runs as
`python -m bench.sink_process`; the parent reads its port and asks it for the number of messages received.
It only counts what it accepts (no parsing, nothing kept), so the clients' own costs show.

    with SinkProcess() as sink:
        transport = sink.transport()
        ...
        sink.received()   # messages accepted so far
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

from notifications.sender import SmtpTransport

ROOT = Path(__file__).resolve().parents[1]


class SinkProcess:
    def __init__(self) -> None:
        self.process: subprocess.Popen[str] | None = None

    def __enter__(self) -> SinkProcess:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.sink_process"], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        assert self.process.stdout is not None
        self.host, port = self.process.stdout.readline().split()
        self.port = int(port)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.process is not None:
            try:
                self.process.communicate("stop\n", timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def received(self) -> int:
        assert self.process is not None and self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("count\n")
        self.process.stdin.flush()
        return int(self.process.stdout.readline())

    def transport(self, **kwargs: Any) -> SmtpTransport:
        return SmtpTransport(host=self.host, port=self.port, **kwargs)


def main() -> None:
    from tests.smtp_sink import RecordingHandler, SmtpSink

    class CountingHandler(RecordingHandler):
        """Accepts and counts, like a fast MTA queue: no parsing, nothing kept (the tests' sink records)."""

        accepted = 0

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            self.accepted += 1
            return "250 Message accepted for delivery"

    handler = CountingHandler()
    with SmtpSink(handler) as sink:
        print(sink.host, sink.port, flush=True)
        for line in sys.stdin:
            if line.strip() == "count":
                print(handler.accepted, flush=True)
            elif line.strip() == "stop":
                break


if __name__ == "__main__":
    main()
