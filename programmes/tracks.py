"""A season's own tracks (a province's basic filing and advanced recognition, a district's designation
call) as transition tables built from the season data (`tracks:` in the season file), registered with
the lifecycle under keys like "2025/provincial/tj". Same `Step` rows, same one door, same guards.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from models.errors import NotFound, SeasonDataError
from programmes.season import Season, TrackRule, get_season
from programmes.workdays import add_working_days
from states.decision_data import event_schema
from states.lifecycle import TABLES, State, Step, Who, register_table
from states.machine import missing_names


def _step(row: Any) -> Step:
    return Step(
        row.event, tuple(State(s) for s in row.sources), State(row.dest), tuple(Who(w) for w in row.who),
        guards=row.guards, when=row.when, notify=row.notify, source=row.source, label=row.label,
        effects=row.effects, data=event_schema(row.data),
    )  # fmt: skip


def table_of(season: Season, rule: TrackRule) -> tuple[str, tuple[Step, ...]]:
    """(key, rows) of a season's track; a row naming an unknown state, actor, guard, condition or effect
    is refused as bad season data."""
    key = f"{season.name}/{rule.track}/{rule.within}"
    try:
        steps = tuple(_step(row) for row in rule.steps)
    except ValueError as exc:
        raise SeasonDataError(f"{season.path}: track {key}: {exc}", rule="season-data", source=season.path) from None
    if missing := missing_names(steps):
        raise SeasonDataError(
            f"{season.path}: track {key} names what nobody registered: {', '.join(missing)}",
            rule="season-data",
            source=season.path,
        )
    return key, steps


def register_season(season: Season) -> list[str]:
    """Register every track of the season with the lifecycle; the keys, in the file's order."""
    keys = []
    for rule in season.tracks:
        key, steps = table_of(season, rule)
        register_table(key, steps)
        keys.append(key)
    return keys


def season_keys(season: Season) -> list[str]:
    """The national table's key and the season's own tracks' keys (registered if they were not)."""
    return ["national", *register_season(season)]


def key_for(season: Season, name: str) -> str:
    """A table by key ("2025/provincial/tj") or by track name (the season's first track of that name)."""
    keys = season_keys(season)
    found = next((k for k in keys if name in (k, k.split("/")[1 if "/" in k else 0])), None)
    if found is None:
        raise NotFound(f"season {season.name} has no table {name!r}; tables: {', '.join(keys)}", rule="track")
    return found


def select_table(season_name: str, track: str, jurisdiction: str) -> str:
    """The table an application of `track` follows in its season for an enterprise of `jurisdiction`."""
    season = get_season(season_name)
    rule = season.track_rule(track, jurisdiction)
    if rule is None:
        raise NotFound(
            f"season {season.name} declares no {track} track for {jurisdiction}",
            rule="track",
            source=f"season {season.name}: tracks",
        )
    key = f"{season.name}/{rule.track}/{rule.within}"
    if key not in TABLES:
        register_season(season)
    return key


def notice_milestone(opens_on: date, working_days: int = 5) -> dict[str, Any]:
    """The `data` for opening a public notice: {"milestone": {opens, closes, working days}}.

    The notice closes after `working_days` working days on China's official calendar (QP §5(二)).
    """
    closes = add_working_days(opens_on, working_days)
    return {
        "milestone": {
            "notice_opens_on": opens_on.isoformat(),
            "notice_closes_on": closes.isoformat(),
            "notice_working_days": working_days,
        }
    }
