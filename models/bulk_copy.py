"""Many rows written inside the caller's transaction with PostgreSQL's COPY where the driver offers it, an
executemany elsewhere.

psycopg's executemany sends, prepares and reads back each row in its pipeline, and SQLAlchemy builds each
row's parameters; COPY streams the rows in one command, so a batch of 500 filings' audit events, mail
and row updates cost a fraction of the client time. Values go through the columns' own bind processors
(UTC instants, JSON), so a row is stored as an INSERT or UPDATE with parameters would store it.

A COPY can't skip a conflict or update a row, so for those the rows land in a temporary twin of the table
first (its columns without constraints, made once per connection, truncated after each use) and move with
one INSERT … SELECT or UPDATE … FROM.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Table, insert
from sqlmodel import Session

# Below this many rows one executemany is fewer round trips than a COPY (and, through a temporary table, the
# three statements around it): the one door's single transition queues one to three messages.
COPY_FROM = 20


def copies(session: Session, rows: Sequence[Any]) -> bool:
    """Whether these rows go by COPY: on PostgreSQL through psycopg, and enough of them to pay for it."""
    dialect = session.get_bind().dialect
    return len(rows) >= COPY_FROM and dialect.name == "postgresql" and dialect.driver == "psycopg"


def _copy(session: Session, table: Table, rows: Sequence[dict[str, Any]], target: str) -> None:
    """COPY `rows` (all with the keys of the first) into `target`, a table with `table`'s columns (and
    maybe more, whose values go as they are)."""
    connection = session.connection()
    dialect = connection.dialect
    columns = list(rows[0])
    processors = [table.c[name].type._cached_bind_processor(dialect) if name in table.c else None for name in columns]
    quoted = ", ".join(dialect.identifier_preparer.quote(name) for name in columns)
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY {target} ({quoted}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([p(row[n]) if p else row[n] for n, p in zip(columns, processors, strict=True)])


@contextmanager
def staged(session: Session, table: Table, rows: Sequence[dict[str, Any]], *, extra: str = "") -> Iterator[str]:
    """The rows COPYed into the temporary twin of `table` (with the `extra` select-list columns, e.g.
    `version AS old_version`); yields its quoted name to move them from, and empties it afterwards."""
    preparer = session.get_bind().dialect.identifier_preparer
    twin = preparer.quote(f"staged_{table.name}{'_x' if extra else ''}")
    connection = session.connection()
    columns = "*" + (f", {extra}" if extra else "")
    connection.exec_driver_sql(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {twin} AS SELECT {columns} FROM {preparer.format_table(table)} "
        "WITH NO DATA"
    )
    _copy(session, table, rows, twin)
    yield twin
    # TRUNCATE, not DELETE: nothing vacuums a temporary table, so deleted rows would pile up and be scanned by
    # every later batch. Not on an error: the transaction is lost anyway.
    connection.exec_driver_sql(f"TRUNCATE {twin}")


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT `rows` (dicts with the same keys) into `table`."""
    if not rows:
        return
    if copies(session, rows):
        _copy(session, table, rows, session.get_bind().dialect.identifier_preparer.format_table(table))
    else:
        session.connection().execute(insert(table), list(rows))


def insert_skipping(session: Session, table: Table, rows: Sequence[dict[str, Any]], *, key: str) -> int | None:
    """INSERT … ON CONFLICT (`key`) DO NOTHING of `rows` (dicts with the same keys, no two with the same
    key); returns how many rows were new. None where they don't go by COPY (`copies`): the caller inserts
    them its own way."""
    if not copies(session, rows):
        return None
    preparer = session.get_bind().dialect.identifier_preparer
    quoted = ", ".join(preparer.quote(name) for name in rows[0])
    with staged(session, table, rows) as twin:
        moved = session.connection().execution_options(preserve_rowcount=True).exec_driver_sql(
            f"INSERT INTO {preparer.format_table(table)} ({quoted}) SELECT {quoted} FROM {twin} "
            f"ON CONFLICT ({preparer.quote(key)}) DO NOTHING"
        )  # fmt: skip
        return int(moved.rowcount)
