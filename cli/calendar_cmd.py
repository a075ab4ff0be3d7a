"""`calendar`: a unit's deadlines as an iCalendar file (`factory-review calendar --unit sh.qingpu > deadlines.ics`)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from cli.context import STATE

app = typer.Typer()


@app.command("calendar")
def calendar(
    unit: Annotated[str, typer.Option("--unit", help="Unit code, e.g. sh.qingpu.")],
    season: Annotated[str, typer.Option("--season", help="Season name or file.")] = "2025",
) -> None:
    """Print a unit's deadlines as iCalendar (RFC 5545, Asia/Shanghai) to subscribe to in a mail client."""
    from models.database import session_scope
    from programmes.ics import calendar_text
    from programmes.season import get_season

    s = get_season(season)
    with session_scope() as session:
        text = calendar_text(session, s, unit, now=STATE.now())
    sys.stdout.buffer.write(text.encode("utf-8"))
    sys.stdout.flush()
