"""Shared fixtures: a real, migrated database per test, on every backend available here.

- SQLite: one migrated template file per session, copied for each test (much faster than migrating).
- PostgreSQL, when `FACTORY_REVIEW_TEST_PG_URL` is set (scripts/test.sh sets it after starting the local
  cluster): one migrated template database per session, and `CREATE DATABASE … TEMPLATE` per test,
  dropped afterwards. A role without CREATEDB falls back to the given database, emptied between tests.

`db_url`, `engine` and `session` are parametrised over the backends, so every test that takes one of
them runs on SQLite and on PostgreSQL: `pytest -m "not postgres"` keeps to SQLite.
`app_db` points the application's own settings (`DATABASE_URL`, `get_engine()`) at the test database,
for code that opens its own sessions (the CLI, flows).
"""

from __future__ import annotations

import itertools
import os
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

PG_URL_ENV = "FACTORY_REVIEW_TEST_PG_URL"

# No example database in the work tree; no per-example deadline (real databases vary in speed).
# The default profile is derandomized, so CI sees the same examples on every run; hunt for new failures
# with `pytest --hypothesis-profile=explore tests/reliability/test_bad_input.py` (random, 5x examples).
_COMMON: dict[str, object] = {
    "database": None,
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}
settings.register_profile("factory-review", derandomize=True, **_COMMON)  # type: ignore[arg-type]
settings.register_profile("explore", derandomize=False, max_examples=2000, **_COMMON)  # type: ignore[arg-type]
settings.load_profile("factory-review")


def _pg_url() -> str | None:
    url = os.environ.get(PG_URL_ENV, "").strip()
    if not url:
        return None
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def backends() -> list[object]:
    """The backend parameters: sqlite always, postgresql (marked `postgres`) when a server is given."""
    params: list[object] = [pytest.param("sqlite", id="sqlite")]
    if _pg_url():
        params.append(pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres))
    return params


def _dispose_all() -> None:
    """Drop the application's cached settings and engines (they read DATABASE_URL once)."""
    from models.database import get_engine
    from models.settings import get_settings

    for engine in _cached_engines():
        engine.dispose()
    get_engine.cache_clear()
    get_settings.cache_clear()


def _cached_engines() -> list[Engine]:
    # lru_cache keeps no public view of its values; call sites are few, so track what we created.
    return list(_APP_ENGINES)


_APP_ENGINES: list[Engine] = []


# ---- SQLite -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, checkpointed so the main file alone is the whole database."""
    from models.database import make_engine, migrate

    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw.close()
    return path


# ---- PostgreSQL ---------------------------------------------------------------------------------


@dataclass
class PgServer:
    base_url: str  # the database FACTORY_REVIEW_TEST_PG_URL names
    template: str | None  # migrated template database, or None when the role can't create databases
    admin: Engine  # AUTOCOMMIT connection to the base database (CREATE/DROP DATABASE)
    counter: itertools.count[int]

    def url_for(self, database: str) -> str:
        return make_url(self.base_url).set(database=database).render_as_string(hide_password=False)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    from sqlalchemy import create_engine

    from models.database import drop_database, make_engine, migrate

    url = _pg_url()
    if url is None:
        pytest.skip(f"{PG_URL_ENV} is not set")
    admin = create_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    base = make_url(url).database or "postgres"
    with admin.connect() as connection:
        can_create = bool(
            connection.execute(
                text("SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user")
            ).scalar()
        )
    template: str | None = None
    if can_create:
        template = f"{base}_tpl_{os.getpid()}"[:63]
        drop_database(admin, template)
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {_quote(template)}"))
        engine = make_engine(make_url(url).set(database=template).render_as_string(hide_password=False))
        migrate(engine)
        engine.dispose()
        with admin.connect() as connection:
            # No one (autovacuum included) may sit in the template while it is being copied.
            connection.execute(text(f"ALTER DATABASE {_quote(template)} ALLOW_CONNECTIONS false"))
    else:
        engine = make_engine(url)
        migrate(engine)
        engine.dispose()
    server = PgServer(url, template, admin, itertools.count(1))
    yield server
    if template is not None:
        drop_database(admin, template)
    admin.dispose()


def _empty_pg(url: str) -> None:
    """Fallback isolation: empty every table of the given database (role without CREATEDB)."""
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.begin() as connection:
        tables = (
            connection.execute(
                text(
                    "SELECT tablename FROM pg_tables"
                    " WHERE schemaname = current_schema() AND tablename <> 'alembic_version'"
                )
            )
            .scalars()
            .all()
        )
        if tables:
            connection.execute(text(f"TRUNCATE {', '.join(_quote(t) for t in tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def pg_database(pg_server: PgServer) -> Iterator[str]:
    """A fresh migrated PostgreSQL database for one test (its URL)."""
    from models.database import copy_database, drop_database

    if pg_server.template is None:
        _empty_pg(pg_server.base_url)
        yield pg_server.base_url
        return
    name = f"{pg_server.template}_{next(pg_server.counter)}"[:63]
    copy_database(pg_server.admin, name, template=pg_server.template, attempts=20)
    try:
        yield pg_server.url_for(name)
    finally:
        drop_database(pg_server.admin, name)



# ---- the fixtures tests use ---------------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def _assembled() -> None:
    """The system as the CLI, the flows and the web app assemble it (programmes.wiring, the one root)."""
    from programmes.wiring import assemble

    assemble()


@pytest.fixture(autouse=True)
def _cheap_password_hashing(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id at argon2-cffi's CHEAPEST parameters in this process: the same hash format and checks,
    without ~0.12 s per grant and sign-in (the web worlds grant dozens of accounts per test). A test
    marked `real_password_cost` keeps the production default (RFC 9106 low-memory)."""
    if request.node.get_closest_marker("real_password_cost"):
        return
    from argon2 import PasswordHasher
    from argon2.profiles import CHEAPEST

    from states import passwords

    monkeypatch.setattr(passwords, "HASHER", PasswordHasher.from_parameters(CHEAPEST))
    monkeypatch.setattr(passwords, "_DUMMY", [])  # the dummy hash is made again at this cost


@pytest.fixture(autouse=True)
def _no_event_loop_left_running(request: pytest.FixtureRequest) -> Iterator[None]:
    """A browser test (Playwright's sync API, one browser per session) leaves its event loop marked running
    in the main thread; a later test in the same pytest-xdist worker that calls Prefect's sync API
    (`resume_flow_run`, `read_flow_run_input`) would get an un-awaited coroutine back. Each test runs with no
    loop marked, as a real process does; the browser's is put back afterwards."""
    import asyncio

    loop = asyncio._get_running_loop()
    if loop is None or "browser" in request.fixturenames:  # a browser test drives the loop itself
        yield
        return
    asyncio._set_running_loop(None)
    try:
        yield
    finally:
        asyncio._set_running_loop(loop)


@pytest.fixture(autouse=True)
def _environment_put_back() -> Iterator[None]:
    """Whatever a test sets in os.environ (a Prefect server's address, a database URL) ends with it: a
    later test, or the subprocess it starts, never talks to a server that is gone."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(params=backends())
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a fresh, migrated database of the test's backend."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "factory-review.db"
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"
    return str(request.getfixturevalue("pg_database"))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    from models.database import make_engine

    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def app_db(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """Point the application's settings at the test database (CLI, flows, get_engine()).

    It is a replay database (`init --replay`), so `--now` and `--as` work as the tests replay a season;
    tests of production behaviour take `production_db` (tests/states/test_accounts_cli.py)."""
    _mark_replay(db_url)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # never the developer's own sign-in
    monkeypatch.delenv("FACTORY_REVIEW_TOKEN", raising=False)
    monkeypatch.setenv("FACTORY_REVIEW_DATA_DIR", str(tmp_path / "data"))
    _dispose_all()
    from models import database

    original = database.make_engine

    def tracked(url: str | None = None, **kwargs: object) -> Engine:
        created = original(url, **kwargs)  # type: ignore[arg-type]
        _APP_ENGINES.append(created)
        return created

    monkeypatch.setattr(database, "make_engine", tracked)
    yield db_url
    _dispose_all()
    _APP_ENGINES.clear()


def _mark_replay(db_url: str) -> None:
    from models.database import make_engine
    from states.system import mark_replay

    engine = make_engine(db_url)
    mark_replay(engine)
    engine.dispose()


# ---- figures for the closing note ---------------------------------------------------------------


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`sqlite_only` tests run on SQLite alone (the PostgreSQL copy is deselected, and counted)."""
    dropped = [i for i in items if i.get_closest_marker("sqlite_only") and _backend_of(i) == "postgresql"]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [i for i in items if i not in set(dropped)]


def _backend_of(item: pytest.Item) -> object:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("backend") if callspec is not None else None


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Under pytest-xdist a worker hands its figures to the controller, which prints them all."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is None:
        return
    from tests.reliability.figures import FIGURES

    workeroutput["figures"] = FIGURES.as_data()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    """The controller's side of `pytest_sessionfinish`: add a finished worker's figures to its own."""
    from tests.reliability.figures import FIGURES

    data = getattr(node, "workeroutput", {}).get("figures")
    if data:
        FIGURES.merge(data)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the reliability figures (concurrency, faults, hypothesis examples) and save them."""
    try:
        from tests.reliability.figures import FIGURES
    except ImportError:
        return
    lines = FIGURES.lines()
    if not lines:
        return
    terminalreporter.write_sep("=", "reliability figures")
    for line in lines:
        terminalreporter.write_line(line)
    out = Path(os.environ.get("FACTORY_REVIEW_REPORT", "out/reliability-report.txt"))
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("\n".join(lines) + "\n", encoding="utf-8")
        terminalreporter.write_line(f"(written to {out})")
    except OSError:
        pass
