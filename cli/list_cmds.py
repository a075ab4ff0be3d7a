"""`application list|edit` and `enterprise list|update`: what an administrator looks through and corrects.

Mounted by cli/main.py (`application` group; `list`/`update` join the `enterprise` group). Tables for
people; `--json` for programs; `--csv` in UTF-8 with a BOM so spreadsheet programs read the Chinese.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, cast

import typer

from cli.context import STATE, console, db_session, emit_json
from cli.files import emit_csv

application_app = typer.Typer(help="List, inspect and edit applications.", no_args_is_help=True)
enterprise_app = typer.Typer(help="Enterprises: list and update.", no_args_is_help=True)

CsvOption = Annotated[bool, typer.Option("--csv", help="CSV (UTF-8 with BOM) on stdout.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]



def _render(rows: list[dict[str, Any]], *, columns: dict[str, str], title: str, as_json: bool, as_csv: bool) -> None:
    if as_json or STATE.json:
        emit_json(rows)
        return
    if as_csv:
        emit_csv(rows, list(rows[0]) if rows else list(columns))
        return
    from rich.table import Table

    table = Table(title=f"{title} ({len(rows)})")
    for header in columns.values():
        table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(*[_cell(row, key) for key in columns])
    console.print(table)


def _cell(row: dict[str, Any], key: str) -> str:
    if key == "state":
        return f"{row['state_label']} {row['state']}".strip()
    if key == "holder":
        return row["holder_name"] or "-"
    if key == "due_on":
        return f"{row['due_on']}{' overdue' if row['overdue'] else ''}" if row["due_on"] else ""
    if key == "jurisdiction":
        return str(row["jurisdiction_name"])
    return str(row.get(key, ""))


@application_app.command("list")
def application_list(
    season: Annotated[str | None, typer.Option(help="Only this season.")] = None,
    tier: Annotated[str | None, typer.Option(help="Only this tier (excellent, leading, …, or a Qingpu kind).")] = None,
    state: Annotated[list[str] | None, typer.Option(help="Only in this state (repeatable).")] = None,
    unit: Annotated[str | None, typer.Option(help="Only those on this unit's recommendation chain.")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only those past the deadline they wait for.")] = False,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """Applications, with their holder and the deadline they wait for."""
    from states.listing import ApplicationFilter, application_rows

    flt = ApplicationFilter(season=season, tier=tier, states=tuple(state or ()), unit=unit, overdue=overdue)
    with db_session() as session:
        rows = application_rows(session, flt, now=STATE.now())
    columns = {"id": "#", "enterprise": "enterprise", "tier": "tier", "state": "state", "holder": "held by",
               "due_on": "due"}  # fmt: skip
    _render(rows, columns=columns, title="applications", as_json=as_json, as_csv=as_csv)


@application_app.command("edit")
def application_edit(
    application_id: Annotated[int, typer.Argument(help="Application id (a draft or a returned application).")],
    file: Annotated[Path, typer.Argument(help="The application file with the new content (YAML/JSON).")],
    as_json: JsonOption = False,
) -> None:
    """Replace the content of a draft or returned application, as its enterprise; the audit records the diff."""
    from cli.files import load_application_file
    from cli.identity import acting_actor
    from models.errors import InvalidInput
    from states.intake import field_changes, update_content
    from states.queries import application_and_enterprise

    parsed = load_application_file(file)
    with db_session() as session:
        application, enterprise = application_and_enterprise(session, application_id)
        mine = (enterprise.credit_code, application.tier, application.track, application.season)
        theirs = (parsed.credit_code, str(parsed.tier), str(parsed.track), parsed.season)
        if mine != theirs:
            raise InvalidInput(
                f"{file.name} is for {' / '.join(theirs)}, application {application_id} is {' / '.join(mine)}",
                rule="application-edit",
            )
        actor = acting_actor(session, replay_default=f"enterprise@{enterprise.credit_code}")
        content = parsed.model_dump(mode="json")
        before = dict(application.content or {})
        update_content(session, application_id, content=content, pledge=content.get("pledge"), actor=actor,
                       at=STATE.now())  # fmt: skip
        changed = sorted(field_changes(before, content))
    if as_json or STATE.json:
        emit_json({"id": application_id, "changed": changed})
    else:
        console.print(f"application {application_id}: {len(changed)} field(s) changed"
                      + (f" ({', '.join(changed)})" if changed else ""))  # fmt: skip


@enterprise_app.command("list")
def enterprise_list(
    unit: Annotated[str | None, typer.Option(help="Only enterprises in this jurisdiction (and below).")] = None,
    season: Annotated[str | None, typer.Option(help="Only those with an application in this season.")] = None,
    tier: Annotated[str | None, typer.Option(help="Only those with an application of this tier.")] = None,
    state: Annotated[list[str] | None, typer.Option(help="Only those with an application in this state.")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only those with an overdue application.")] = False,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """Registered enterprises, with their jurisdiction and number of (matching) applications."""
    from states.listing import ApplicationFilter, enterprise_rows

    flt = ApplicationFilter(season=season, tier=tier, states=tuple(state or ()), overdue=overdue)
    now = STATE.now() if flt != ApplicationFilter() else None
    with db_session() as session:
        rows = enterprise_rows(session, unit=unit, season=season, flt=flt, now=now)
    columns = {"id": "#", "credit_code": "credit code", "name": "name", "jurisdiction": "jurisdiction",
               "industry": "industry", "applications": "applications"}  # fmt: skip
    _render(rows, columns=columns, title="enterprises", as_json=as_json, as_csv=as_csv)


@enterprise_app.command("update")
def enterprise_update(
    file: Annotated[Path, typer.Argument(help="YAML/JSON: one enterprise mapping (by credit_code) or a list.")],
    as_: Annotated[
        str | None, typer.Option("--as", help="An admin, or the enterprise itself (replay databases only).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Change registered enterprises' fields; each change is audited with the old and new values."""
    from cli.files import load_mappings
    from cli.identity import acting_actor
    from states.intake import update_enterprise

    out = []
    with db_session() as session:
        actor = acting_actor(session, as_)  # --as only on a replay (issue #11 §4)
        for item in load_mappings(file, "enterprises"):
            enterprise, changes = update_enterprise(session, data=item, actor=actor, at=STATE.now())
            out.append({"credit_code": enterprise.credit_code, "name": enterprise.name, "changes": changes})
    if as_json or STATE.json:
        emit_json(out)
        return
    for row in out:
        fields = ", ".join(f"{k}: {old!r} → {new!r}" for k, (old, new) in cast(dict[str, Any], row["changes"]).items())
        console.print(f"enterprise {row['credit_code']} {row['name']}: {fields or 'unchanged'}")
