"""A batch's changed rows written with one executemany UPDATE per set of changed columns, each row's
optimistic version checked as the ORM checks it.

The ORM's flush writes each row of a mapper with `version_id_col` (`Application`) with a statement of its
own — SQLAlchemy 2.0 never batches versioned UPDATEs — so a batch of 500 transitions cost 500 round trips.
Here the batch's rows go out as `UPDATE … SET <changed>, version = :new WHERE id = :id AND version = :old`
with executemany (on PostgreSQL one `UPDATE … FROM` the rows COPYed, each matched on id and old version),
and a row count short of the rows sent raises `StaleDataError`, as the flush would
(`states.bulk` turns it into `ConcurrentUpdate`). The written values are then committed on the objects, so
the flush that follows has nothing left to write for them. Column `onupdate` defaults (`remind_at`) are
applied by the UPDATE as they are by the ORM's.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Table, and_, bindparam, inspect, update
from sqlalchemy.orm import Mapper
from sqlalchemy.orm.attributes import get_history
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session

from models.bulk_copy import copies, staged

# Bind names of the key and the old version: no column of a versioned table may be named like them.
_ID, _OLD = "_row_id", "_row_old_version"


def changed_columns(mapper: Mapper[Any], row: Any) -> dict[str, Any]:
    """What the flush would SET for this row: the column attributes whose value differs from the loaded
    one (an attribute set to the value it had is not written, as the ORM's history says)."""
    state = inspect(row)
    return {key: state.dict[key] for key in state.committed_state
            if key in mapper.columns and get_history(row, key).added}  # fmt: skip


def write_versioned(session: Session, model: type[Any], rows: Iterable[Any]) -> bool:
    """UPDATE the changed `rows` (persistent objects of `model`, versioned and keyed by `id`), one
    executemany per set of changed columns. Returns False, writing nothing, when the driver can't count
    the rows an executemany matched or the version is made by the server: the caller's flush then writes
    them one by one."""
    mapper: Mapper[Any] = inspect(model)
    if not (session.get_bind().dialect.supports_sane_multi_rowcount and callable(mapper.version_id_generator)):
        return False
    groups: dict[tuple[str, ...], list[tuple[Any, dict[str, Any]]]] = {}
    for row in rows:
        changed = changed_columns(mapper, row)
        if changed:
            groups.setdefault(tuple(sorted(changed)), []).append((row, changed))
    for columns, members in groups.items():
        _update_group(session, mapper, columns, members)
    return True


def _update_group(session: Session, mapper: Mapper[Any], columns: tuple[str, ...],
                  members: list[tuple[Any, dict[str, Any]]]) -> None:  # fmt: skip
    version = mapper.version_id_col
    assert version is not None, f"{mapper.class_.__name__} has no version column"
    table: Table = mapper.local_table  # type: ignore[assignment]
    key = mapper.get_property_by_column(version).key
    names = {attr: mapper.columns[attr].key for attr in (*columns, key)}  # attribute → column
    statement = (update(table).where(and_(table.c.id == bindparam(_ID), version == bindparam(_OLD)))
                 .values({column: bindparam(column) for column in names.values()}))  # fmt: skip
    params, versions = [], []
    for row, changed in members:
        old = getattr(row, key)
        versions.append(mapper.version_id_generator(old))  # type: ignore[misc,operator]  # callable: checked above
        params.append({**{names[a]: v for a, v in changed.items()}, names[key]: versions[-1], _ID: row.id, _OLD: old})
    matched = _copied_update(session, table, version.name, params)
    if matched is None:
        matched = session.connection().execute(statement, params).rowcount
    if matched != len(params):
        raise StaleDataError(f"UPDATE statement on table '{table.name}' expected to update {len(params)} row(s); "
                             f"{matched} were matched.")  # fmt: skip
    identity_map = session.identity_map
    for row, new in zip((row for row, _ in members), versions, strict=True):
        # What the ORM's flush does after its UPDATE (`persistence._postfetch`, `Session._register_persistent`):
        # the new version on the row, every value committed, the row no longer dirty — so the flush that
        # follows skips it instead of finding, row by row, that nothing is left to write.
        state = inspect(row)
        state.dict[key] = new
        state._commit_all(state.dict, identity_map)


def _copied_update(session: Session, table: Table, version: str, params: list[dict[str, Any]]) -> int | None:
    """The group's UPDATE as one UPDATE … FROM the rows COPYed into a temporary table (`models.bulk_copy`),
    each row still matched on its id and old version; returns the rows matched. None where the rows don't
    go by COPY (`copies`) or a column's `onupdate` is not a plain value: the caller's executemany does it then.

    psycopg's executemany sent, prepared and read back each of a batch's 500 UPDATEs in turn."""
    if not copies(session, params):
        return None
    written = set(params[0])
    defaults = {c.name: c.onupdate for c in table.c if c.onupdate is not None and c.name not in written}
    if any(not getattr(d, "is_scalar", False) for d in defaults.values()):
        return None
    rows = [{**p, **{name: d.arg for name, d in defaults.items()}} for p in params]  # type: ignore[attr-defined]
    preparer = session.get_bind().dialect.identifier_preparer
    quote, target = preparer.quote, preparer.format_table(table)
    assignments = ", ".join(f"{quote(c)} = s.{quote(c)}" for c in rows[0] if c not in (_ID, _OLD))
    with staged(session, table, rows, extra=f"{quote('id')} AS {_ID}, {quote(version)} AS {_OLD}") as twin:
        return int(session.connection().execution_options(preserve_rowcount=True).exec_driver_sql(
            f"UPDATE {target} AS t SET {assignments} FROM {twin} AS s "
            f"WHERE t.{quote('id')} = s.{_ID} AND t.{quote(version)} = s.{_OLD}").rowcount)  # fmt: skip
