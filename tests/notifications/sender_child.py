"""Run the sender in its own process, so a test can SIGKILL it at a random point of a batch.

    python -m tests.notifications.sender_child <db_url> <smtp_host> <smtp_port> [<minutes after T0>]

Each child runs on its own instant with a 30 s lease, so the next child (a minute later) finds the leases
of a killed one expired and takes its rows over as `uncertain`.

Prints `ready` once imported and connected to the database, then the JSON report if it lives that long.
"""

from __future__ import annotations

import json
import sys
from datetime import timedelta

from models.database import make_engine
from notifications.sender import Backoff, SmtpTransport, send_pending
from tests.notifications.helpers import T0


def main(argv: list[str]) -> int:
    db_url, host, port = argv[1], argv[2], int(argv[3])
    minutes = int(argv[4]) if len(argv) > 4 else 0
    engine = make_engine(db_url)
    with engine.connect():
        pass  # open the database before saying ready: the kill window is the batch, not start-up
    print("ready", flush=True)
    report = send_pending(
        engine,
        transport=SmtpTransport(host=host, port=port),
        now=T0 + timedelta(minutes=minutes),
        lease_seconds=30,
        batch_size=25,
        concurrency=2,
        backoff=Backoff(base=0.05, cap=0.2),
        retry_within=2.0,
    )
    print(json.dumps(report.as_dict()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
