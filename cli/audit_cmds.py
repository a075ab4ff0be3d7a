"""`audit verify|anchor|export`: the auditors' commands (mounted as a sub-app by cli/main.py).

Exit codes (README "Exit codes"): 0 verified; 2 bad input (an unreadable anchor or export);
3 audit verification failed, the first bad row printed first.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from cli.context import STATE, console, emit_json

audit_app = typer.Typer(
    help="Audit trail: verify the chains against their rows and an anchor, anchor the trail, export it.",
    no_args_is_help=True,
)

AUDIT_FAILED = 3  # README "Exit codes": 3 = audit verification failed


def _print_report(report: Any, what: str) -> None:
    if STATE.json:
        emit_json(report.as_dict())
        return
    if report.ok:
        anchored = f", nothing changed or missing since the anchor of {report.anchor}" if report.anchor else ""
        console.print(f"[green]audit ok[/]: {report.events} events in {report.subjects} chains{what}{anchored}")
    for problem in report.problems:
        console.print(f"[red]broken[/] {escape(problem)}", highlight=False, soft_wrap=True)


@audit_app.command("verify")
def audit_verify(
    anchor: Annotated[
        Path | None, typer.Option(help="An anchor file: prove nothing recorded before it changed or vanished.")
    ] = None,
    export: Annotated[
        Path | None, typer.Option(help="Verify this export folder offline instead of the database.")
    ] = None,
) -> None:
    """Recompute every chain, compare each row with its replayed chain (and with an anchor); exit 3 on
    any difference, the first bad row first."""
    if export is not None:
        from states.export_verify import verify_export

        report = verify_export(export)
        _print_report(report, f" verified offline in {export}")
    else:
        from models.database import session_scope
        from states.audit import verify
        from states.ledger import read_anchor
        from states.system import database_mode

        document = read_anchor(anchor) if anchor is not None else None
        with session_scope() as session:
            report = verify(session, anchor=document)
            mode = database_mode(session)
        _print_report(report, f", {report.rows} rows cross-checked")
        if mode == "replay" and not STATE.json:
            console.print("[yellow]replay database[/]: business times (at) were set by the replay; "
                          "recorded_at holds the real time of each event")  # fmt: skip
    if not report.ok:
        raise typer.Exit(AUDIT_FAILED)


@audit_app.command("anchor")
def audit_anchor(
    output: Annotated[Path, typer.Option(help="Where to write the signed anchor (JSON).")] = Path(
        "out/audit-anchor.json"
    ),
    mail: Annotated[str | None, typer.Option(help="Also mail the anchor (via the outbox) to this address.")] = None,
) -> None:
    """Verify the trail, then write the signed root over every chain head to a file kept outside the
    database (and mail it). Refuses with exit 3 on a broken trail."""
    from models.database import session_scope
    from states.ledger import take_anchor, write_anchor

    with session_scope() as session:
        # The anchor's instant is the real clock, never --now: it certifies what exists at this moment.
        document = take_anchor(session, at=datetime.now(UTC), mail_to=mail)
    write_anchor(document, output)
    if STATE.json:
        emit_json({k: v for k, v in document.items() if k != "inventory"} | {"output": str(output)})
        return
    console.print(f"anchor {document['root'][:16]}… over {document['subjects']} chains, {document['events']} events "
                  f"→ {output}" + (f" (mail queued to {mail})" if mail else ""))  # fmt: skip


@audit_app.command("export")
def audit_export(
    output: Annotated[Path, typer.Option("--output", "--out", help="Folder for the files and manifest.json.")] = Path(
        "out/audit"
    ),
    fmt: Annotated[str, typer.Option("--format", help="jsonl, csv (UTF-8 with BOM) or both.")] = "both",
    since: Annotated[str | None, typer.Option(help="Only events on or after this day (Asia/Shanghai).")] = None,
    application: Annotated[int | None, typer.Option(help="Only this application's chain.")] = None,
) -> None:
    """Export audit events with a manifest (each file's SHA-256, a signed anchor); `audit verify --export`
    checks it offline."""
    from models.database import session_scope
    from models.errors import InvalidInput
    from states.export import FORMATS, export_audit

    formats = FORMATS if fmt == "both" else (fmt,)
    if any(f not in FORMATS for f in formats):
        raise InvalidInput(f"--format must be jsonl, csv or both, not {fmt!r}", rule="audit-export")
    try:
        since_day = date.fromisoformat(since) if since else None
    except ValueError:
        raise InvalidInput(f"--since must be a day YYYY-MM-DD, not {since!r}", rule="audit-export") from None
    with session_scope() as session:
        manifest = export_audit(session, output, formats=formats, since=since_day, application=application)
    if STATE.json:
        emit_json({k: v for k, v in manifest.items() if k != "anchor"})
        return
    console.print(f"exported {manifest['events']} events of {manifest['subjects']} chains to {output} "
                  "(manifest.json: file hashes and the signed anchor)")  # fmt: skip
