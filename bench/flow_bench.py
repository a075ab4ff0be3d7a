"""The same batch of 1,000 applications submitted through the intake flow and through direct service calls,
in the same run, each into a fresh migrated SQLite file.

    direct    create_from_file + transition("submit") per application: the bare service calls
    batch     the intake flow's own functions without Prefect (adds the idempotency look-ups)
    flow      the `submission-intake` flow under Prefect (chunks of 100 per task run, heartbeat off)
    re-run    the same flow again with the same inputs: everything found done, nothing written

`ratio` is seconds / the direct calls' seconds. Run: `python -m bench.flow_bench [N]`.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="bench-prefect-"))
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

from bench.common import fresh_database
from models.clock import SHANGHAI
from models.credit_code import make_credit_code

SIZE = 1000
SEASON = "2026"
SUBMIT_AT = datetime(2026, 7, 1, 10, 0, tzinfo=SHANGHAI)


def application_files(n: int) -> list[dict[str, Any]]:
    """n valid excellent-tier files (the sample), one per enterprise of 青浦."""
    from programmes.application_file import example

    base = example("excellent")
    return [
        {**base, "season": SEASON, "credit_code": make_credit_code("310118", f"MA1B{i:05d}"), "title": f"项目{i}"}
        for i in range(n)
    ]


@contextmanager
def world(name: str, files: list[dict[str, Any]]) -> Iterator[None]:
    """A fresh database the application settings point at, with one registered enterprise per file."""
    from models.database import get_engine, session_scope
    from models.settings import get_settings
    from states.intake import SYSTEM_ACTOR, add_enterprise

    saved = os.environ.get("DATABASE_URL")
    with fresh_database(name) as engine:
        os.environ["DATABASE_URL"] = engine.url.render_as_string(hide_password=False)
        get_settings.cache_clear()
        get_engine.cache_clear()
        try:
            with session_scope() as session:
                for i, f in enumerate(files):
                    data = {
                        "credit_code": f["credit_code"],
                        "name": f"基准企业{i}有限公司",
                        "province": "sh",
                        "district": "sh.qingpu",
                        "industry": "汽车零部件",
                        "recognitions": [{"tier": "advanced", "year": 2024, "by": "sh"}],
                        "contact_name": f"联系人{i}",
                        "contact_email": f"e{i}@example.cn",
                    }
                    add_enterprise(session, data=data, actor=SYSTEM_ACTOR, at=SUBMIT_AT)
            yield
        finally:
            get_engine().dispose()
            get_engine.cache_clear()
            get_settings.cache_clear()
            if saved is None:
                os.environ.pop("DATABASE_URL", None)
            else:
                os.environ["DATABASE_URL"] = saved


def direct(path: str) -> int:
    """What a script would do: read the batch, validate, create, submit, one application after another."""
    from models.database import session_scope
    from programmes.application_file import ApplicationFile
    from programmes.wiring import assemble
    from states.intake import create_from_file, resolve_actor
    from states.service import transition

    assemble()
    done = 0
    with session_scope() as session:
        for raw in json.loads(Path(path).read_text(encoding="utf-8")):
            parsed = ApplicationFile.model_validate(raw)
            actor = resolve_actor(session, f"enterprise@{parsed.credit_code}")
            application = create_from_file(session, parsed, actor=actor, at=SUBMIT_AT)
            assert application.id is not None
            transition(session, application.id, "submit", actor=actor, at=SUBMIT_AT)
            done += 1
    return done


def batch(path: str) -> int:
    """The intake flow's functions, called without Prefect."""
    from flows.common import chunks, fire_batch
    from flows.drafts import Draft, create_drafts, submission_items
    from programmes.application_batch import read_batch

    actor = "system@system"
    valid, _bad = read_batch(applications=[], files=[], batch_file=path)
    drafts: list[Draft] = []
    for part in chunks(valid):
        drafts += [d for d in create_drafts.fn(part, actor, SUBMIT_AT) if isinstance(d, Draft)]
    outcomes = []
    for part in chunks(submission_items(drafts)):
        outcomes += fire_batch(part, actor, SUBMIT_AT)
    return sum(1 for o in outcomes if o.result == "applied")


def flow_run(path: str) -> int:
    """The flow, given the batch file (a unit's batch exceeds Prefect's 512 KB limit on inline parameters)."""
    from flows.intake import IntakeParams, submission_intake

    report: Any = submission_intake(IntakeParams(actor="system@system", now=SUBMIT_AT.isoformat(), batch_file=path))
    return int(report.count("applied"))


def _timed(fn: Callable[[], int]) -> tuple[float, int]:
    start = time.perf_counter()
    count = fn()
    return time.perf_counter() - start, count


@contextmanager
def _prefect() -> Iterator[None]:
    """Prefect with flow-run heartbeats off, its local server started before the clock runs."""
    from prefect import flow
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    from flows.prefect_server import prefect_api

    home = Path(os.environ["PREFECT_HOME"])
    with prefect_api(home, report=lambda _line: None), temporary_settings(
        updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}
    ):
        flow(name="bench-warm-up")(lambda: None)()
        yield


def run(size: int = SIZE) -> list[dict[str, Any]]:
    """Rows: name, size, seconds, ratio (to the direct service calls of the same run)."""
    import importlib

    from programmes.season import get_season

    importlib.import_module("flows.intake")  # warm-up: Prefect's ~2 s import and the season load stay off the clock
    get_season(SEASON)
    files = application_files(size)
    results: list[tuple[str, float, int]] = []
    with tempfile.TemporaryDirectory(prefix="bench-intake-") as folder:
        path = str(Path(folder) / "batch.json")
        Path(path).write_text(json.dumps(files, ensure_ascii=False, default=str), encoding="utf-8")
        with world("direct", files):
            results.append(("direct service calls", *_timed(lambda: direct(path))))
        with world("batch", files):
            results.append(("intake functions, no Prefect", *_timed(lambda: batch(path))))
        with _prefect(), world("flow", files):
            results.append(("submission-intake flow", *_timed(lambda: flow_run(path))))
            results.append(("submission-intake flow, re-run", *_timed(lambda: flow_run(path))))
    base = results[0][1]
    rows = []
    for name, seconds, applied in results:
        rows.append(
            {
                "name": name,
                "size": size,
                "applied": applied,
                "seconds": round(seconds, 3),
                "per_second": round(size / seconds, 1) if seconds else None,
                "ratio": round(seconds / base, 2) if base else None,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    size = int(args[0]) if args else SIZE
    rows = run(size)
    print(f"{'benchmark':<34}{'size':>6}{'applied':>9}{'seconds':>10}{'per s':>9}{'ratio':>8}")
    for r in rows:
        print(f"{r['name']:<34}{r['size']:>6}{r['applied']:>9}{r['seconds']:>10.3f}{r['per_second']:>9}{r['ratio']:>8}")
    flow_row = next(r for r in rows if r["name"] == "submission-intake flow")
    print(f"overhead ratio (flow / direct service calls, {size} applications): {flow_row['ratio']}")


if __name__ == "__main__":
    main()
