"""Deadlines are Shanghai calendar days; instants are stored in UTC; naive datetimes are refused."""

from datetime import UTC, date, datetime

import pytest

from models.clock import SHANGHAI, end_of_day, ensure_aware, is_on_or_before, parse_instant


def test_deadline_day_ends_at_midnight_shanghai() -> None:
    deadline = date(2025, 7, 18)
    assert is_on_or_before(datetime(2025, 7, 18, 23, 59, 59, tzinfo=SHANGHAI), deadline)
    assert not is_on_or_before(datetime(2025, 7, 19, 0, 0, tzinfo=SHANGHAI), deadline)
    # 16:00 UTC on the 18th is already 00:00 on the 19th in Shanghai.
    assert not is_on_or_before(datetime(2025, 7, 18, 16, 0, tzinfo=UTC), deadline)
    assert end_of_day(deadline) == datetime(2025, 7, 18, 23, 59, 59, 999999, tzinfo=SHANGHAI)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        ensure_aware(datetime(2025, 7, 18, 12, 0))


def test_parse_instant_reads_dates_and_offsets() -> None:
    assert parse_instant("2025-07-18").tzinfo is SHANGHAI
    assert parse_instant("2025-07-18T10:00:00Z") == datetime(2025, 7, 18, 10, tzinfo=UTC)
    assert parse_instant("2025-07-18T10:00") == datetime(2025, 7, 18, 10, tzinfo=SHANGHAI)
    with pytest.raises(ValueError):
        parse_instant("18/07/2025")
