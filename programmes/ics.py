"""A unit's deadlines as an iCalendar file (RFC 5545), so officers can subscribe in their mail client.

Each deadline is an event at the last minute of its day in Asia/Shanghai ("…前" = by the end of that day),
with a reminder three days before; extensions recorded for the unit move it. UIDs are stable, so a
re-imported calendar updates its events instead of duplicating them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from programmes.deadlines import effective_deadline
from programmes.season import Deadline, Season

PRODID = "-//factory-review//smart-factory programme deadlines//ZH"
# Asia/Shanghai has had no daylight saving time since 1991: one STANDARD component describes it.
VTIMEZONE = [
    "BEGIN:VTIMEZONE", "TZID:Asia/Shanghai", "BEGIN:STANDARD", "DTSTART:19700101T000000",
    "TZOFFSETFROM:+0800", "TZOFFSETTO:+0800", "TZNAME:+08", "END:STANDARD", "END:VTIMEZONE",
]  # fmt: skip


def escape(text: str) -> str:
    """TEXT value escaping (RFC 5545 §3.3.11)."""
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def fold(line: str) -> list[str]:
    """Split a content line into pieces of at most 75 octets, never inside a UTF-8 character (§3.1)."""
    pieces, current, size, limit = [], "", 0, 75
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            pieces.append(current)
            current, size, limit = " ", 1, 75
        current += char
        size += width
    pieces.append(current)
    return pieces


def unit_deadlines(session: Session, season: Season, unit: str) -> list[Deadline]:
    """The season's deadlines that bind `unit` (its own steps, and its enterprises' submission), with
    extensions applied, by date."""
    season.unit(unit)
    found: dict[tuple[str, str, tuple[str, ...], str], Deadline] = {}
    for d in season.deadlines:
        if not d.covers(season, unit):
            continue
        tier = d.tiers[0] if d.tiers else ""
        # The nearest rule wins (Shanghai's 07-11 over the ministry's 07-18 for a Shanghai district).
        effective = (effective_deadline(session, season, unit, d.step, tier, d.track) if tier else d) or d
        found[(effective.step, effective.track, tuple(effective.tiers), effective.on.isoformat())] = effective
    return sorted(found.values(), key=lambda d: (d.on, d.step))


def _event(season: Season, unit: str, d: Deadline, stamp: str) -> list[str]:
    name = season.unit(unit).name_zh
    tiers = "/".join(d.tiers) if d.tiers else "all"
    summary = f"截止：{d.what or d.step}（{name}）"
    description = f"{d.what or d.step}\n{d.step} · {tiers} · {d.track}\n依据：{d.source}" + (
        "\n（已延期）" if d.extended else ""
    )
    day = d.on.strftime("%Y%m%d")
    end = (d.on + timedelta(days=1)).strftime("%Y%m%d")
    return [
        "BEGIN:VEVENT",
        f"UID:{season.name}-{unit}-{d.step}-{d.track}-{tiers}-{day}@factory-review",
        f"DTSTAMP:{stamp}",
        f"DTSTART;TZID=Asia/Shanghai:{day}T235900",
        f"DTEND;TZID=Asia/Shanghai:{end}T000000",
        f"SUMMARY:{escape(summary)}",
        f"DESCRIPTION:{escape(description)}",
        "TRANSP:TRANSPARENT",
        "BEGIN:VALARM", "ACTION:DISPLAY", f"DESCRIPTION:{escape(summary)}", "TRIGGER:-P3D", "END:VALARM",
        "END:VEVENT",
    ]  # fmt: skip


def calendar_text(session: Session, season: Season, unit: str, *, now: datetime) -> str:
    """The whole VCALENDAR, CRLF line endings, folded lines."""
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN", "METHOD:PUBLISH",
             f"X-WR-CALNAME:{escape(season.unit(unit).name_zh + ' 截止日期 ' + season.name)}",
             "X-WR-TIMEZONE:Asia/Shanghai", *VTIMEZONE]  # fmt: skip
    for d in unit_deadlines(session, season, unit):
        lines += _event(season, unit, d, stamp)
    lines.append("END:VCALENDAR")
    return "".join(piece + "\r\n" for line in lines for piece in fold(line))
