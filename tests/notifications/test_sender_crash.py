"""SIGKILL the sender at random points of a batch, many times; then every message is delivered.

Duplicates are allowed only for rows that were left in `sending` by a kill (they become `uncertain` and
are resent once with the same Message-ID); the count comes from what the SMTP server received.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from models.tables import OutboxMessage
from notifications.sender import SmtpTransport, send_pending
from tests.notifications.helpers import T0, queue_messages
from tests.smtp_sink import SmtpSink

ROOT = Path(__file__).resolve().parents[2]
KILLS = 20
MESSAGES = 400


def in_status(engine: Engine, *statuses: str) -> set[int]:
    with engine.connect() as conn:
        return set(conn.scalars(select(OutboxMessage.id).where(OutboxMessage.status.in_(statuses))))


@pytest.mark.slow
def test_sigkill_at_random_points_loses_nothing_and_duplicates_only_uncertain(engine: Engine, db_url: str) -> None:
    queue_messages(engine, MESSAGES)
    rng = random.Random(20250718)
    left_in_sending: list[set[int]] = []
    completed_reports: list[dict[str, int]] = []
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with SmtpSink() as sink:
        for kill in range(KILLS):
            child = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.notifications.sender_child",
                    db_url,
                    sink.host,
                    str(sink.port),
                    str(kill),
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                text=True,
            )
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready"
            time.sleep(rng.uniform(0.05, 0.8))  # a child needs ~0.3 s to its first batch on a busy machine
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=10)
            rest = child.stdout.read().strip()
            if rest:  # it finished before the kill
                completed_reports.append(json.loads(rest.splitlines()[-1]))
            left_in_sending.append(in_status(engine, "sending"))
        # The kills landed mid-batch: some messages were delivered and some were not yet.
        delivered_before_final = sum(sink.message_ids().values())
        assert delivered_before_final > 0
        # Left by the last kill, plus any an earlier run marked uncertain but was killed before resending.
        expected_uncertain = len(in_status(engine, "sending", "uncertain"))
        # An hour later every lease a kill left behind has expired (leases run on the sender's clock).
        later = T0 + timedelta(hours=1)
        final = send_pending(engine, transport=SmtpTransport(host=sink.host, port=sink.port), now=later)
        received = sink.message_ids()

    with engine.connect() as conn:
        statuses = dict(conn.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
        ids = dict(conn.execute(select(OutboxMessage.message_id, OutboxMessage.id)).all())
    assert statuses == {"sent": MESSAGES}
    # None lost: every row's Message-ID reached the server.
    assert set(received) == set(ids)
    # Duplicates only for rows some kill left in `sending` (→ uncertain), at most one extra copy per time.
    ever_uncertain = [i for kill in left_in_sending for i in kill]
    duplicated = {ids[mid]: n for mid, n in received.items() if n > 1}
    assert set(duplicated) <= set(ever_uncertain)
    assert sum(n - 1 for n in duplicated.values()) <= len(ever_uncertain)
    # The final run found and reported exactly the rows still unresolved.
    assert final.uncertain == expected_uncertain
    assert final.uncertain_resent == expected_uncertain
    print(
        f"\nSIGKILL x{KILLS}: {MESSAGES} messages delivered, {len(ever_uncertain)} uncertain rows over all runs, "
        f"{sum(n - 1 for n in duplicated.values())} duplicate copies received, "
        f"{len(completed_reports)} runs finished before their kill"
    )
