"""`notice open` and `objection raise|dismiss|uphold`: the public notice (公示) with options, not JSON."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer

from cli.context import STATE, console, emit_json

notice_app = typer.Typer(help="Public notices (公示): open one for applications that passed review.",
                         no_args_is_help=True)  # fmt: skip
objection_app = typer.Typer(help="Objections during a public notice (公示期间有异议).", no_args_is_help=True)

AsOption = Annotated[str | None, typer.Option("--as", help="Acting ROLE@UNIT (replay databases only).")]


def _day(text: str, option: str) -> date:
    from models.errors import InvalidInput

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{option}: not a date (YYYY-MM-DD): {text!r}", rule="input") from None


def _fire(
    application_id: int, event: str, as_: str | None, *, reason: str = "", data: dict[str, Any] | None = None
) -> Any:
    from cli.identity import acting_actor, readable_application
    from models.database import session_scope
    from states.service import transition

    with session_scope() as session:
        actor = acting_actor(session, as_)  # --as only on a replay (issue #11 §4)
        readable_application(session, application_id)  # outside the account's scope: unknown, before any rule
        return transition(session, application_id, event, actor=actor, at=STATE.now(), reason=reason, data=data)


def _report(results: list[Any]) -> None:
    if STATE.json:
        emit_json([r.__dict__ for r in results])
        return
    for r in results:
        console.print(f"application {r.application_id}: {r.from_state} → [bold]{r.to_state}[/] ({r.event})")


@notice_app.command("open")
def notice_open(
    application_ids: Annotated[list[int], typer.Argument(help="Applications that passed review/verification.")],
    opens: Annotated[str, typer.Option("--opens", help="First day of the notice (YYYY-MM-DD).")],
    as_: AsOption = None,
    closes: Annotated[str | None, typer.Option("--closes", help="Last day (national; Qingpu computes it).")] = None,
    notice_id: Annotated[str | None, typer.Option("--notice-id", help="The notice's reference (national).")] = None,
) -> None:
    """Put applications on a public notice: national excellent after verification, Qingpu after expert review."""
    from cli.identity import readable_application
    from models.database import session_scope
    from programmes.notices import notice_step

    first, last = _day(opens, "--opens"), (_day(closes, "--closes") if closes else None)
    results = []
    for application_id in application_ids:
        with session_scope() as session:
            application, _ = readable_application(session, application_id)  # out of scope: unknown, before any rule
            event, data = notice_step(application, opens=first, closes=last, notice_id=notice_id)
        results.append(_fire(application_id, event, as_, data=data))
    _report(results)


@objection_app.command("raise")
def objection_raise(application_id: Annotated[int, typer.Argument()], reason: Annotated[str, typer.Option()],
                    as_: AsOption = None) -> None:  # fmt: skip
    """Record an objection received during the notice."""
    _report([_fire(application_id, "raise_objection", as_, reason=reason)])


@objection_app.command("dismiss")
def objection_dismiss(application_id: Annotated[int, typer.Argument()], reason: Annotated[str, typer.Option()],
                      as_: AsOption = None) -> None:  # fmt: skip
    """An objection found unfounded after investigation (调查核实)."""
    _report([_fire(application_id, "dismiss_objection", as_, reason=reason)])


@objection_app.command("uphold")
def objection_uphold(application_id: Annotated[int, typer.Argument()], reason: Annotated[str, typer.Option()],
                     as_: AsOption = None) -> None:  # fmt: skip
    """An objection found valid: the application is rejected."""
    _report([_fire(application_id, "uphold_objection", as_, reason=reason)])
