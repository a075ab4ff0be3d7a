"""Effective deadlines: the season's rule, unless an administrator recorded an extension for the unit.

"…前" is read as "by the end of that day, Asia/Shanghai" (models.clock.is_on_or_before).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from models.memo import remembered
from models.tables import DeadlineExtension
from programmes.season import Deadline, Season, get_season


def _season(season: Season | str) -> Season:
    return season if isinstance(season, Season) else get_season(season)


def extension_for(session: Session, season: Season | str, unit: str, step: str) -> DeadlineExtension | None:
    """The extension that covers `unit` for `step`.

    A recommendation extension names exactly the unit that recommends. A submission extension names a
    jurisdiction and covers the enterprises in it, so the nearest one on the unit's lineage applies.
    """
    s = _season(season)
    lineage = s.lineage(unit) if step == "submit" and s.has_unit(unit) else [unit]

    def query() -> Any:
        return session.scalars(
            select(DeadlineExtension).where(
                col(DeadlineExtension.season) == s.name,
                col(DeadlineExtension.step) == step,
                DeadlineExtension.unit.in_(lineage),  # type: ignore[attr-defined]
            )
        ).all()

    # A batch of transitions (`states.bulk`) reads an extension once; elsewhere every call reads it.
    rows = remembered(session, ("extension", s.name, step, tuple(lineage)), query)
    by_unit = {row.unit: row for row in rows}
    return next((by_unit[code] for code in lineage if code in by_unit), None)


def effective_deadline(
    session: Session, season: Season | str, unit: str, step: str, tier: str, track: str
) -> Deadline | None:
    """The season's deadline for (unit, step, tier, track), moved to the extension's date if one exists."""
    s = _season(season)
    # Once per batch of transitions (`states.bulk`, which acts at one instant): a unit's 500 filings ask alike.
    key = ("deadline", s.name, unit, step, str(tier), str(track))
    return remembered(session, key, lambda: _effective_deadline(session, s, unit, step, tier, track))


def _effective_deadline(session: Session, s: Season, unit: str, step: str, tier: str, track: str) -> Deadline | None:
    base = s.deadline_for(unit, step, tier, track)
    ext = extension_for(session, s, unit, step)
    if ext is None:
        return base
    source = f"extension for {ext.unit} granted by {ext.granted_by}: {ext.reason}"
    if base is not None:
        source += f" (was {base.on.isoformat()}, {base.source})"
        return base.model_copy(update={"on": ext.until, "source": source, "extended": True})
    return Deadline(
        step="submit" if step == "submit" else "recommend",
        unit=ext.unit,
        scope="subtree",
        on=ext.until,
        tiers=(str(tier),),
        track=str(track),
        what="extension",
        source=source,
        extended=True,
    )
