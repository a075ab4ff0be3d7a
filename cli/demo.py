"""`factory-review demo`: replay the 2025 season end to end on a fresh SQLite file with a local mail sink.

Everything goes under the output folder: demo.db, mail/*.eml, summary-tables/*.xlsx, audit/ (JSON lines,
CSV, manifest), lifecycle.md (Mermaid per track), refusals.jsonl, summary.json. The summary holds no
wall-clock time, so the same --seed gives the same summary.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table


def _point_everything_at(db: Path) -> Any:
    """A fresh SQLite file; settings and the cached engine see it too (code that calls get_engine())."""
    from models import database, settings

    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    os.environ["DATABASE_URL"] = f"sqlite:///{db.resolve()}"
    settings.get_settings.cache_clear()
    database.get_engine.cache_clear()
    engine = database.get_engine()
    database.migrate(engine)
    from states.system import mark_replay

    mark_replay(engine)  # a replay: the season's instants are the calendar's, not the server clock's
    return engine


def _progress(console: Console) -> Progress:
    return Progress(TextColumn("{task.description:<34}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=False)  # fmt: skip


def _write_outputs(engine: Any, output: Path, refusal_log: list[dict[str, Any]]) -> dict[str, Any]:
    from sqlalchemy import select
    from sqlmodel import Session

    from models.settings import get_settings
    from models.tables import RecommendationRound
    from programmes.season import get_season
    from programmes.summary_table import write_summary_table
    from programmes.tracks import season_keys
    from states.docs import lifecycle_markdown
    from states.export import export_audit

    tables = output / "summary-tables"
    tables.mkdir(parents=True, exist_ok=True)
    written = []
    with Session(engine) as session:
        rounds = session.scalars(
            select(RecommendationRound).order_by(RecommendationRound.unit, RecommendationRound.tier)
        ).all()
        for r in rounds:
            path = write_summary_table(session, unit=r.unit, tier=r.tier, season=r.season,
                                       path=tables / f"{r.unit}-{r.tier}.xlsx")  # fmt: skip
            written.append(path.name)
        manifest = export_audit(session, output / "audit")
    season = get_season(get_settings().season)
    markdown = lifecycle_markdown(season_keys(season), title=f"Lifecycle of the {season.name} season")
    (output / "lifecycle.md").write_text(markdown, encoding="utf-8")
    with (output / "refusals.jsonl").open("w", encoding="utf-8") as handle:
        for row in refusal_log:
            handle.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
    return {"summary_tables": written, "audit_manifest_verified": bool(manifest["chains_verified"])}


def replay_until(text: str | None) -> datetime | None:
    """`--until`: a date (09:00 Asia/Shanghai that day) or an instant after the enterprises registered
    (2025-06-30 09:00); None for the whole season."""
    from models.clock import parse_instant
    from models.errors import InvalidInput
    from replay.synthetic import at

    if not text:
        return None
    try:
        until = parse_instant(text)
    except ValueError as exc:
        raise InvalidInput(f"--until: {exc}", rule="input", field="until") from None
    if until <= at("2025-06-30", 9):
        raise InvalidInput(f"--until {text}: give an instant after 2025-06-30 09:00 (the season's drafts)",
                           rule="input", field="until")  # fmt: skip
    return until


def _keep_clock(engine: Any, stop: datetime) -> None:
    """The replay database keeps the instant the replay stopped at: the web app and the CLI act at it."""
    from sqlmodel import Session

    from states.system import set_mode

    with Session(engine) as session:
        set_mode(session, replay=True, now=stop.isoformat())


def run_season(output: Path, *, enterprises: int, seed: int, fast: bool, console: Console,
               reminder_days: tuple[date, date] | None = None,
               until: datetime | None = None) -> dict[str, Any]:  # fmt: skip
    """Build and replay the season (up to `until`, else to its end); returns the summary (also written to
    summary.json). The database's replay clock is left at the instant the replay stopped at.

    `reminder_days` narrows the daily reminder sweeps (07-01..08-31) for quick runs (tests, the bench)."""
    from sqlmodel import Session

    from replay.calendar import REMINDER_DAYS, DirectBackend, Replay
    from replay.summary import summarise
    from replay.synthetic import build_season, plan_season

    # Only called on a folder claim_output accepted: new, empty, or made by an earlier demo (its marker).
    for sub in ("mail", "summary-tables", "audit"):
        shutil.rmtree(output / sub, ignore_errors=True)
    (output / "mail").mkdir(parents=True)  # the bench passes a folder not made yet
    engine = _point_everything_at(output / "demo.db")
    refusals: Counter[str] = Counter()
    log: list[dict[str, Any]] = []
    specs = plan_season(enterprises, seed)
    if fast:
        backend: Any = DirectBackend(engine, output / "mail", refusals, log)
    else:  # first: its Prefect server starts while the enterprises register
        from replay.flows_backend import FlowBackend

        backend = FlowBackend(engine, output / "mail", refusals, log, prefect_home=output / "prefect")
    try:
        with _progress(console) as progress:
            task = progress.add_task("registering enterprises, drafts", total=2 * len(specs))
            with Session(engine) as session:
                season = build_season(session, specs, refusals, progress=lambda n: progress.advance(task, n))
            replay = Replay(engine, season, backend, reminder_days=reminder_days or REMINDER_DAYS)
            steps = replay.steps(until)
            task = progress.add_task(f"replaying the calendar ({backend.name})", total=len(steps))
            replay.tick = lambda label: progress.update(task, advance=1, description=label[:34])
            stop = replay.run(until)
            progress.update(task, description=f"replayed the calendar ({backend.name})")
    finally:
        backend.close()
    _keep_clock(engine, stop)
    with Session(engine) as session:
        summary = summarise(session, refusals=refusals)
    summary["season"] = {"enterprises": len(specs), "applications": len(season.applications), "seed": seed,
                         "backend": backend.name, "replay_clock": stop.isoformat()}  # fmt: skip
    summary["outputs"] = _write_outputs(engine, output, log)
    summary["outputs"]["mails"] = len(list((output / "mail").glob("*.eml")))
    (output / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
                                         encoding="utf-8")  # fmt: skip
    engine.dispose()
    return summary


def print_summary(summary: dict[str, Any], console: Console) -> None:
    from models.enums import TIER_LABELS
    from replay.summary import STAGES

    t = Table(title="Applications per stage, tier and province")
    for col in ("state", "tier", "province", "count"):
        t.add_column(col, justify="right" if col == "count" else "left")
    for row in summary["applications"]:
        t.add_row(row["state"], row["tier"], row["province"], str(row["count"]))
    console.print(t)
    t = Table(title="National applications that reached each stage, per recommending unit",
              caption="提交 submitted · 推荐 recommended to the ministry · 评审 ministry review · 核查 on-site · "
                      "公示 public notice · 认定 recognised · 培育 cultivation object")  # fmt: skip
    t.add_column("unit", no_wrap=True)
    t.add_column("tier", no_wrap=True)
    for header in ("提交", "推荐", "评审", "核查", "公示", "认定", "培育"):
        t.add_column(header, justify="right")
    for row in summary["stages"]:
        t.add_row(row["unit"], TIER_LABELS.get(row["tier"], row["tier"]), *[str(row[stage]) for stage in STAGES])
    console.print(t)
    t = Table(title="Quotas: recommended vs allowed per unit")
    for col in ("unit", "tier", "recommended", "counted", "quota"):
        t.add_column(col)
    for row in summary["quotas"]:
        t.add_row(row["unit"], row["tier"], str(row["recommended"]), str(row["counted_against_quota"]),
                  "—" if row["quota"] is None else str(row["quota"]))  # fmt: skip
    console.print(t)
    t = Table(title="Reminders per deadline and offset")
    for col in ("kind", "deadline", "offset", "status", "count"):
        t.add_column(col)
    for row in summary["reminders"]:
        t.add_row(row["kind"], str(row["deadline"]), str(row["offset_days"]), row["status"], str(row["count"]))
    console.print(t)
    t = Table(title="Refusals by rule")
    t.add_column("rule")
    t.add_column("count", justify="right")
    for rule, n in summary["refusals"].items():
        t.add_row(rule, str(n))
    console.print(t)
    t = Table(title="Expert panels (251 §3(二)4-5): reviews and weighted scores per stage")
    columns = ("stage", "tier", "panels", "applications", "reviewers each", "reviews", "mean score", "recommendations")
    for col in columns:
        t.add_column(col)
    for row in summary.get("panels", []):
        t.add_row(row["stage"], row["tier"], str(row["panels"]), str(row["applications"]),
                  str(row["reviewers_per_application"]), str(row["reviews"]),
                  "–" if row["mean_score"] is None else str(row["mean_score"]),  # on-site checks are not scored
                  ", ".join(f"{k} {v}" for k, v in row["recommendations"].items()))  # fmt: skip
    console.print(t)
    audit = summary["audit"]
    console.print(f"mail: {summary['mail']}  ({summary['outputs']['mails']} .eml files)")
    console.print(f"summary tables: {len(summary['outputs']['summary_tables'])} .xlsx")
    console.print(f"audit verify: {'OK' if audit['ok'] else 'FAILED'} — {audit['chains']} chains, "
                  f"{audit['events']} events, problems: {audit['problems'] or 'none'}")  # fmt: skip


def run_demo(*, output: Path, enterprises: int, seed: int, fast: bool, as_json: bool,
             until: str | None = None) -> dict[str, Any]:  # fmt: skip
    from cli.demo_output import claim_output
    from cli.serve import sigterm_as_interrupt

    stop = replay_until(until)  # a bad --until is refused before anything is written
    console = Console(stderr=True) if as_json else Console()
    # SIGTERM unwinds like Ctrl-C, so every `finally` runs and stops the children (the Prefect server).
    with sigterm_as_interrupt(), claim_output(Path(output)):
        summary = run_season(Path(output), enterprises=enterprises, seed=seed, fast=fast, console=console,
                             until=stop)  # fmt: skip
    if as_json:
        sys.stdout.write(json.dumps(summary, ensure_ascii=False, indent=2, sort_keys=True) + "\n")
    else:
        print_summary(summary, console)
        console.print(f"written under {output}/: demo.db, mail/, summary-tables/, audit/, lifecycle.md, "
                      "refusals.jsonl, summary.json")  # fmt: skip
    _web_hint(Path(output) / "demo.db", console, datetime.fromisoformat(summary["season"]["replay_clock"]))
    return summary


def _web_hint(db: Path, console: Console, clock: datetime) -> None:
    """Demo accounts in the demo's database, and how to open it in the web app (issue #13 §9)."""
    from models.database import make_engine
    from web.demo_accounts import add_demo_accounts, hint

    engine = make_engine(f"sqlite:///{db.resolve()}")
    try:
        accounts = add_demo_accounts(engine)
    finally:
        engine.dispose()
    for line in hint(db, accounts, clock):
        console.print(line, highlight=False, markup=False, soft_wrap=True)
