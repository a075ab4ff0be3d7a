"""Official documents (申报书, 承诺书, 推荐函, 公示名单, 推荐汇总表) as PDF or HTML, and the paper-copy register."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.context import STATE, console, emit_json

document_app = typer.Typer(
    help="Official documents as PDF (or HTML): 申报书, 承诺书, 推荐函, 公示名单, 推荐汇总表.", no_args_is_help=True
)
paper_app = typer.Typer(
    help="The paper-copy register: the paper copy must equal the online version (251 §2(二)3).", no_args_is_help=True
)

AsOption = Annotated[str | None, typer.Option("--as", help="ROLE@UNIT of the reader (replay databases only).")]
OutOption = Annotated[Path, typer.Option("--output", "-o", help="File to write; .html writes HTML, else PDF.")]
SeasonOption = Annotated[str | None, typer.Option(help="Season name (default: FACTORY_REVIEW_SEASON).")]
UnitOption = Annotated[str, typer.Option(help="Recommending unit.")]
TierOption = Annotated[str, typer.Option(help="excellent or leading.")]


def _write(html: str, output: Path) -> None:
    from documents.render import as_format

    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(as_format(html, output.suffix))
    if STATE.json:
        emit_json({"written": str(output), "bytes": output.stat().st_size})
    else:
        console.print(f"written {output} ({output.stat().st_size:,} bytes)", highlight=False)


def _with_actor(spec: str | None, build: Any) -> str:
    from cli.identity import acting_actor
    from models.database import session_scope

    with session_scope() as session:  # the signed-in reader; `--as` only on a replay database (issue #11 §4)
        return str(build(session, acting_actor(session, spec)))


@document_app.command("application")
def document_application(application: int, output: OutOption, as_: AsOption = None) -> None:
    """The printable 申报书 with the frozen content's SHA-256 and a QR code of it."""
    from documents.builders import application_html

    _write(_with_actor(as_, lambda s, a: application_html(s, application, a)), output)


@document_app.command("pledge")
def document_pledge(application: int, output: OutOption, as_: AsOption = None) -> None:
    """The 真实性承诺书 for the application, tied to its frozen hash."""
    from documents.builders import pledge_html

    _write(_with_actor(as_, lambda s, a: pledge_html(s, application, a)), output)


# One command under two names: the same options and reader check, the builder chosen by the name typed.
@document_app.command("letter", help="The 推荐函 of the unit's ranked recommendation.")
@document_app.command("summary-table", help="The 推荐汇总表 as a printable form (landscape A4), ready to stamp.")
def document_round(
    ctx: typer.Context,
    unit: UnitOption,
    tier: TierOption,
    output: OutOption,
    as_: AsOption = None,
    season: SeasonOption = None,
) -> None:
    """A document of the unit's ranked round: its 推荐汇总表 (`summary-table`) or its 推荐函 (`letter`)."""
    from documents.builders import letter_html, summary_table_html
    from models.clock import local_date

    build: Callable[..., str] = summary_table_html
    if ctx.info_name == "letter":
        build = partial(letter_html, today=local_date(STATE.now()))
    _write(_with_actor(as_, lambda s, a: build(s, unit=unit, tier=tier, season=season, viewer=a)), output)


@document_app.command("notice")
def document_notice(
    output: OutOption,
    season: SeasonOption = None,
    tier: Annotated[str, typer.Option(help="Tier of the list.")] = "excellent",
) -> None:
    """The 公示名单: the applications in public notice (a public document)."""
    from documents.builders import notice_html
    from models.database import session_scope

    with session_scope() as session:
        html = notice_html(session, season=season, tier=tier)
    _write(html, output)


@paper_app.command("record")
def paper_record(
    application: int,
    printed_hash: Annotated[str, typer.Option("--hash", help="The SHA-256 printed on the 申报书.")],
    as_: AsOption = None,
    note: Annotated[str, typer.Option(help="Remarks.")] = "",
) -> None:
    """Record a paper copy's arrival; a hash that differs from the online version is recorded and refused."""
    from cli.identity import acting_actor
    from models.database import session_scope
    from programmes.paper_copies import record_paper_copy

    with session_scope() as session:
        copy = record_paper_copy(
            session,
            application_id=application,
            printed_sha256=printed_hash,
            actor=acting_actor(session, as_),
            at=STATE.now(),
            note=note,
        )
        row = copy.model_dump(mode="json")
    if STATE.json:
        emit_json(row)
    else:
        console.print(
            f"paper copy of application {application} received by {row['unit']}: matches the online version",
            highlight=False,
        )


@paper_app.command("list")
def paper_list(application: int) -> None:
    """Every paper copy recorded for an application, matching or not."""
    from models.database import session_scope
    from programmes.paper_copies import paper_copies

    with session_scope() as session:
        rows = [c.model_dump(mode="json") for c in paper_copies(session, application)]
    if STATE.json:
        emit_json(rows)
        return
    for r in rows:
        console.print(
            f"{r['received_at']} {r['unit']} {'matches' if r['matches'] else 'DIFFERS'} "
            f"{r['printed_sha256'][:16]}… {r['recorded_by']}",
            highlight=False,
        )
