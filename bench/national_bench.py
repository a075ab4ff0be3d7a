"""Basic filings at national scale: registration → submission → district review → filing (Tianjin's 基础级
备案 track, TJ §3), through the bulk door, against Core `executemany` of the same rows.

Ours, per chunk of enterprises: `register_enterprises`, `create_drafts`, then `transition_many` for
`submit` (the enterprise), `recommend` (its district) and `file` (the city) — every row validated,
authorised, guarded, audited, chained and its mail queued. Baseline: every row ours wrote (enterprise,
actor, audit_chain, application in its final state, audit_event, outbox_message), streamed back and
inserted into a fresh database with `executemany`, batches of the same size; only the inserts are timed.

`python -m bench.national_bench --size 500000 --url postgresql+psycopg://… --raw-url …` (what
`make bench-national` runs on a throwaway PostgreSQL database); without URLs, SQLite files in a
temporary folder. Peak RSS is the process's (`ru_maxrss`) at the end of our run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bench.common import row
from models.tables import Actor, Application, AuditChain, AuditEvent, Enterprise, OutboxMessage

SIZE = int(os.environ.get("BENCH_NATIONAL", "2000"))
CHUNK = 10_000  # enterprises through every stage at a time: what bounds memory, not the batch
BATCH = 500
TABLES = (Enterprise, Actor, AuditChain, Application, AuditEvent, OutboxMessage)
DISTRICTS = ("tj.binhai", "tj.xiqing", "tj.wuqing", "tj.beichen", "tj.dongli", "tj.jinnan", "tj.baodi", "tj.jinghai")


def _steps() -> list[tuple[str, Any, str]]:
    from replay.synthetic import at

    # (event, instant, who): before the 07-18 submission deadline, the district's 07-20, the city's filing.
    return [("submit", at(date(2025, 7, 15), 10), "applicant"), ("recommend", at(date(2025, 7, 20), 14), "district"),
            ("file", at(date(2025, 8, 15), 10), "city")]  # fmt: skip


def _enterprise(season: Any, n: int) -> dict[str, Any]:
    from models.credit_code import make_credit_code
    from replay.synthetic import INDUSTRIES, division_of

    district = DISTRICTS[n % len(DISTRICTS)]
    return {"credit_code": make_credit_code(division_of(season, district), f"NB{n:07d}"),
            "name": f"基础级企业{n:06d}有限公司", "province": "tj", "district": district,
            "industry": INDUSTRIES[n % len(INDUSTRIES)], "recognitions": [], "contact_name": f"联系人{n}",
            "contact_email": f"basic{n:06d}@enterprise.example.cn", "contact_phone": f"138{n:08d}"}  # fmt: skip


def _content(template: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    return {**template, "credit_code": data["credit_code"], "title": f"{data['name']} {template['title']}",
            "contact_name": data["contact_name"], "contact_mobile": data["contact_phone"]}  # fmt: skip


def _officers(session: Session, season: Any) -> dict[str, Actor]:
    from models.enums import Role
    from states.intake import add_actor

    units = [*DISTRICTS, "tj"]
    return {u: add_actor(session, name=f"{season.unit(u).name_zh} 审核员", role=Role.LOCAL_OFFICER, unit=u,
                         email=f"officer.{u.replace('.', '-')}@gov.example.cn") for u in units}  # fmt: skip


def _actor(who: str, data: dict[str, Any], applicants: dict[str, Actor], officers: dict[str, Actor]) -> Actor:
    return {"applicant": lambda: applicants[data["credit_code"]], "district": lambda: officers[data["district"]],
            "city": lambda: officers["tj"]}[who]()  # fmt: skip


def _chunk(session: Session, rows: list[dict[str, Any]], template: dict[str, Any], officers: dict[str, Actor],
           counts: dict[str, int]) -> None:  # fmt: skip
    """One chunk of enterprises through every stage, each stage through the bulk door."""
    from models.enums import Role
    from replay.synthetic import at
    from states.bulk import Decision, Draft, create_drafts, register_enterprises, transition_many
    from states.intake import SYSTEM_ACTOR

    report = register_enterprises(session, rows, actor=SYSTEM_ACTOR, at=at(date(2025, 7, 1), 9), batch=BATCH)
    counts["enterprises"] += len(report.done)
    applicants = {r["credit_code"]: Actor(name=r["name"], email=r["contact_email"], role=Role.ENTERPRISE,
                                          unit=r["credit_code"]) for r in rows}  # fmt: skip
    drafts = []
    for r in rows:
        content = _content(template, r)
        drafts.append(Draft(enterprise_code=r["credit_code"], tier="basic", track="provincial", season="2025",
                            title=content["title"], content=content, pledge=template["pledge"],
                            actor=applicants[r["credit_code"]]))  # fmt: skip
    made = create_drafts(session, drafts, at=at(date(2025, 7, 2), 9), batch=BATCH)
    counts["drafts"] += len(made.done)
    ids = [(made.by_index[i], rows[i]) for i in sorted(made.by_index)]
    for event, when, who in _steps():
        decisions = [Decision(i, event, _actor(who, r, applicants, officers)) for i, r in ids]
        done = transition_many(session, decisions, at=when, batch=BATCH)
        counts[event] += len(done.done)
        counts["refused"] += len(done.refused)
        counts["mails"] += done.mails_queued


def ours(engine: Engine, size: int, progress: Any = None) -> dict[str, int]:
    """Every enterprise through registration → submission → filing; counts of what was done."""
    from programmes.application_file import ApplicationFile, example
    from programmes.season import get_season

    season = get_season("2025")
    template = ApplicationFile.model_validate(example("basic-tianjin")).model_dump(mode="json")
    counts = {"enterprises": 0, "drafts": 0, "refused": 0, "mails": 0, "submit": 0, "recommend": 0, "file": 0}
    with Session(engine, expire_on_commit=False) as session:
        officers = _officers(session, season)
        for start in range(0, size, CHUNK):
            rows = [_enterprise(season, n) for n in range(start, min(size, start + CHUNK))]
            _chunk(session, rows, template, officers, counts)
            if progress:
                progress(len(rows))
    return counts


def _copy(source: Engine, target: Engine) -> tuple[float, int]:
    """Stream every row ours wrote into the target with executemany; only the inserts are timed."""
    seconds, written = 0.0, 0
    with source.connect() as reader, target.connect() as writer:
        for table in TABLES:
            result = reader.execution_options(yield_per=BATCH).execute(select(table.__table__))  # type: ignore[union-attr]
            for part in result.partitions():
                values = [dict(r._mapping) for r in part]
                start = time.perf_counter()
                with writer.begin():
                    writer.execute(insert(table), values)
                seconds += time.perf_counter() - start
                written += len(values)
    return seconds, written


@contextmanager
def _engines(url: str | None, raw_url: str | None) -> Iterator[tuple[Engine, Engine]]:
    import tempfile
    from pathlib import Path

    from models.database import make_engine, migrate

    with tempfile.TemporaryDirectory(prefix="bench-national-") as folder:
        engines = (make_engine(url or f"sqlite:///{Path(folder) / 'ours.db'}"),
                   make_engine(raw_url or f"sqlite:///{Path(folder) / 'raw.db'}"))  # fmt: skip
        try:
            for engine in engines:
                migrate(engine)
            yield engines
        finally:
            for engine in engines:
                engine.dispose()


def measure(size: int, url: str | None = None, raw_url: str | None = None, progress: Any = None) -> dict[str, Any]:
    from programmes.season import get_season

    get_season("2025")  # the season file's load stays off the clock
    with _engines(url, raw_url) as (engine, raw_engine):
        start = time.perf_counter()
        counts = ours(engine, size, progress)
        seconds = time.perf_counter() - start
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        raw_seconds, rows_written = _copy(engine, raw_engine)
    return {"size": size, "seconds": round(seconds, 1), "per_second": round(size / seconds, 1),
            "raw_seconds": round(raw_seconds, 1), "raw_per_second": round(size / raw_seconds, 1),
            "share_of_raw_rate": round(raw_seconds / seconds, 3), "rows_written": rows_written,
            "peak_rss_mb": round(peak_mb), "database": engine.dialect.name, **counts}  # fmt: skip


def run(size: int = SIZE) -> list[dict[str, Any]]:
    """The `make bench` row: a small national run on SQLite (the 500,000 run is `make bench-national`)."""
    m = measure(size)
    return [row(f"basic filings, registration → filing ({m['database']}, {m['peak_rss_mb']} MB peak RSS)", size,
                m["seconds"], "Core executemany of the same rows", m["raw_seconds"], "enterprises")]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.national_bench", description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=500_000)
    parser.add_argument("--url", default=os.environ.get("BENCH_NATIONAL_URL"))
    parser.add_argument("--raw-url", default=os.environ.get("BENCH_NATIONAL_RAW_URL"))
    args = parser.parse_args(argv)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from programmes.wiring import assemble

    assemble()  # the composition root, as `python -m bench` does (the one door needs its guards)

    with Progress(TextColumn("basic filings"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=None) as bar:  # fmt: skip
        task = bar.add_task("filings", total=args.size)
        result = measure(args.size, args.url, args.raw_url, progress=lambda n: bar.advance(task, n))
    print(json.dumps(result, ensure_ascii=False, indent=1))
    print(f"{result['size']:,} basic filings on {result['database']}: {result['seconds']} s "
          f"({result['per_second']}/s); raw executemany {result['raw_seconds']} s ({result['raw_per_second']}/s); "
          f"ours = {result['share_of_raw_rate']:.0%} of the raw rate; peak RSS {result['peak_rss_mb']} MB")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
