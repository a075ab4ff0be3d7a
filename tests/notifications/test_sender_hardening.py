"""Mail that one address cannot stop, and many senders that deliver each message once (issue #16 item 2).

Counted at a real aiosmtpd on 127.0.0.1. Scale knobs: FACTORY_REVIEW_TEST_MAIL_COUNT (default 1,000) and
FACTORY_REVIEW_TEST_SENDERS_COUNT (default 5,000 on PostgreSQL, a fifth of it on SQLite).
"""

from __future__ import annotations

import os
import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.database import make_engine
from models.tables import OutboxMessage
from notifications.addresses import BadAddress, normalise_address
from notifications.outbox import queue
from notifications.sender import send_pending
from tests.notifications.helpers import T0, queue_messages, transition_context
from tests.smtp_sink import RecordingHandler, SmtpSink

MAIL_COUNT = int(os.environ.get("FACTORY_REVIEW_TEST_MAIL_COUNT", "1000"))
SENDERS_COUNT = int(os.environ.get("FACTORY_REVIEW_TEST_SENDERS_COUNT", "5000"))
T = OutboxMessage.__table__


def statuses(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(select(T.c.status, func.count()).group_by(T.c.status)).all())  # type: ignore[arg-type]


def _queue_one(engine: Engine, key: str, recipient: str) -> None:
    with Session(engine) as session:
        queue(session, kind="transition", recipient=recipient, recipient_name="张三", context=transition_context(1),
              dedupe_key=key, at=T0)  # fmt: skip
        session.commit()


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("officer@青浦.中国", "officer@xn--s0w570g.xn--fiqs8s"),
        ("  Officer@QingPu.GOV.cn ", "Officer@qingpu.gov.cn"),
        ("张三@example.com", "张三@example.com"),
        ("a@ＥＸＡＭＰＬＥ.com", "a@example.com"),
    ],
)
def test_addresses_are_normalised_when_stored(given: str, stored: str) -> None:
    assert normalise_address(given) == stored


@pytest.mark.parametrize("address", ["a@-bad-.com", "a@xn--zz.com", "a@" + "x" * 64 + ".com", "a@1.2"])
def test_unusable_domains_are_refused(address: str) -> None:
    with pytest.raises(BadAddress):
        normalise_address(address)


def test_one_idn_and_one_unreachable_address_among_many_stop_nothing(engine: Engine) -> None:
    queue_messages(engine, MAIL_COUNT - 2)
    _queue_one(engine, "idn", "officer@青浦.中国")
    _queue_one(engine, "unreachable", "nobody@unreachable.example")
    unreachable = RecordingHandler(reject=lambda address: address.endswith("@unreachable.example"))
    with SmtpSink(unreachable) as sink:
        report = send_pending(engine, transport=sink.transport(), now=T0)
        received = sink.received
    assert len(received) in (MAIL_COUNT - 1, MAIL_COUNT - 2)
    assert report.sent == len(received) and report.failed == MAIL_COUNT - len(received)
    with engine.connect() as conn:
        failed = conn.execute(select(T.c.dedupe_key, T.c.last_error).where(T.c.status == "failed")).all()
    assert [key for key, _ in failed] == ["unreachable"]
    assert "550" in failed[0].last_error  # the reason is recorded
    assert ("officer@xn--s0w570g.xn--fiqs8s",) in {r.rcpt_tos for r in received}


def test_a_stored_unicode_domain_or_local_part_is_sent_or_failed_alone(engine: Engine) -> None:
    queue_messages(engine, 3)
    _queue_one(engine, "eai", "张三@example.com")
    with engine.begin() as conn:  # a row stored before addresses were normalised
        conn.execute(update(T).where(T.c.dedupe_key == "test:2").values(recipient="officer@青浦.中国"))
    with SmtpSink() as plain:
        report = send_pending(engine, transport=plain.transport(), now=T0)
    assert (report.sent, report.failed) == (3, 1)
    with engine.connect() as conn:
        error = conn.scalar(select(T.c.last_error).where(T.c.dedupe_key == "eai"))
    assert "SMTPUTF8" in error
    # A server that offers SMTPUTF8 gets it, once an administrator retries.
    from notifications.sender import retry_failed

    retry_failed(engine, now=T0)
    with SmtpSink(smtputf8=True) as utf8:
        assert send_pending(engine, transport=utf8.transport(), now=T0).sent == 1
        assert utf8.received[0].rcpt_tos == ("张三@example.com",)


def test_a_live_lease_is_left_alone_and_an_expired_one_taken_over(engine: Engine) -> None:
    queue_messages(engine, 6)
    with engine.begin() as conn:  # a sender claimed three rows and got stuck
        conn.execute(update(T).where(T.c.id <= 3).values(status="sending", claimed_by="stuck:1",
                                                         lease_until=T0 + timedelta(minutes=5)))  # fmt: skip
    with SmtpSink() as sink:
        first = send_pending(engine, transport=sink.transport(), now=T0)
        assert (first.sent, first.uncertain) == (3, 0)
        later = send_pending(engine, transport=sink.transport(), now=T0 + timedelta(minutes=6))
        assert (later.sent, later.uncertain, later.uncertain_resent) == (3, 3, 3)
        assert sorted(sink.message_ids().values()) == [1] * 6
    assert statuses(engine) == {"sent": 6}


@pytest.mark.parametrize("senders", [2, 4])
def test_many_senders_deliver_every_message_exactly_once(db_url: str, engine: Engine, senders: int) -> None:
    count = SENDERS_COUNT if db_url.startswith("postgresql") else max(100, SENDERS_COUNT // 5)
    queue_messages(engine, count)
    reports: list[Any] = []
    errors: list[BaseException] = []
    start = threading.Barrier(senders)

    def one_sender(transport: Any) -> None:
        own = make_engine(db_url)  # each sender has its own engine, as separate processes would
        try:
            start.wait()
            reports.append(send_pending(own, transport=transport, now=T0, batch_size=50))
        except BaseException as exc:  # reported below; a thread must not swallow it
            errors.append(exc)
        finally:
            own.dispose()

    with SmtpSink() as sink:
        threads = [threading.Thread(target=one_sender, args=(sink.transport(),)) for _ in range(senders)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        received = sink.message_ids()
    assert not errors, errors
    with engine.connect() as conn:
        ids = set(conn.scalars(select(T.c.message_id)))
    assert set(received) == ids and sum(received.values()) == count  # each exactly once, none lost
    assert sum(r.sent for r in reports) == count
    assert sum(1 for r in reports if r.sent) >= 2  # the work was shared
    assert statuses(engine) == {"sent": count}
