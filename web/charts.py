"""Server-side SVG charts (no JavaScript): horizontal bars and a dated timeline with today marked.

Returns markup strings; every text is escaped here, and the template marks the result safe."""

from __future__ import annotations

from datetime import date
from html import escape

BAR_HEIGHT = 22
WIDTH = 640
LABEL_WIDTH = 190


def bars(items: list[tuple[str, int]], *, title: str, limit_of: dict[str, int] | None = None) -> str:
    """One bar per item; with `limit_of`, a thin mark at each item's limit (quota)."""
    top = max([v for _, v in items] + list((limit_of or {}).values()) + [1])
    scale = (WIDTH - LABEL_WIDTH - 60) / top
    height = BAR_HEIGHT * len(items) + 10
    parts = [f'<svg role="img" aria-label="{escape(title)}" viewBox="0 0 {WIDTH} {height}" width="100%" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']  # fmt: skip
    for i, (label, value) in enumerate(items):
        y = i * BAR_HEIGHT + 4
        parts.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 14}" text-anchor="end" font-size="12">{escape(label)}</text>'
        )
        parts.append(
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{value * scale:.1f}" height="{BAR_HEIGHT - 6}" fill="#1d70b8"/>'
        )
        parts.append(f'<text x="{LABEL_WIDTH + value * scale + 4:.1f}" y="{y + 14}" font-size="12">{value}</text>')
        limit = (limit_of or {}).get(label)
        if limit is not None:
            x = LABEL_WIDTH + limit * scale
            parts.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y - 2}" y2="{y + BAR_HEIGHT - 4}" '
                'stroke="#d4351c" stroke-width="2"/>'
            )
    parts.append("</svg>")
    return "".join(parts)


def timeline(events: list[tuple[date, str]], today: date, *, title: str, today_label: str) -> str:
    """Dates on one axis, labels staggered, today as a red line."""
    if not events:
        return ""
    days = [d for d, _ in events] + [today]
    first, last = min(days), max(days)
    span = max(1, (last - first).days)
    height = 40 + 18 * len(events)

    def x(day: date) -> float:
        return 20 + (WIDTH - 40) * (day - first).days / span

    parts = [f'<svg role="img" aria-label="{escape(title)}" viewBox="0 0 {WIDTH} {height}" width="100%" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
             f'<line x1="20" x2="{WIDTH - 20}" y1="20" y2="20" stroke="#505a5f"/>']  # fmt: skip
    for i, (day, label) in enumerate(sorted(events)):
        y = 38 + 18 * i
        parts.append(f'<circle cx="{x(day):.1f}" cy="20" r="4" fill="#1d70b8"/>')
        anchor = "end" if x(day) > WIDTH / 2 else "start"
        parts.append(f'<text x="{x(day):.1f}" y="{y}" font-size="11" text-anchor="{anchor}">'
                     f'{day.isoformat()} {escape(label)}</text>')  # fmt: skip
    parts.append(
        f'<line x1="{x(today):.1f}" x2="{x(today):.1f}" y1="4" y2="{height}" stroke="#d4351c" stroke-width="2"/>'
    )
    parts.append(
        f'<text x="{x(today) + 4:.1f}" y="12" font-size="11" fill="#d4351c">{escape(today_label)} {today}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)
