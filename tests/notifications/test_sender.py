"""The sender against a real aiosmtpd on 127.0.0.1 and a real migrated database."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.tables import OutboxMessage
from notifications.outbox import queue
from notifications.sender import Backoff, EmlFolderTransport, retry_failed, send_pending
from tests.notifications.helpers import T0, queue_messages, transition_context
from tests.smtp_sink import RecordingHandler, SmtpSink

FAST = Backoff(base=0.05, factor=2.0, cap=0.2)


def rows(engine: Engine) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_one_connection_delivers_a_batch_with_stable_message_ids(engine: Engine) -> None:
    queue_messages(engine, 25)
    with SmtpSink() as sink:
        report = send_pending(engine, transport=sink.transport(), now=T0, batch_size=10)
    assert (report.sent, report.failed, report.retried, report.uncertain) == (25, 0, 0, 0)
    stored = rows(engine)
    assert all(r.status == "sent" and r.attempts == 1 and r.sent_at is not None for r in stored)
    assert sink.message_ids() == {r.message_id: 1 for r in stored}
    first = message_from_bytes(sink.received[0].content, policy=default_policy)
    assert first["Subject"].startswith("【智能工厂梯度培育】")
    assert first.get_content_type() == "multipart/alternative"
    # Running again sends nothing: sent is final.
    with SmtpSink() as again:
        assert send_pending(engine, transport=again.transport(), now=T0).sent == 0
        assert not again.received


def test_transient_4xx_is_retried_with_backoff_and_delivered(engine: Engine) -> None:
    queue_messages(engine, 3)
    with SmtpSink(RecordingHandler(transient_failures=4)) as sink:
        report = send_pending(engine, transport=sink.transport(), now=T0, backoff=FAST, retry_within=5)
    assert report.sent == 3 and report.failed == 0 and report.retried == 4
    assert sorted(sink.message_ids().values()) == [1, 1, 1]
    assert sum(r.attempts for r in rows(engine)) == 3 + 4


def test_transient_failures_left_for_the_next_run_when_backoff_is_long(engine: Engine) -> None:
    queue_messages(engine, 1)
    with SmtpSink(RecordingHandler(transient_failures=1)) as sink:
        first = send_pending(engine, transport=sink.transport(), now=T0, backoff=Backoff(base=600))
        assert (first.sent, first.retried) == (0, 1)
        [row] = rows(engine)
        assert row.status == "pending" and "451" in row.last_error
        assert (row.next_attempt_at - T0).total_seconds() >= 600
        # Not due yet at T0; due ten minutes later.
        assert send_pending(engine, transport=sink.transport(), now=T0).sent == 0
        later = T0.replace(minute=11)
        assert send_pending(engine, transport=sink.transport(), now=later).sent == 1


def test_permanent_5xx_is_recorded_failed_and_not_retried(engine: Engine) -> None:
    queue_messages(engine, 4)
    with SmtpSink(RecordingHandler(reject=lambda a: a.startswith("user2@"))) as sink:
        report = send_pending(engine, transport=sink.transport(), now=T0, backoff=FAST, retry_within=5)
        assert (report.sent, report.failed, report.retried) == (3, 1, 0)
        failed = [r for r in rows(engine) if r.status == "failed"]
        assert [r.recipient for r in failed] == ["user2@example.com"]
        assert failed[0].attempts == 1 and "550" in failed[0].last_error
        assert sink.handler.refused == 1
        # Later runs leave it alone …
        assert send_pending(engine, transport=sink.transport(), now=T0.replace(day=12)).failed == 0
        assert sink.handler.refused == 1
        # … until an administrator retries it.
        assert retry_failed(engine, now=T0) == 1
        assert send_pending(engine, transport=sink.transport(), now=T0).failed == 1
        assert sink.handler.refused == 2


def test_connection_refused_is_transient_and_bounded_by_max_attempts(engine: Engine) -> None:
    queue_messages(engine, 2)
    with SmtpSink() as sink:
        transport = sink.transport()
    # The sink is stopped: nothing listens on its port any more.
    report = send_pending(engine, transport=transport, now=T0, backoff=FAST, retry_within=5, max_attempts=3)
    assert report.sent == 0 and report.retried == 4 and report.failed == 2
    assert all(r.status == "failed" and r.attempts == 3 for r in rows(engine))


def test_bad_address_is_recorded_failed_at_queue_time_and_never_sent(engine: Engine) -> None:
    with Session(engine) as session:
        for n, address in enumerate(["ok@example.com", "evil@example.com\r\nBcc: all@example.com"]):
            queue(
                session,
                kind="transition",
                recipient=address,
                recipient_name="名\r\nX-Injected: 1",
                context=transition_context(n),
                dedupe_key=f"bad:{n}",
                at=T0,
            )
        session.commit()
    with SmtpSink() as sink:
        report = send_pending(engine, transport=sink.transport(), now=T0)
    assert report.sent == 1
    by_key = {r.dedupe_key: r for r in rows(engine)}
    assert by_key["bad:1"].status == "failed" and "line break" in by_key["bad:1"].last_error
    assert "\r" not in by_key["bad:1"].recipient and "\n" not in by_key["bad:1"].recipient
    [received] = sink.received
    headers = message_from_bytes(received.content, policy=default_policy)
    assert "X-Injected" not in headers and "Bcc" not in headers  # the folded name stayed inside To
    assert received.rcpt_tos == ("ok@example.com",)


def test_eml_folder_sink_writes_one_file_per_outbox_row(engine: Engine, tmp_path: Path) -> None:
    queue_messages(engine, 5)
    report = send_pending(engine, transport=EmlFolderTransport(tmp_path / "mail"), now=T0)
    assert report.sent == 5
    files = sorted(p.name for p in (tmp_path / "mail").iterdir())
    assert files == [f"{r.id}.eml" for r in rows(engine)]
    parsed = message_from_bytes((tmp_path / "mail" / files[0]).read_bytes(), policy=default_policy)
    assert parsed["Message-ID"] == rows(engine)[0].message_id


def test_queue_twice_inserts_once(engine: Engine) -> None:
    queue_messages(engine, 3)
    queue_messages(engine, 3)
    assert len(rows(engine)) == 3
