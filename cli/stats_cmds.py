"""`stats` and `quota`: the per-province statistics quotas are computed from, and the quotas themselves.

Mounted by cli/main.py. A statistics file is checked whole; a file with any problem loads nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, cast

import typer

from cli.context import STATE, console, db_session, emit_json

stats_app = typer.Typer(
    help="Season statistics quotas depend on (2024 value-added rank, 2024 excellent count; 251 §2(二)2, §3(二)2).",
    no_args_is_help=True,
)
quota_app = typer.Typer(help="Recommendation quotas, computed from the season data and loaded statistics.",
                        no_args_is_help=True)  # fmt: skip

SeasonOption = Annotated[str, typer.Option("--season", help="Season name or file.")]



@stats_app.command("template")
def stats_template(
    out: Annotated[Path | None, typer.Argument(help="An .xlsx or .csv to write; none: CSV on stdout.")] = None,
    season: SeasonOption = "2025",
) -> None:
    """Write the statistics template: one row per province, prefilled with the figures in force."""
    from programmes.season import get_season
    from programmes.statistics import template_rows, write_template

    with db_session() as session:
        rows = template_rows(session, get_season(season))
    text = write_template(rows, out)
    if text is not None:
        sys.stdout.write(text)
    elif STATE.json:
        emit_json({"file": str(out), "rows": len(rows) - 1})
    else:
        console.print(f"template written: {out} ({len(rows) - 1} units; fill in the figures, then `stats load`)")


@stats_app.command("load")
def stats_load(
    file: Annotated[Path, typer.Argument(help="A filled-in template (.xlsx or .csv).")],
    as_: Annotated[
        str | None, typer.Option("--as", help="admin@miit or ministry_officer@miit (replay databases only).")
    ] = None,
    season: SeasonOption = "2025",
) -> None:
    """Load a season's statistics as a new, audited version (the whole file or nothing)."""
    from cli.identity import acting_actor
    from programmes.season import get_season
    from programmes.statistics import load_statistics, parse_statistics, read_cells

    s = get_season(season)
    values = parse_statistics(s, read_cells(file), file.name)
    with db_session() as session:
        actor = acting_actor(session, as_)  # --as only on a replay (issue #11 §4)
        row, created = load_statistics(session, s, values, actor=actor, at=STATE.now(), file_name=file.name)
        out = {"season": row.season, "version": row.version, "sha256": row.sha256, "created": created,
               "units": {key: len(v) for key, v in row.values.items()}}  # fmt: skip
    if STATE.json:
        emit_json(out)
    elif created:
        units = ", ".join(f"{k}: {n} units" for k, n in cast(dict[str, int], out["units"]).items())
        console.print(f"season {out['season']}: statistics version {out['version']} loaded from {file.name} ({units})")
    else:
        console.print(f"season {out['season']}: {file.name} holds the figures of version {out['version']}; nothing new")


@stats_app.command("show")
def stats_show(season: SeasonOption = "2025") -> None:
    """The statistics in force and their versions."""
    from models.clock import shanghai_text
    from programmes.season import get_season
    from programmes.statistics import template_rows
    from programmes.statistics import versions as loaded_versions

    s = get_season(season)
    with db_session() as session:
        rows = template_rows(session, s)
        loaded = loaded_versions(session, s.name)
        versions = [
            {"version": v.version, "file": v.file_name, "sha256": v.sha256, "loaded_by": v.loaded_by,
             "loaded_at": shanghai_text(v.loaded_at) if v.loaded_at else ""}
            for v in loaded
        ]  # fmt: skip
    if STATE.json:
        emit_json({"season": s.name, "header": rows[0], "rows": rows[1:], "versions": versions})
        return
    from rich.table import Table

    table = Table(title=f"statistics — season {s.name}")
    for column in rows[0]:
        table.add_column(str(column))
    for row in rows[1:]:
        table.add_row(*[str(c) for c in row])
    console.print(table)
    for v in versions:
        console.print(f"version {v['version']}: {v['file']} by {v['loaded_by']} at {v['loaded_at']}")
    if not versions:
        console.print("no statistics loaded yet: the season file's values are in force")


@quota_app.command("show")
def quota_show(
    season: SeasonOption = "2025",
    unit: Annotated[list[str] | None, typer.Option("--unit", help="Only these units (repeatable).")] = None,
) -> None:
    """Each recommending unit's excellent and leading quota, with the rule it is computed by."""
    from programmes.recommendation import quota_overview
    from programmes.season import get_season

    s = get_season(season)
    for code in unit or []:
        s.unit(code)
    with db_session() as session:
        rows = quota_overview(session, s, list(unit) if unit else None)
    if STATE.json:
        emit_json(rows)
        return
    from rich.table import Table

    table = Table(title=f"quotas — season {s.name}")
    for column in ("unit", "tier", "quota", "rule"):
        table.add_column(column, overflow="fold")
    for r in rows:
        quota = "?" if r["quota"] is None else str(r["quota"])
        table.add_row(f"{r['name']} ({r['unit']})", r["tier"], quota, r["rule"])
    console.print(table)
