"""The database's own facts: its mode (production or replay) and, on a replay, the replay's instant.

A production database takes every instant from the server clock; `--now` / `FACTORY_REVIEW_NOW` (and
`--as`) are accepted only on a database created with `factory-review init --replay` (issue #11 §5).
A database nobody initialised as a replay is production: the safe default.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlmodel import Session

from models.clock import Clock, FixedClock, SystemClock, parse_instant, to_utc
from models.errors import InvalidInput, ReplayOnly
from models.tables import AuditEvent, SystemState

Mode = Literal["production", "replay"]
MODE_KEY = "mode"
REPLAY_NOW_KEY = "replay_now"


def database_mode(session: Session) -> Mode:
    try:
        row = session.get(SystemState, MODE_KEY)
    except (OperationalError, ProgrammingError) as exc:
        if not _missing_table(exc):
            raise  # e.g. "database is locked": never guess the mode
        session.rollback()  # a pre-release database older than revision 0003: production, the safe default
        return "production"
    return "replay" if row is not None and row.value == "replay" else "production"


def _missing_table(exc: Exception) -> bool:
    text = str(getattr(exc, "orig", exc)).lower()
    return "no such table" in text or ("system_state" in text and "does not exist" in text)


def is_replay(session: Session) -> bool:
    return database_mode(session) == "replay"


def set_mode(session: Session, *, replay: bool, now: str | None = None) -> Mode:
    """Record the mode once (`init` / `init --replay`); commits. A production database never becomes a
    replay: that would open backdating on real records."""
    row = session.get(SystemState, MODE_KEY)
    wanted: Mode = "replay" if replay else "production"
    real_now = datetime.now(UTC)
    if row is None:
        if replay and session.scalar(select(func.count()).select_from(AuditEvent)):
            raise ReplayOnly(
                "this database already holds records: only a new, empty database can be a replay",
                rule="replay-only",
            )
        row = SystemState(key=MODE_KEY, value=wanted, set_at=real_now)
        session.add(row)
    elif replay and row.value != "replay":
        raise ReplayOnly("a production database cannot become a replay", rule="replay-only")
    if now is not None:
        if row.value != "replay":
            raise ReplayOnly("--now works only on a replay database (`factory-review init --replay`)")
        _store_replay_now(session, now, real_now)
    session.commit()
    return "replay" if row.value == "replay" else "production"


def _store_replay_now(session: Session, text: str, real_now: datetime) -> None:
    instant = to_utc(_parse(text)).isoformat()
    row = session.get(SystemState, REPLAY_NOW_KEY)
    if row is None:
        session.add(SystemState(key=REPLAY_NOW_KEY, value=instant, set_at=real_now))
    else:
        row.value, row.set_at = instant, real_now


def parse_requested(text: str | None) -> datetime | None:
    """Check a requested instant's form (no database needed); None when none was requested."""
    return _parse(text) if text else None


def _parse(text: str) -> datetime:
    try:
        return parse_instant(text)
    except ValueError as exc:
        raise InvalidInput(f"--now: {exc}", rule="clock") from None


def requested_now(explicit: str | None = None) -> str | None:
    """The instant a caller asked for: `--now`, else `FACTORY_REVIEW_NOW`, else none."""
    return explicit or os.environ.get("FACTORY_REVIEW_NOW") or None


def clock_for(session: Session, *, requested: str | None = None) -> Clock:
    """The clock a command or flow acts on. Production: the server clock, and a requested instant is
    refused (`ReplayOnly`, exit 2). Replay: the requested instant, else the replay's stored instant."""
    if not is_replay(session):
        if requested:
            raise ReplayOnly(
                "--now / FACTORY_REVIEW_NOW work only on a replay database (`factory-review init --replay`); "
                "a production database takes the server's clock",
                rule="replay-only",
            )
        return SystemClock()
    if requested:
        return FixedClock(_parse(requested))
    stored = session.get(SystemState, REPLAY_NOW_KEY)
    return FixedClock(datetime.fromisoformat(stored.value)) if stored else SystemClock()


def mark_replay(engine: Engine) -> None:
    """Make a new database a replay (`init --replay`): the demo, the bench and the replay tests use one."""
    with Session(engine) as session:
        set_mode(session, replay=True)
