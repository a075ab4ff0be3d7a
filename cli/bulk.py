"""The CLI's bulk imports: a file of enterprises through `states.bulk`, with a progress bar."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import select
from sqlmodel import Session, col

from models.errors import InvalidInput
from models.tables import Actor


def register_file(rows: list[dict[str, Any]], *, file: Path, at: datetime, console: Console, quiet: bool,
                  actor_of: Callable[[Session], Actor]) -> list[dict[str, Any]]:  # fmt: skip
    """Check every row (the first bad one refuses the file, nothing written), then register them in
    batches; returns id, credit code and name of every enterprise of the file, in its order, and the
    fields of the file an already registered enterprise kept (`enterprise update` changes them)."""
    from models.database import session_scope
    from models.tables import Enterprise
    from states.accounts import check_may_register
    from states.bulk import register_enterprises
    from states.intake import SYSTEM_ACTOR, field_changes, validated_enterprise

    columns = (TextColumn("registering enterprises"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    progress = Progress(*columns, console=console, disable=quiet or len(rows) < 2, transient=True)
    with session_scope() as session:
        actor = actor_of(session)
        for index, row in enumerate(rows, start=1):
            try:
                validated_enterprise(row, at)
            except InvalidInput as error:
                raise InvalidInput(f"{file}: enterprise #{index}: {error.message}", rule=error.rule,
                                   source=error.source) from None  # fmt: skip
            if actor is not SYSTEM_ACTOR:  # production: an administrator or officer of the enterprise's scope
                check_may_register(actor, row)
        with progress:
            task = progress.add_task("enterprises", total=len(rows))
            register_enterprises(session, rows, actor=actor, at=at, progress=lambda n: progress.advance(task, n))
        codes = [validated_enterprise(r, at)["credit_code"] for r in rows]
        found: dict[str, Enterprise] = {}
        for start in range(0, len(codes), 500):
            query = select(Enterprise).where(col(Enterprise.credit_code).in_(codes[start : start + 500]))
            found.update({e.credit_code: e for e in session.scalars(query)})
        kept = [found[c].model_dump(mode="json") for c in codes]
        return [{"id": found[c].id, "credit_code": c, "name": found[c].name,
                 "unchanged_fields": sorted(k for k in field_changes({k: now.get(k) for k in row}, row)
                                            if k != "credit_code")}
                for c, now, row in zip(codes, kept, rows, strict=True)]  # fmt: skip
