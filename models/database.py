"""Engine and sessions. SQLite by default (a WAL file under the data directory), any URL otherwise."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine, ExceptionContext
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, create_engine

from models.errors import ConcurrentUpdate, DatabaseUnavailable, NotFound, SchemaUnknown
from models.settings import get_settings

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "DatabaseUnavailable",
    "get_engine",
    "make_engine",
    "migrate",
    "must_get",
    "read_session",
    "retry_on_disconnect",
    "session_scope",
    "unit_of_work",
]

T = TypeVar("T")


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys, a busy timeout and write-ahead locking.

    SQLite transactions start with BEGIN IMMEDIATE: a writer takes the write lock when it starts, so two
    processes can't both read version N and then collide on upgrade (SQLITE_BUSY_SNAPSHOT). The
    optimistic version check in the one door still decides who wins.
    """
    url = url or get_settings().resolved_database_url
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False}, **kwargs)
        _configure_sqlite(engine)
        _typed_disconnects(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    engine = create_engine(url, **kwargs)
    _typed_disconnects(engine)
    return engine


def _typed_disconnects(engine: Engine) -> None:
    """A dropped connection surfaces as `DatabaseUnavailable` (a `ReviewError`), not a driver error.

    SQLAlchemy still invalidates the connection (and the pool, for a server restart) after this hook, so
    the next checkout gets a fresh connection; the session's rollback after the error is a no-op."""

    @event.listens_for(engine, "handle_error")
    def _on_error(context: ExceptionContext) -> BaseException | None:
        if not context.is_disconnect:
            return None
        original = context.original_exception
        first_line = str(original).strip().splitlines()[0] if str(original).strip() else type(original).__name__
        return DatabaseUnavailable(
            f"the database connection was lost during the operation ({first_line}); nothing was applied "
            "unless the commit had already reached the server: re-read and try again",
            rule="database-unavailable",
            source=f"{engine.dialect.name} connection",
        )


def retry_on_disconnect(operation: Callable[[], T], *, attempts: int = 3, delay: float = 0.2) -> T:
    """Run an all-or-nothing operation (e.g. one `transition`) again after a dropped connection.

    Safe for the one door's state-changing events: a retry after a commit that did reach the server is
    refused by the lifecycle (the state moved on), so nothing is applied twice. Each attempt must open
    its work afresh (the session was rolled back; the next statement checks out a new connection)."""
    for attempt in range(1, attempts + 1):
        try:
            return operation()
        except DatabaseUnavailable:
            if attempt == attempts:
                raise
            time.sleep(delay * attempt)
    raise AssertionError("unreachable")


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A `read_only` connection (e.g. the CLI reading the database's mode) never waits for the write lock.
        read_only = connection.get_execution_options().get("read_only")
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


@lru_cache(maxsize=4)
def get_engine(url: str | None = None) -> Engine:
    return make_engine(url)


@contextmanager
def read_session(engine: Engine | None = None) -> Iterator[Session]:
    """A session for reads only: on SQLite it takes no write lock, so it can be opened while another
    session of the same process holds one (it sees what was committed)."""
    with (engine or get_engine()).connect() as connection:
        connection.execution_options(read_only=True)
        with Session(bind=connection) as session:
            yield session


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session that is closed at the end; callers commit (the one door commits its own work)."""
    with Session(engine or get_engine(), expire_on_commit=False) as session:
        yield session


def must_get(session: Session, model: type[T], key: Any, what: str, *, rule: str = "not-found", **options: Any) -> T:
    """The `model` row whose primary key is `key`, or `NotFound` ("{what} {key} does not exist"). `options`
    go to `Session.get` (`populate_existing=True` re-reads a row the session already holds)."""
    row = session.get(model, key, **options)
    if row is None:
        raise NotFound(f"{what} {key} does not exist", rule=rule)
    return row


@contextmanager
def unit_of_work(session: Session, what: str = "the record") -> Iterator[Session]:
    """All or nothing: the block's writes are committed at its end, or rolled back when it raises (and the
    error goes on). A stale version or a lock conflict becomes `ConcurrentUpdate` naming `what`."""
    try:
        yield session
        session.commit()
    except StaleDataError as exc:
        session.rollback()
        raise ConcurrentUpdate(
            f"{what} was changed by someone else; try again",
            rule="concurrent-update",
            source="optimistic lock (version)",
        ) from exc
    except OperationalError as exc:
        session.rollback()
        if _is_conflict(exc):
            raise ConcurrentUpdate(
                f"{what} is locked by another writer; try again", rule="concurrent-update", source="row lock"
            ) from exc
        raise
    except BaseException:
        session.rollback()
        raise


def _is_conflict(exc: OperationalError) -> bool:
    text = str(exc.orig).lower()
    return "could not serialize" in text or "deadlock" in text or "database is locked" in text


def alembic_config(connection: Connection) -> Config:
    """Alembic's configuration for our migrations, run on `connection` (in its transaction)."""
    from alembic.config import Config

    here = Path(__file__).resolve().parent.parent / "migrations"
    config = Config(str(here / "alembic.ini"))
    config.set_main_option("script_location", str(here))
    config.attributes["connection"] = connection
    return config


def migrate(engine: Engine | None = None) -> None:
    """Bring the schema to the newest Alembic revision (idempotent)."""
    from alembic import command
    from alembic.util.exc import CommandError

    engine = engine or get_engine()
    with engine.begin() as connection:
        config = alembic_config(connection)
        try:
            command.upgrade(config, "head")
        except CommandError as exc:
            if "Can't locate revision" not in str(exc):
                raise
            raise SchemaUnknown(
                f"the database's schema revision is unknown to this build ({exc}): a database made by a pre-release "
                "build (before the 0012 baseline) is made again with `factory-review init` on a new database; "
                "one made by a newer build needs that build",
                source="migrations/versions/0012_baseline.py",
            ) from None


def drop_database(admin: Engine, name: str, *, attempts: int = 40) -> None:
    """DROP DATABASE … WITH (FORCE) on PostgreSQL (`admin`: an AUTOCOMMIT engine), retried: on PostgreSQL 15
    an autovacuum worker inside the database makes FORCE fail ("must be a member of the role whose process
    is being terminated"); the worker leaves in a moment."""
    _retried(admin, f"DROP DATABASE IF EXISTS {_quoted(name)} WITH (FORCE)", attempts,
             (OperationalError, ProgrammingError))  # fmt: skip


def copy_database(admin: Engine, name: str, *, template: str, attempts: int = 40) -> None:
    """CREATE DATABASE `name` as a copy of `template` (`admin`: an AUTOCOMMIT engine), retried: PostgreSQL
    refuses while anyone (an autovacuum worker, a connection closing) is still in the template."""
    _retried(admin, f"CREATE DATABASE {_quoted(name)} TEMPLATE {_quoted(template)}", attempts, (OperationalError,))


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _retried(admin: Engine, statement: str, attempts: int, errors: tuple[type[Exception], ...]) -> None:
    for attempt in range(attempts):
        try:
            with admin.connect() as connection:
                connection.execute(text(statement))
            return
        except errors:
            if attempt == attempts - 1:
                raise
            time.sleep(0.25)
