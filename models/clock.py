"""Injected time. Every deadline check takes a clock so a past season can be replayed.

Deadlines are calendar dates in Asia/Shanghai; "于2025年7月18日前" is read as "by the end of that day"
(shared/domain.md §4). Instants are stored in UTC and shown in Asia/Shanghai.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> datetime:
        """An aware datetime."""
        ...


@dataclass
class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class FixedClock:
    """A clock that stands still until moved: replays and tests."""

    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        self.at = ensure_aware(self.at)

    def now(self) -> datetime:
        return self.at

    def advance(self, delta: timedelta) -> datetime:
        self.at = self.at + delta
        return self.at

    def set(self, at: datetime) -> None:
        self.at = ensure_aware(at)


def ensure_aware(at: datetime) -> datetime:
    """Refuse naive datetimes: an instant without a zone is ambiguous by eight hours here."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"datetime {at.isoformat()} has no time zone; give one, e.g. +08:00")
    return at


def parse_instant(text: str) -> datetime:
    """Parse `--now`/`FACTORY_REVIEW_NOW`: a date (start of that day in Shanghai) or an ISO instant.

    A date-time without an offset is read as Asia/Shanghai local time, the programme's zone.
    """
    text = text.strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(9, 0), SHANGHAI)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"not a date or ISO date-time: {text!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=SHANGHAI)
    return parsed


def clock_from_env(value: str | None = None) -> Clock:
    """`FACTORY_REVIEW_NOW` (or the given text) fixes the clock; otherwise the system clock."""
    from models.settings import Settings

    # Read afresh (not the cached settings): a replay sets FACTORY_REVIEW_NOW between commands.
    text = value if value is not None else Settings().now
    return FixedClock(parse_instant(text)) if text else SystemClock()


def local_date(at: datetime) -> date:
    """The calendar date in Asia/Shanghai of an instant."""
    return ensure_aware(at).astimezone(SHANGHAI).date()


def end_of_day(day: date) -> datetime:
    """The last instant of a Shanghai calendar day: the moment a "…前" deadline closes."""
    return datetime.combine(day + timedelta(days=1), time(0, 0), SHANGHAI) - timedelta(microseconds=1)


def is_on_or_before(at: datetime, deadline: date) -> bool:
    """True while `at` falls on or before the deadline day, in Asia/Shanghai."""
    return local_date(at) <= deadline


def to_utc(at: datetime) -> datetime:
    return ensure_aware(at).astimezone(UTC)


@lru_cache(maxsize=256)  # pure; a batch of transitions' mail shows its one instant 1,000 times
def shanghai_text(at: datetime) -> str:
    """Display form for people: Asia/Shanghai to the minute with its offset, `2025-07-11 23:59 (+08:00)`.

    The offset, not "CST": that abbreviation also means US Central and Cuba Standard Time (issue #15)."""
    local = ensure_aware(at).astimezone(SHANGHAI)
    return f"{local:%Y-%m-%d %H:%M} ({local.isoformat()[-6:]})"
