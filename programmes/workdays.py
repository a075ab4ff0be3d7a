"""Working days on China's official calendar (国务院办公厅 holiday arrangements, with adjusted working
weekends), via `chinesecalendar`. A period reaching past the years it covers is refused loudly: we never
fall back to Monday–Friday (QP §5(二) 公示期限为5个工作日; domain.md §8).
"""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar

from models.errors import CalendarNotCovered

_SOURCE = "QP §5(二) (公示期限为5个工作日); chinesecalendar (official State Council arrangements)"


def is_working_day(day: date) -> bool:
    """True on a working day, including an adjusted working Saturday or Sunday (调休上班)."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError as exc:
        raise CalendarNotCovered(
            f"the official calendar is not known for {day.isoformat()} (chinesecalendar covers "
            f"{covered_years()[0]}-{covered_years()[-1]}); update the package, never assume Monday-Friday",
            rule="calendar",
            source=_SOURCE,
            day=day.isoformat(),
        ) from exc


def covered_years() -> list[int]:
    """The years the installed calendar knows (its holiday table)."""
    years = sorted({d.year for d in chinese_calendar.holidays} | {d.year for d in chinese_calendar.workdays})
    return years or [0]


def add_working_days(start: date, n: int) -> date:
    """The n-th working day after `start` (counting starts the next working day; `start` itself is
    not counted). 5 working days from 2025-09-26 end on 2025-10-10: 9/28 (adjusted Sunday), 9/29, 9/30,
    then the National Day holiday, 10/9, 10/10."""
    if n < 0:
        raise ValueError("n must be zero or more")
    day, counted = start, 0
    while counted < n:
        day += timedelta(days=1)
        if is_working_day(day):
            counted += 1
    return day
