"""Programme commands: season data, ranked recommendation, extensions, the summary table.

Mounted by cli/main.py (`app.add_typer(programme_cmds.app, ...)` or command by command). Refusals are
`ReviewError`s; cli.main turns them into one line and a non-zero exit.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.context import STATE, console, emit_json

app = typer.Typer(
    help="Programme rules: seasons, ranked recommendation, extensions, summary tables.", no_args_is_help=True
)
season_app = typer.Typer(help="Season data files (programmes/seasons/*.yaml).", no_args_is_help=True)
app.add_typer(season_app, name="season")

AsOption = Annotated[
    str | None, typer.Option("--as", help="ROLE@UNIT, e.g. local_officer@sh.qingpu (replay databases only).")
]
NowOption = Annotated[
    str | None, typer.Option("--now", help="Replay databases only: act as if it were this time (Asia/Shanghai).")
]
SeasonOption = Annotated[
    str | None, typer.Option("--season", help="Season name (default: FACTORY_REVIEW_SEASON).")
]
SeasonArgument = Annotated[str | None, typer.Argument(help="Season name (default: FACTORY_REVIEW_SEASON).")]


def _now(now: str | None):  # type: ignore[no-untyped-def]
    if now:
        STATE.now_text = now
    return STATE.now()


@season_app.command("show")
def season_show(name: SeasonArgument = None) -> None:
    """Summarise a season: units, chains, deadlines, quotas."""
    from programmes.season import get_season

    s = get_season(name)
    summary = {
        "name": s.name,
        "title": s.title,
        "units": len(s.units),
        "chains": len(s.chains),
        "deadlines": len(s.deadlines),
        "quotas": len(s.quotas),
        "scenarios": sum(len(g.scenarios) for g in s.guide),
        "kpis": len(s.kpis),
        "path": s.path,
        "sha256": s.sha256,
    }
    if STATE.json:
        emit_json(summary)
        return
    for key, value in summary.items():
        console.print(f"{key}: {value}")


@season_app.command("validate")
def season_validate(file: Annotated[Path, typer.Argument(help="A season YAML file.")]) -> None:
    """Validate a season file; errors name the file, the line and the field."""
    from programmes.season import load_season

    s = load_season(file)
    if STATE.json:
        emit_json({"file": str(file), "season": s.name, "valid": True})
    else:
        console.print(f"{file}: season {s.name} is valid ({len(s.units)} units, {len(s.deadlines)} deadlines)")


@season_app.command("load")
def season_load(file: Annotated[Path, typer.Argument(help="A season YAML file to register under its name.")]) -> None:
    """Register a rulebook by its name (national administrators; audited, kept with its SHA-256)."""
    from cli.identity import current_account, real_now
    from models.database import session_scope
    from states.rulebooks import load_rulebook

    with session_scope() as session:
        record = load_rulebook(session, by=current_account(session), path=file, at=real_now())
        result = {"season": record.name, "sha256": record.sha256}
    if STATE.json:
        emit_json(result)
    else:
        console.print(f"season {result['season']} registered (sha256 {result['sha256']})")


@season_app.command("deadlines")
def season_deadlines(name: SeasonArgument = None) -> None:
    """Every declared deadline, with its clause."""
    from programmes.season import get_season

    s = get_season(name)
    rows = [
        {
            "on": d.on.isoformat(),
            "step": d.step,
            "unit": d.unit,
            "scope": d.scope,
            "levels": list(d.levels),
            "tiers": list(d.tiers),
            "track": d.track,
            "source": d.source,
        }
        for d in sorted(s.deadlines, key=lambda d: d.on)
    ]
    if STATE.json:
        emit_json(rows)
        return
    for r in rows:
        levels = f" [{','.join(r['levels'])}]" if r["levels"] else ""
        console.print(
            f"{r['on']}  {r['step']:<9} {r['unit']} ({r['scope']}{levels}) {','.join(r['tiers'])} "
            f"{r['track']} — {r['source']}",
            highlight=False,
        )


@app.command("recommend")
def recommend(
    unit: Annotated[str, typer.Argument(help="The recommending unit, e.g. sh.qingpu.")],
    tier: Annotated[str, typer.Argument(help="excellent or leading.")],
    app_ids: Annotated[list[int], typer.Argument(help="Application ids in priority order (1st = highest).")],
    as_: AsOption = None,
    now: NowOption = None,
    season: Annotated[str | None, typer.Option("--season")] = None,
    reason: Annotated[str, typer.Option(help="Why this order (recorded on every application and the round).")] = "",
) -> None:
    """Submit UNIT's ranked recommendation for TIER: a total priority order within quota and deadline."""
    from cli.identity import acting_actor
    from models.database import session_scope
    from programmes.recommendation import submit_ranked_recommendation

    at = _now(now)
    with session_scope() as session:
        actor = acting_actor(session, as_)
        round_ = submit_ranked_recommendation(
            session, unit=unit, tier=tier, ranked_application_ids=app_ids, actor=actor, at=at, season=season,
            reason=reason,
        )
        result: dict[str, Any] = {
            "round": round_.id,
            "unit": unit,
            "tier": tier,
            "ranked": round_.ranked_application_ids,
            "quota": round_.quota,
            "counted_against_quota": round_.counted_against_quota,
        }
    if STATE.json:
        emit_json(result)
    else:
        console.print(
            f"{unit} recommended {len(result['ranked'])} {tier} application(s) in order {result['ranked']} "
            f"(counted {result['counted_against_quota']} of quota {result['quota']})"
        )


@app.command("extend")
def extend(
    unit: Annotated[str, typer.Argument(help="The unit whose deadline is extended.")],
    step: Annotated[str, typer.Argument(help="submit or recommend.")],
    until: Annotated[str, typer.Argument(help="New last day, YYYY-MM-DD (Asia/Shanghai, end of day).")],
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded in the audit trail).")],
    as_: AsOption = None,
    now: NowOption = None,
    season: SeasonOption = None,
) -> None:
    """Grant an explicit, audited deadline extension to one unit (admin at the unit or above)."""
    from cli.identity import acting_actor
    from models.database import session_scope
    from models.errors import InvalidInput
    from programmes.recommendation import grant_extension

    try:
        day = date.fromisoformat(until)
    except ValueError:
        raise InvalidInput(f"until: not a date: {until!r}", rule="input") from None
    at = _now(now)
    with session_scope() as session:
        actor = acting_actor(session, as_)
        row = grant_extension(
            session, unit=unit, step=step, until=day, actor=actor, reason=reason, at=at, season=season
        )
        result = {"unit": row.unit, "step": row.step, "until": row.until.isoformat(), "granted_by": row.granted_by}
    if STATE.json:
        emit_json(result)
    else:
        console.print(f"{unit} {step} deadline extended to {result['until']} (by {result['granted_by']})")


@app.command("summary-table")
def summary_table(
    unit: Annotated[str, typer.Argument(help="The recommending unit.")],
    tier: Annotated[str, typer.Argument(help="excellent (附件3) or leading (附件5).")],
    out: Annotated[Path | None, typer.Option("--out", help="Output .xlsx path.")] = None,
    season: SeasonOption = None,
) -> None:
    """Write UNIT's 推荐汇总表 for TIER as .xlsx, with the paper-set checklist."""
    from models.database import session_scope
    from models.settings import get_settings
    from programmes.season import get_season
    from programmes.summary_table import paper_checklist, summary_rows, write_summary_table

    season = season or get_settings().season
    path = out or Path(f"推荐汇总表-{unit}-{tier}-{season}.xlsx")
    with session_scope() as session:
        written = write_summary_table(session, unit=unit, tier=tier, season=season, path=path)
        _, rows = summary_rows(session, unit=unit, tier=tier, season=season)
    checklist = paper_checklist(get_season(season), unit, tier, len(rows))
    if STATE.json:
        emit_json({"path": str(written), "rows": len(rows), "paper_set": checklist})
        return
    console.print(f"wrote {written} ({len(rows)} rows)")
    for item in checklist:
        console.print(f"  {item['name_zh']} ×{item['total']} → {item['to']}", highlight=False)
