"""1,000 messages to the same local aiosmtpd: our sender against prefect-email's `email_send_message`.

- ours: `send_pending` — claim + commit, send over one reused connection per batch of 100 (2 batches at a
  time), record + commit; the exactly-once bookkeeping is included in the time;
- prefect-email: `email_send_message` as its docs show, with an `EmailServerCredentials` block pointed at
  the local server (INSECURE), called through `.fn` (the task body, without Prefect orchestration, which
  would only add to its time): one new SMTP connection per message, nothing recorded.

Same messages (subject, text and HTML of a rendered reminder), same server, same run.

    .venv/bin/python -m bench.mail_bench [count]
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from typing import Any

from bench.common import fresh_database, row, timed
from notifications.render import render
from notifications.sender import send_pending
from tests.notifications.helpers import queue_messages
from tests.smtp_sink import SmtpSink

NOW = datetime(2025, 7, 11, 1, 0, tzinfo=UTC)


def _prefect_email(sink: SmtpSink, count: int) -> None:
    from prefect_email import EmailServerCredentials, email_send_message

    # No username: the local sink offers no AUTH, and prefect-email logs in whenever a username is set.
    credentials = EmailServerCredentials(smtp_server=sink.host, smtp_type="INSECURE", smtp_port=sink.port)
    sample = render(
        "reminder_submit",
        {"recipient_name": "联系人", "deadline": "2025-07-18", "days_left": 7, "source": "251 §2(二)1",
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
                email_from="noreply@factory-review.local",
                email_to=f"user{n}@example.com",
            )

    asyncio.run(all_messages())


def run(count: int = 1000) -> list[dict[str, Any]]:
    with SmtpSink() as sink:
        with fresh_database("mail") as engine:
            queue_messages(engine, count)
            reports: list[Any] = []
            ours = timed(lambda: reports.append(send_pending(engine, transport=sink.transport(), now=NOW)))
            assert reports[0].sent == count, reports[0]
        received_ours = len(sink.received)
        theirs = timed(lambda: _prefect_email(sink, count))
        assert len(sink.received) == received_ours + count
    return [
        row("our sender (one connection per batch)", count, ours, "prefect-email email_send_message", theirs,
            "messages"),
        row("prefect-email email_send_message (.fn)", count, theirs, "prefect-email email_send_message", theirs,
            "messages"),
    ]  # fmt: skip


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    rows = run(count)
    for r in rows:
        print(f"{r['benchmark']:<42} {r['size']:>5} msgs  {r['seconds']:>7.3f} s  {r['per_second']:>8.1f} msg/s")
    ours, theirs = rows
    print(f"ratio: our sender is {theirs['seconds'] / ours['seconds']:.1f}x the throughput of prefect-email")


if __name__ == "__main__":
    main()
