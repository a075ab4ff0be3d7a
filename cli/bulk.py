"""The CLI's bulk imports: a file of enterprises through `states.bulk`, with a progress bar."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import select
from sqlmodel import col

from models.errors import InvalidInput


def _rows(data: Any, file: Path) -> list[dict[str, Any]]:
    items = data if isinstance(data, list) else (data.get("enterprises", [data]) if isinstance(data, dict) else [])
    for index, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise InvalidInput(f"{file}: enterprise #{index} must be a mapping", rule="enterprise-schema")
    return items


def register_file(data: Any, *, file: Path, at: datetime, console: Console, quiet: bool) -> list[dict[str, Any]]:
    """Check every row (the first bad one refuses the file, nothing written), then register them in
    batches; returns id, credit code and name of every enterprise of the file, in its order."""
    from models.database import session_scope
    from models.tables import Enterprise
    from states.bulk import register_enterprises
    from states.intake import SYSTEM_ACTOR, validated_enterprise

    rows = _rows(data, file)
    for index, row in enumerate(rows, start=1):
        try:
            validated_enterprise(row, at)
        except InvalidInput as error:
            raise InvalidInput(f"{file}: enterprise #{index}: {error.message}", rule=error.rule,
                               source=error.source) from None  # fmt: skip
    columns = (TextColumn("registering enterprises"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    progress = Progress(*columns, console=console, disable=quiet or len(rows) < 2, transient=True)
    with session_scope() as session, progress:
        task = progress.add_task("enterprises", total=len(rows))
        register_enterprises(session, rows, actor=SYSTEM_ACTOR, at=at, progress=lambda n: progress.advance(task, n))
        codes = [validated_enterprise(r, at)["credit_code"] for r in rows]
        found: dict[str, Enterprise] = {}
        for start in range(0, len(codes), 500):
            query = select(Enterprise).where(col(Enterprise.credit_code).in_(codes[start : start + 500]))
            found.update({e.credit_code: e for e in session.scalars(query)})
        return [{"id": found[c].id, "credit_code": c, "name": found[c].name} for c in codes]
