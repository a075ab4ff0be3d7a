"""1,000 messages to the same local aiosmtpd: our sender against prefect-email and against raw aiosmtplib.

- ours: `send_pending` with its defaults — four workers, each with one connection; per batch of 100: claim
  under a lease, build each message as it is sent, send them pipelined, record every result and claim the
  next batch in one commit; the exactly-once bookkeeping and the message building are included in the time;
- raw aiosmtplib: the same messages built beforehand (off the clock), sent one after the other over one
  connection with `SMTP.sendmail`, nothing recorded: the speed of the library alone;
- prefect-email: `email_send_message` as its docs show, with an `EmailServerCredentials` block pointed at
  the local server (INSECURE), called through `.fn` (the task body, without Prefect orchestration, which
  would only add to its time; its import is done before the clock starts): one new SMTP connection per
  message, nothing recorded.

Same messages (subject, text and HTML of a rendered reminder), same server, same run. The server is
aiosmtpd in a process of its own (bench.sink_process), so no client pays for the server's work.

    .venv/bin/python -m bench.mail_bench [count]
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import aiosmtplib
from sqlalchemy import select
from sqlmodel import col

from bench.common import fresh_database, row, timed
from bench.sink_process import SinkProcess
from models.tables import OutboxMessage
from notifications.render import render
from notifications.sender import build_message, send_pending
from tests.notifications.helpers import queue_messages

NOW = datetime(2025, 7, 11, 1, 0, tzinfo=UTC)
FROM = "noreply@factory-review.local"


def _prefect_email(sink: SinkProcess, count: int) -> Callable[[], None]:
    """prefect-email's run, ready to time: its (heavy) import and the credentials block stay off the clock."""
    from prefect_email import EmailServerCredentials, email_send_message

    # No username: the local sink offers no AUTH, and prefect-email logs in whenever a username is set.
    credentials = EmailServerCredentials(smtp_server=sink.host, smtp_type="INSECURE", smtp_port=sink.port)
    sample = render(
        "reminder_submit",
        {"recipient_name": "联系人", "deadline": "2025-07-18", "days_left": 7, "source": "251 §2(二)1",
         "notice": "工信厅联通装函〔2025〕251号", "contact_office": "工业和信息化部", "contact_person": "",
         "contact_phone": "010-68205630", "platform_url": "http://127.0.0.1:8000",
         "items": [{"application_id": 1, "title": "项目", "tier": "excellent", "tier_label": "卓越级",
                    "enterprise_name": "企业"}]},
    )  # fmt: skip

    async def all_messages() -> None:
        for n in range(count):
            await email_send_message.fn(
                subject=sample.subject,
                msg=sample.html,
                msg_plain=sample.text,
                email_server_credentials=credentials,
                email_from=FROM,
                email_to=f"user{n}@example.com",
            )

    return lambda: asyncio.run(all_messages())


def _raw_messages(engine: Any) -> list[tuple[str, bytes]]:
    with engine.connect() as conn:
        table = OutboxMessage.__table__  # type: ignore[attr-defined]
        rows = list(conn.execute(select(table).order_by(col(OutboxMessage.id))))
    return [(r.recipient, build_message(r, mail_from=FROM)) for r in rows]


def _raw_aiosmtplib(sink: SinkProcess, messages: list[tuple[str, bytes]]) -> None:
    async def all_messages() -> None:
        client = aiosmtplib.SMTP(hostname=sink.host, port=sink.port, local_hostname="factory-review.local")
        await client.connect()
        for recipient, data in messages:
            await client.sendmail(FROM, [recipient], data)
        await client.quit()

    asyncio.run(all_messages())


def run(count: int = 1000) -> list[dict[str, Any]]:
    with SinkProcess() as sink:
        with fresh_database("mail") as engine:
            queue_messages(engine, count)
            messages = _raw_messages(engine)
            reports: list[Any] = []
            ours = timed(lambda: reports.append(send_pending(engine, transport=sink.transport(), now=NOW)))
            assert reports[0].sent == count, reports[0]
        raw = timed(lambda: _raw_aiosmtplib(sink, messages))
        theirs = timed(_prefect_email(sink, count))
        assert sink.received() == 3 * count
    return [
        row("our sender vs prefect-email (goal: ratio <= 0.2, i.e. >= 5x faster)", count, ours,
            "prefect-email email_send_message", theirs, "messages"),
        row("our sender vs raw aiosmtplib, one connection (goal: ratio <= 1.25, i.e. >= 80 %)", count, ours,
            "raw aiosmtplib sendmail", raw, "messages"),
        row("raw aiosmtplib sendmail, one connection", count, raw, "prefect-email email_send_message", theirs,
            "messages"),
    ]  # fmt: skip


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    rows = run(count)
    for r in rows:
        print(f"{r['benchmark']:<82} {r['size']:>5} msgs  {r['seconds']:>7.3f} s  {r['per_second']:>8.1f} msg/s")
    ours, raw, _ = rows
    print(f"our sender: {ours['baseline_seconds'] / ours['seconds']:.1f}x the throughput of prefect-email, "
          f"{raw['baseline_seconds'] / raw['seconds']:.0%} of raw aiosmtplib over one connection")  # fmt: skip


if __name__ == "__main__":
    main()
