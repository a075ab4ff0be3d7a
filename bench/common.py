"""Shared helpers for the benchmarks: a fresh migrated SQLite file, a bare enterprise row, throwaway PostgreSQL
databases, a timer."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.credit_code import make_credit_code
from models.database import make_engine, migrate
from models.tables import Enterprise
from states.system import mark_replay


@contextmanager
def fresh_database(name: str) -> Iterator[Engine]:
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
        migrate(engine)
        mark_replay(engine)  # the bench replays a season: a replay database
        try:
            yield engine
        finally:
            engine.dispose()


def qingpu_enterprise(session: Session, serial: str, name: str, at: datetime, **fields: Any) -> Enterprise:
    """A 青浦 装备制造 enterprise written as a bare row and flushed: no service call, no actor, no audit event
    (the transition bench and the audit-chain tests build their own rows on it)."""
    enterprise = Enterprise(
        credit_code=make_credit_code("310118", serial),
        name=name,
        province="sh",
        district="sh.qingpu",
        industry="装备制造",
        created_at=at,
        **fields,
    )
    session.add(enterprise)
    session.flush()
    return enterprise


def postgres_admin() -> tuple[str | None, str]:
    """(the URL of a PostgreSQL role that may create databases, "") or (None, why there is none to use):
    FACTORY_REVIEW_SCALE_ADMIN_URL, else FACTORY_REVIEW_TEST_PG_URL; unset or unreachable says so."""
    from sqlalchemy import create_engine
    from sqlalchemy.exc import OperationalError

    admin = os.environ.get("FACTORY_REVIEW_SCALE_ADMIN_URL") or os.environ.get("FACTORY_REVIEW_TEST_PG_URL")
    if not admin:
        return None, "FACTORY_REVIEW_SCALE_ADMIN_URL and FACTORY_REVIEW_TEST_PG_URL unset"
    probe = create_engine(admin)
    try:
        with probe.connect():
            pass
    except OperationalError as exc:
        return None, f"PostgreSQL unreachable: {str(exc.orig).splitlines()[0][:120]}"
    finally:
        probe.dispose()
    return admin, ""


@contextmanager
def postgres_databases(admin: str, names: list[str]) -> Iterator[dict[str, Engine]]:
    """Throwaway PostgreSQL databases made through `admin` (replay.scale.databases), migrated and marked as
    replays like `fresh_database`'s; disposed and dropped afterwards."""
    from replay.scale import databases

    with databases(admin, names) as urls:
        engines = {name: make_engine(url) for name, url in urls.items()}
        try:
            for engine in engines.values():
                migrate(engine)
                mark_replay(engine)
            yield engines
        finally:
            for engine in engines.values():
                engine.dispose()


def copy_database(admin_url: str, source: Engine, target: Engine) -> None:
    """Make `target`'s database a copy of `source`'s (CREATE DATABASE … TEMPLATE): two sides of a bench start
    from the same rows, prepared once. Both engines' connections are closed first (a template has no other
    users); the engines connect again when next used."""
    from sqlalchemy import create_engine

    from models import database

    source.dispose()
    target.dispose()
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        database.drop_database(admin, str(target.url.database))
        database.copy_database(admin, str(target.url.database), template=str(source.url.database))
    finally:
        admin.dispose()


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def row(name: str, size: int, seconds: float, baseline: str, baseline_seconds: float, unit: str) -> dict[str, Any]:
    """One line of the ratio table: how many times slower than the baseline measured in the same run."""
    return {
        "benchmark": name,
        "size": size,
        "seconds": round(seconds, 3),
        "per_second": round(size / seconds, 1) if seconds else None,
        "unit": unit,
        "baseline": baseline,
        "baseline_seconds": round(baseline_seconds, 3),
        "ratio": round(seconds / baseline_seconds, 2) if baseline_seconds else None,
    }
