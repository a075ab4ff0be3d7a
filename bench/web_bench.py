"""The web pages at 100,000 applications: server time p95 against a bare FastAPI page with one indexed query.

Data: the reminder sweep's (bench.sweep_bench._seed: the real 2025 season, 100,000 applications of 25,000
enterprises over Shanghai, Sichuan, Tianjin and every province). Each page is requested `REQUESTS` times
through an HTTP client (httpx via FastAPI's TestClient, in process: what is timed is the server's work)
after a warm-up; the row's seconds are the p95. Baseline: a bare FastAPI app whose one route runs one
indexed query (the count of one season's submitted applications, ix_application_season_state) and
returns a short HTML page. The target is p95 under 150 ms, on SQLite and on PostgreSQL: the PostgreSQL rows use a
throwaway database made through FACTORY_REVIEW_SCALE_ADMIN_URL (else FACTORY_REVIEW_TEST_PG_URL), a role that may
create databases; without one, or with the server unreachable, one line says so.

    .venv/bin/python -m bench.web_bench [size]
"""

from __future__ import annotations

import re
import statistics
import sys
import time
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlmodel import Session, col

from bench.common import fresh_database, postgres_admin, postgres_databases, row
from bench.sweep_bench import _seed
from models.tables import Application

REQUESTS = 60  # per page; the row's seconds are the p95 of the server time (Server-Timing header)
TARGET_MS = 150
PASSWORD = "bench password 2025"


def _p95(client: TestClient, url: str, n: int = REQUESTS) -> tuple[float, float]:
    """(server-time p95 from the Server-Timing header, round-trip p95 as the client saw it), seconds."""
    for _ in range(3):
        assert client.get(url).status_code == 200, url
    server, round_trip = [], []
    for _ in range(n):
        start = time.perf_counter()
        response = client.get(url)
        round_trip.append(time.perf_counter() - start)
        assert response.status_code == 200, url
        server.append(float(response.headers["server-timing"].partition("dur=")[2]) / 1000)
    return statistics.quantiles(server, n=20)[18], statistics.quantiles(round_trip, n=20)[18]


def _bare(engine: Any) -> TestClient:
    from web.timing import ServerTiming

    app = FastAPI()
    app.add_middleware(ServerTiming)

    @app.get("/")
    def page() -> HTMLResponse:
        with Session(engine) as session:
            count = session.execute(
                select(func.count(col(Application.id))).where(
                    col(Application.season) == "2025", col(Application.state) == "submitted"
                )
            ).scalar_one()
        return HTMLResponse(f"<p>{count}</p>")

    return TestClient(app)


def _signed_in(app: Any, email: str) -> TestClient:
    client = TestClient(app)
    page = client.get("/login")
    found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
    assert found is not None
    client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": found.group(1)})
    return client


def _measure(engine: Any, size: int, backend: str) -> list[dict[str, Any]]:
    """Seed `size` applications, grant the readers, then time each page against the bare page (same engine)."""
    from web.app import create_app
    from web.demo_accounts import grant

    _seed(engine, size)
    if engine.dialect.name == "postgresql":  # what autovacuum would do after a bulk load, done now
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    at = datetime.now(UTC)
    with Session(engine) as session:
        for name, role, unit in (("district", "local_officer", "sh.qingpu"), ("province", "local_officer", "sc"),
                                 ("ministry", "ministry_officer", "miit")):  # fmt: skip
            grant(session, email=f"{name}@bench.example.cn", password=PASSWORD, role=role, unit=unit,
                  display_name=name, at=at)  # fmt: skip
        middle = session.execute(
            select(col(Application.id)).where(col(Application.state) == "submitted").limit(1).offset(size // 4)
        ).scalar_one()
    app = create_app(engine=engine)
    base, base_trip = _p95(_bare(engine), "/")
    pages = [
        ("inbox, district officer (sh.qingpu)", "district", "/inbox"),
        ("inbox, provincial officer (sc), all in scope", "province", "/inbox?view=all"),
        ("inbox, ministry, page 20", "ministry", "/inbox?page=20"),
        ("inbox, ministry, search by credit code", "ministry", "/inbox?view=all&q=910000000000000777"),
        ("application page (ministry)", "ministry", f"/applications/{middle}"),
    ]
    rows = []
    for label, who, url in pages:
        p95, trip = _p95(_signed_in(app, f"{who}@bench.example.cn"), url)
        verdict = "ok" if p95 * 1000 < TARGET_MS else f"OVER {TARGET_MS} ms"
        rows.append(row(f"web server p95 {label}, {backend} [{verdict}; round trip {trip * 1000:.0f} ms]", size,
                        p95, f"bare FastAPI page, one indexed query, {backend} (round trip {base_trip * 1000:.0f} ms)",
                        base, "applications"))  # fmt: skip
    return rows


def _not_measured(why: str) -> list[dict[str, Any]]:
    return [{"name": f"web pages on PostgreSQL: not measured ({why})", "size": 0, "unit": "applications",
             "seconds": None, "baseline": None, "baseline_seconds": None}]  # fmt: skip


def _postgres(size: int) -> list[dict[str, Any]]:
    """The same pages on a throwaway PostgreSQL database (bench.common.postgres_databases, as the HTTP submit
    bench does), dropped afterwards; a line saying why when there is no server to use."""
    admin, why = postgres_admin()
    if admin is None:
        return _not_measured(why)
    with postgres_databases(admin, ["web"]) as engines:
        return _measure(engines["web"], size, "PostgreSQL")


def run(size: int = 100_000) -> list[dict[str, Any]]:
    with fresh_database("web") as engine:
        rows = _measure(engine, size, "SQLite")
    return rows + _postgres(size)


def main() -> None:
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    for r in run(size):
        if r.get("seconds") is None:
            print(r["name"])
            continue
        print(f"{r['benchmark']:<70} {r['seconds'] * 1000:>7.1f} ms  baseline {r['baseline_seconds'] * 1000:.1f} ms"
              f"  ratio {r['ratio']}x")  # fmt: skip


if __name__ == "__main__":
    main()
