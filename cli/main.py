"""`factory-review`: the command line. Imports stay lazy so `--help` never pays for Prefect (~1.5 s)."""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.context import STATE, console, db_session, emit_json, err_console, hoist_global_options
from cli.files import emit_csv, load_application_file, load_mappings

app = typer.Typer(
    name="factory-review",
    help="智能工厂梯度培育 — the smart-factory tiered cultivation programme as an auditable pipeline.\n\n"
    "Every state change goes through one guarded, audited door. Times are Asia/Shanghai.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
enterprise_app = typer.Typer(help="Register enterprises (credit code validated, GB 32100-2015).", no_args_is_help=True)
actor_app = typer.Typer(help="Register actors: role@unit, e.g. local_officer@sh.qingpu.", no_args_is_help=True)
app.add_typer(enterprise_app, name="enterprise")
app.add_typer(actor_app, name="actor")

NowOption = Annotated[
    str | None,
    typer.Option(
        "--now",
        help="Replay databases only: act as if it were this time (date or ISO instant, Asia/Shanghai if no offset). "
        "Also FACTORY_REVIEW_NOW. A production database takes the server clock.",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]


@app.callback()
def _root(ctx: typer.Context, now: NowOption = None, json_out: JsonOption = False) -> None:
    from programmes.wiring import assemble

    assemble()  # the composition root: guards and season tracks, before any command runs
    STATE.now_text = now or os.environ.get("FACTORY_REVIEW_NOW") or None
    STATE.json = json_out
    STATE._at = None
    if STATE.now_text and ctx.invoked_subcommand not in _OWN_CLOCK:
        STATE.now()  # a production database refuses a fixed clock whatever the command (exit 2)


# init/demo/diagram set up a database or touch none; the others ask STATE.now() themselves, after checking
# their own arguments, so malformed input is refused before the database is opened.
_OWN_CLOCK = frozenset({"init", "demo", "diagram", "act", "apply", "enterprise", "recommend", "extend",
                        "reminders", "outbox"})  # fmt: skip



# ---- set-up ---------------------------------------------------------------------------------------


@app.command()
def init(
    replay: Annotated[bool, typer.Option("--replay", help="A replay database: --now and --as are accepted.")] = False,
    admin: Annotated[str | None, typer.Option("--admin", help="E-mail of the first ministry administrator.")] = None,
    password_file: Annotated[Path | None, typer.Option("--password-file", help="First line: the password.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="The administrator's display name.")] = None,
) -> None:
    """Create or upgrade the database (SQLite under ./data unless DATABASE_URL is set); set its mode once."""
    from cli.identity import read_password, real_now
    from models.database import get_engine, migrate, session_scope
    from models.settings import get_settings
    from states.system import set_mode

    migrate(get_engine())
    with session_scope() as session:
        mode = set_mode(session, replay=replay, now=STATE.now_text if replay else None)
        if admin:
            from states.accounts import create_first_admin

            password = read_password(password_file, confirm=password_file is None)
            create_first_admin(session, email=admin, password=password, display_name=name, at=real_now())
    url = get_settings().resolved_database_url
    shown = url.split("@")[-1] if "@" in url else url
    if STATE.json:
        emit_json({"database": shown, "migrated": True, "mode": mode, "admin": admin})
    else:
        console.print(f"database ready: [bold]{shown}[/] ({mode})" + (f"; administrator {admin}" if admin else ""))


@enterprise_app.command("add")
def enterprise_add(
    file: Annotated[Path, typer.Argument(help="YAML/JSON: one enterprise mapping or a list of them.")],
) -> None:
    """Register enterprises from a file (an existing credit code is left as it is: `enterprise update` changes it).

    Every item is checked first (and, but for the scheduler, that the actor may register it): one bad item
    refuses the file and nothing is written. A long file is registered in batches (states.bulk, one
    transaction each) with a progress bar."""
    from cli.bulk import register_file
    from cli.identity import acting_actor

    items = load_mappings(file, "enterprises")
    added = register_file(items, file=file, at=STATE.now(), console=console, quiet=STATE.json,
                          actor_of=lambda session: acting_actor(session, replay_default="system@system"))  # fmt: skip
    if STATE.json:
        emit_json(added)
        return
    for row in added:
        console.print(f"enterprise {row['id']}: {row['credit_code']} {row['name']}")
        if row["unchanged_fields"]:  # say it, rather than ignore the file's new values silently
            console.print(f"[yellow]already registered[/]: not changed: {', '.join(row['unchanged_fields'])} "
                          f"(use `factory-review enterprise update FILE --as …`)")  # fmt: skip


@actor_app.command("add")
def actor_add(
    spec: Annotated[str, typer.Argument(help="ROLE@UNIT, e.g. local_officer@sh.qingpu, ministry_officer@miit")],
    name: Annotated[str, typer.Option(help="Display name.")],
    email: Annotated[str, typer.Option(help="Where notifications go.")] = "",
) -> None:
    """Register an actor on a replay database (idempotent); in production, accounts: `account add`."""
    from models.errors import ReplayOnly
    from states.intake import add_actor, parse_actor
    from states.system import is_replay

    role, unit = parse_actor(spec)
    with db_session() as session:
        if not is_replay(session):
            raise ReplayOnly("actors are accounts on a production database: `factory-review account add`",
                             rule="replay-only")  # fmt: skip
        actor = add_actor(session, name=name, email=email, role=role, unit=unit)
    if STATE.json:
        emit_json(actor.model_dump())
    else:
        console.print(f"actor {actor.id}: {actor.role}@{actor.unit} {actor.name}")


# ---- applications -----------------------------------------------------------------------------------


@app.command()
def apply(
    file: Annotated[Path, typer.Argument(help="Application file (YAML/JSON); schema in README, samples in examples/.")],
    submit: Annotated[bool, typer.Option("--submit", help="Submit right away (freezes the content).")] = False,
) -> None:
    """Create a draft application from a file, as the enterprise it names."""
    from cli.identity import acting_actor
    from models.errors import ReviewError
    from states.intake import create_from_file
    from states.service import transition

    parsed = load_application_file(file)
    at = STATE.now()
    with db_session() as session:
        actor = acting_actor(session, replay_default=f"enterprise@{parsed.credit_code}")
        application = create_from_file(session, parsed, actor=actor, at=at)
        result = None
        if submit:
            try:
                assert application.id is not None  # flushed by create_from_file
                result = transition(session, application.id, "submit", actor=actor, at=at)
            except ReviewError as exc:  # the draft stays (the audit is append-only): say so plainly
                exc.message += (f" — application {application.id} was kept as a draft: correct it with "
                                f"`application edit {application.id} FILE`, then `act {application.id} submit`")
                exc.details["draft_kept"] = application.id
                raise
    out: dict[str, Any] = {
        "id": application.id,
        "state": result.to_state if result else application.state,
        "chain": application.chain,
        "warnings": result.warnings if result else [],
    }
    if STATE.json:
        emit_json(out)
    else:
        console.print(f"application {out['id']}: {out['state']} (chain {' → '.join(out['chain'])})")
        for warning in out["warnings"]:
            console.print(f"[yellow]warning[/] {warning.get('message')} [{warning.get('rule')}]")


@app.command()
def act(
    application_id: Annotated[int, typer.Argument(help="Application id.")],
    event: Annotated[str, typer.Argument(help="Event name from the lifecycle table (see `factory-review diagram`).")],
    as_: Annotated[str | None, typer.Option("--as", help="Acting ROLE@UNIT (replay databases only).")] = None,
    reason: Annotated[str, typer.Option(help="Why (required for reject, return, objections).")] = "",
    data: Annotated[str, typer.Option(help="Extra JSON data recorded with the event.")] = "{}",
) -> None:
    """Fire one lifecycle event through the one door, as the signed-in account (guards, audit, mail, all or
    nothing)."""
    from cli.identity import acting_actor, readable_application
    from models.errors import InvalidInput
    from states.intake import parse_actor
    from states.service import transition

    try:
        extra = json.loads(data)
        if not isinstance(extra, dict):
            raise ValueError("must be a JSON object")
    except ValueError as exc:
        raise InvalidInput(f"--data: {exc}", rule="input") from None
    if as_ is not None:
        parse_actor(as_)  # a malformed --as (an empty one too) is refused before the database is opened
    at = STATE.now()
    with db_session() as session:
        actor = acting_actor(session, as_)
        readable_application(session, application_id)  # outside the account's scope: unknown, before any rule
        result = transition(session, application_id, event, actor=actor, at=at, reason=reason, data=extra)
    if STATE.json:
        emit_json(result.__dict__)
    else:
        console.print(
            f"application {result.application_id}: {result.from_state} → [bold]{result.to_state}[/] "
            f"({event}, audit #{result.audit_seq}, {result.mails_queued} mail queued)"
        )


@app.command()
def show(application_id: Annotated[int, typer.Argument(help="Application id.")]) -> None:
    """Show one application: state, chain, ranks, frozen content hash."""
    from rich.table import Table

    from cli.identity import readable_application
    from states.lifecycle import STATE_LABELS, State

    with db_session() as session:
        application, enterprise = readable_application(session, application_id)
        row = application.model_dump(mode="json")
        row["enterprise"] = {"credit_code": enterprise.credit_code, "name": enterprise.name}
    if STATE.json:
        emit_json(row)
        return
    table = Table(show_header=False, box=None)
    table.add_row("application", str(row["id"]))
    table.add_row("enterprise", f"{enterprise.name} ({enterprise.credit_code})")
    table.add_row("tier / track / season", f"{row['tier']} / {row['track']} / {row['season']}")
    table.add_row("state", f"{row['state']} {STATE_LABELS.get(State(row['state']), '')}")
    holder = row["chain"][row["review_level"]] if row["chain"] else "-"
    table.add_row("chain", " → ".join(row["chain"]) + f"  (held by {holder})")
    table.add_row("ranks", json.dumps(row["ranks"], ensure_ascii=False))
    table.add_row("content sha256", row["content_sha256"] or "(not submitted)")
    table.add_row("audit", f"{row['audit_count']} events, head {row['audit_head'][:16]}")
    for warning in row["warnings"]:
        table.add_row("[yellow]warning[/]", f"{warning.get('message')} [{warning.get('rule')}]")
    console.print(table)


def _history_rows(application_id: int) -> list[dict[str, Any]]:
    from cli.identity import readable_application
    from models.clock import shanghai_text
    from states.audit import history as audit_history

    with db_session() as session:
        readable_application(session, application_id)
        events = audit_history(session, f"application:{application_id}")
        return [
            {
                "seq": e.seq,
                "at": shanghai_text(e.at) if e.at else "",
                "at_utc": e.at.isoformat() if e.at else "",
                "recorded_at": shanghai_text(e.recorded_at) if e.recorded_at else "",
                "recorded_differs": _differs(e.at, e.recorded_at),
                "actor": f"{e.actor_role}@{e.actor_unit}",
                "actor_name": e.actor_name,
                "event": e.event,
                "from": e.from_state or "",
                "to": e.to_state or "",
                "reason": e.reason,
                "data": json.dumps(e.data, ensure_ascii=False, sort_keys=True),
                "hash": e.hash,
            }
            for e in events
        ]


def _differs(at: Any, recorded_at: Any) -> bool:
    """A replay's business instant vs the real one (a few seconds apart is the same moment of work)."""
    return bool(at and recorded_at and abs((at - recorded_at).total_seconds()) > 2)


@app.command()
def history(
    application_id: Annotated[int, typer.Argument(help="Application id.")],
    as_json: JsonOption = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV on stdout.")] = False,
) -> None:
    """The audit history of one application (times in Asia/Shanghai)."""
    rows = _history_rows(application_id)
    if as_json or STATE.json:
        emit_json(rows)
    elif as_csv:
        emit_csv(rows, list(rows[0]) if rows else ["seq"])
    else:
        print_history(rows, title=f"application {application_id}")


def print_history(rows: list[dict[str, Any]], *, title: str) -> None:
    """One block per event, wrapped to the terminal's width (80 columns is enough)."""
    from rich.markup import escape
    from rich.padding import Padding
    from rich.text import Text

    console.print(Text(f"audit history — {title} (times Asia/Shanghai)", style="bold"))
    for r in rows:
        move = f"{r['from'] or '·'} → {r['to']}" if r["to"] else ""
        console.print(f"[bold]#{r['seq']}[/] {r['at']}  [bold]{escape(r['event'])}[/]  {escape(move)}")
        lines = [f"by {r['actor']} {r['actor_name']}".rstrip()]
        if r.get("recorded_differs"):  # a replay: the real time beside the replayed one
            lines.append(f"recorded at (real): {r['recorded_at']}")
        if r["reason"]:
            lines.append(f"reason: {r['reason']}")
        if shown := _data_shown(r["data"]):
            lines.append(f"data: {shown}")
        for line in lines:
            console.print(Padding(Text(line, overflow="fold"), (0, 0, 0, 4), expand=False))


def _data_shown(data: str) -> str:
    """The event's data for a reader: without the row snapshot that `audit verify` replays (`--json` and
    `--csv` keep it whole)."""
    try:
        value = json.loads(data) if data else {}
    except ValueError:
        return data
    if isinstance(value, dict):
        value.pop("row", None)
    return json.dumps(value, ensure_ascii=False, sort_keys=True) if value else ""


@app.command()
def diagram(
    track: Annotated[str, typer.Option(help="national, provincial, district, or a table key (2025/provincial/tj)")]
    = "national",
    season: Annotated[str | None, typer.Option(help="The season whose tables are drawn (default: settings).")] = None,
    markdown: Annotated[bool, typer.Option("--markdown", help="Every table of the season as Markdown.")] = False,
) -> None:
    """Print the lifecycle state diagram (Mermaid), generated from the transition table."""
    from models.settings import get_settings
    from programmes.season import get_season
    from programmes.tracks import key_for, season_keys
    from states.docs import lifecycle_markdown
    from states.machine import mermaid

    data = get_season(season or get_settings().season)
    text = lifecycle_markdown(season_keys(data)) if markdown else mermaid(key_for(data, track))
    sys.stdout.write(text + "\n")


@app.command()
def demo(
    output: Annotated[Path, typer.Option(help="Where summary tables, mails and the audit export go.")] = Path("out"),
    enterprises: Annotated[
        int, typer.Option(help="Synthetic enterprises (the default takes about a minute on 2 cores, install excluded).")
    ] = 2400,
    seed: Annotated[int, typer.Option(help="Seed for a reproducible season.")] = 2025,
    fast: Annotated[bool, typer.Option("--fast", help="Direct service calls, no Prefect.")] = False,
    until: Annotated[
        str | None,
        typer.Option(
            "--until",
            help="Stop the replay before this date (09:00 Asia/Shanghai) or instant; the database's "
            "replay clock stays there, so the web app acts mid-season, e.g. --until 2025-07-08.",
        ),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """The main job: replay the 2025 season end to end on the embedded default (SQLite, local mail sink)."""
    from cli.demo import run_demo

    run_demo(output=output, enterprises=enterprises, seed=seed, fast=fast, as_json=json_out or STATE.json,
             until=until)  # fmt: skip


# ---- sub-apps written beside this file ----------------------------------------------------------------------

_SUBAPPS = (
    ("cli.programme_cmds", "app", None),
    ("cli.notification_cmds", "reminders_app", "reminders"),
    ("cli.notification_cmds", "outbox_app", "outbox"),
    ("cli.serve", "app", None),
    ("cli.account_cmds", "app", None),
    ("cli.stats_cmds", "stats_app", "stats"),
    ("cli.stats_cmds", "quota_app", "quota"),
    ("cli.list_cmds", "application_app", "application"),
    ("cli.list_cmds", "enterprise_app", "enterprise"),
    ("cli.calendar_cmd", "app", None),
    ("cli.notice_cmds", "notice_app", "notice"),
    ("cli.notice_cmds", "objection_app", "objection"),
    ("cli.audit_cmds", "audit_app", "audit"),
    ("cli.panel_cmds", "expert_app", "expert"),
    ("cli.panel_cmds", "panel_app", "panel"),
    ("cli.panel_cmds", "review_app", "review"),
    ("cli.document_cmds", "document_app", "document"),
    ("cli.document_cmds", "paper_app", "paper-copy"),
    ("cli.web_cmd", "app", None),
)


def _mount_subapps() -> None:
    for module_name, attr, name in _SUBAPPS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        sub = getattr(module, attr, None)
        if sub is None:
            continue
        existing = next((g.typer_instance for g in app.registered_groups if g.name == name), None) if name else None
        if existing is not None:  # more commands for a group main.py declares (e.g. `enterprise list`)
            existing.registered_commands.extend(sub.registered_commands)
        elif name:
            app.add_typer(sub, name=name)
        else:
            for command in sub.registered_commands:
                app.registered_commands.append(command)
            for group in sub.registered_groups:
                app.registered_groups.append(group)


_mount_subapps()


def main(argv: list[str] | None = None) -> int:
    """Entry point: user errors are one readable line and a non-zero exit, never a traceback."""
    import click
    from rich.markup import escape
    from typer import _click as typer_click  # Typer 0.29 vendors click: its exceptions aren't click's

    from models.errors import ReviewError
    from models.masking import install_log_masking

    install_log_masking()  # phone numbers, e-mail addresses and secrets never reach a log line
    exit_types = (click.exceptions.Exit, typer.Exit)
    usage_types = (click.ClickException, typer_click.exceptions.ClickException)
    abort_types = (click.exceptions.Abort, typer.Abort)

    try:
        from models.limits import check_arguments

        check_arguments(sys.argv[1:] if argv is None else argv)  # option values are input too (limits)
        # Without standalone mode click *returns* the code a `typer.Exit` carries instead of raising it.
        args = hoist_global_options(sys.argv[1:] if argv is None else list(argv))
        returned = app(args=args, prog_name="factory-review", standalone_mode=False)
        return returned if isinstance(returned, int) else 0
    except ReviewError as exc:
        if STATE.json:
            emit_json(exc.as_dict())
        # escape(): the "[rule; clause]" tail is text, not Rich markup.
        err_console.print(f"[red]refused[/]: {escape(str(exc))}", highlight=False, soft_wrap=True)
        return exc.exit_code
    except exit_types as exc:
        return int(exc.exit_code or 0)
    except usage_types as exc:
        exc.show()
        return int(exc.exit_code)
    except abort_types:
        err_console.print("aborted")
        return 130
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # an unexpected failure: one line, the trace only on request
        if os.environ.get("FACTORY_REVIEW_DEBUG"):
            raise
        err_console.print(
            f"[red]error[/]: {type(exc).__name__}: {escape(str(exc).splitlines()[0]) if str(exc) else ''} "
            "(set FACTORY_REVIEW_DEBUG=1 for the traceback)",
            highlight=False,
            soft_wrap=True,
        )
        return 1


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
