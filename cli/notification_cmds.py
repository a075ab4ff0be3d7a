"""`reminders plan|sweep` and `outbox list|send|retry`: Typer sub-apps the lead mounts in cli/main.py.

Times are Asia/Shanghai; `--now` (or FACTORY_REVIEW_NOW) fixes the clock for a replay.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer
from rich.table import Table

from cli.context import STATE, console, emit_json

reminders_app = typer.Typer(help="Deadline reminders: what would be sent, and queue what is due.", no_args_is_help=True)
outbox_app = typer.Typer(help="The mail outbox: list, send after commit, retry failures.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]
NowOption = Annotated[
    str | None,
    typer.Option("--now", help="Replay databases only: act as if it were this time (date or ISO instant).",
                 show_default=False),
]


def _now(now: str | None, *, acts: bool = True) -> Any:
    """The instant (server clock in production; --now on a replay) and, for work that writes, a check that
    an officer, administrator or service account is signed in (the scheduler on a replay)."""
    if now is not None:
        STATE.now_text = now
    at = STATE.now()
    if acts:
        from cli.identity import operator_actor
        from models.database import session_scope
        from states.intake import SYSTEM_ACTOR

        with session_scope() as session:
            operator_actor(session, SYSTEM_ACTOR)
    return at


def _json(flag: bool) -> bool:
    return flag or STATE.json


@reminders_app.command("plan")
def reminders_plan(
    start: Annotated[str, typer.Option("--from", help="First day (YYYY-MM-DD).")] = "2025-07-01",
    end: Annotated[str, typer.Option("--to", help="Last day (YYYY-MM-DD).")] = "2025-08-31",
    json_out: JsonOption = False,
) -> None:
    """List the reminders that would go out between two days if nobody acted meanwhile (no writes)."""
    from models.clock import shanghai_text
    from models.database import session_scope
    from notifications.reminders import plan

    with session_scope() as session:
        items = plan(session, start=date.fromisoformat(start), end=date.fromisoformat(end))
    if _json(json_out):
        emit_json([p.as_dict() for p in items])
        return
    table = Table(title=f"Reminders {start} → {end} ({len(items)})")
    for column in ("send at", "kind", "to", "unit", "deadline", "offset", "applications", "queued"):
        table.add_column(column)
    for p in items:
        table.add_row(
            shanghai_text(p.send_at),
            p.kind,
            f"{p.recipient_name} <{p.recipient}>",
            p.unit,
            p.deadline.isoformat(),
            str(p.offset_days),
            ", ".join(map(str, p.applications)),
            "yes" if p.queued else "",
        )
    console.print(table)


@reminders_app.command("sweep")
def reminders_sweep(now: NowOption = None, json_out: JsonOption = False) -> None:
    """Queue every reminder due now that isn't queued yet (idempotent; the daily deployment runs it)."""
    from models.clock import shanghai_text
    from models.database import session_scope
    from notifications.reminders import sweep

    at = _now(now)
    with session_scope() as session:
        report = sweep(session, now=at)
    if _json(json_out):
        emit_json(report.as_dict())
        return
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(report.by_kind.items())) or "nothing new"
    console.print(f"sweep at {shanghai_text(at)}: {report.queued} queued of {report.candidates} due ({kinds})")


@outbox_app.command("list")
def outbox_list(
    status: Annotated[
        str | None, typer.Option(help="pending, sending, sent, failed or uncertain.", show_default=False)
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows, newest first.")] = 50,
    json_out: JsonOption = False,
) -> None:
    """Show outbox rows; `--status uncertain` lists the ones resent after a crash."""
    from sqlalchemy import func, select
    from sqlmodel import col

    from models.clock import shanghai_text
    from models.database import session_scope
    from models.tables import OutboxMessage

    with session_scope() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)  # type: ignore[union-attr]
        if status:
            query = query.where(col(OutboxMessage.status) == status)
        rows = list(session.scalars(query))
        statuses = select(col(OutboxMessage.status), func.count()).group_by(col(OutboxMessage.status))
        counts: dict[str, int] = {s: n for s, n in session.execute(statuses).all()}
    if _json(json_out):
        emit_json(
            {
                "counts": counts,
                "rows": [r.model_dump(exclude={"body_text", "body_html"}) for r in rows],
            }
        )
        return
    table = Table(title="Outbox " + "  ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
    for column in ("id", "status", "kind", "to", "subject", "attempts", "next / sent", "last error"):
        table.add_column(column, overflow="fold")
    for r in rows:
        when = r.sent_at or r.next_attempt_at
        table.add_row(
            str(r.id),
            r.status,
            r.kind,
            r.recipient,
            r.subject[:60],
            str(r.attempts),
            shanghai_text(when) if when else "",
            r.last_error[:80],
        )
    console.print(table)


@outbox_app.command("send")
def outbox_send(
    now: NowOption = None,
    batch_size: Annotated[int, typer.Option(help="Messages per SMTP connection.")] = 100,
    max_attempts: Annotated[int, typer.Option(help="Transient failures before a row is failed.")] = 5,
    json_out: JsonOption = False,
) -> None:
    """Send due rows over SMTP (FACTORY_REVIEW_SMTP_*) or to the .eml folder when no host is set."""
    from models.database import get_engine
    from notifications.sender import send_pending

    report = send_pending(get_engine(), now=_now(now), batch_size=batch_size, max_attempts=max_attempts)
    if _json(json_out):
        emit_json(report.as_dict())
        return
    console.print(
        f"sent {report.sent}, failed {report.failed}, retried {report.retried}, "
        f"uncertain {report.uncertain} (resent {report.uncertain_resent}) in {report.seconds:.2f}s"
    )
    if report.uncertain_ids:
        console.print(f"[yellow]uncertain rows (resent once with the same Message-ID): {report.uncertain_ids}[/]")


@outbox_app.command("retry")
def outbox_retry(
    ids: Annotated[list[int] | None, typer.Argument(help="Outbox ids; all failed rows if none.")] = None,
    now: NowOption = None,
    json_out: JsonOption = False,
) -> None:
    """Give failed rows a fresh set of attempts (after fixing an address or the SMTP settings)."""
    from models.database import get_engine
    from notifications.sender import retry_failed

    count = retry_failed(get_engine(), now=_now(now), ids=ids or None)
    if _json(json_out):
        emit_json({"requeued": count})
    else:
        console.print(f"{count} failed row(s) back to pending")
