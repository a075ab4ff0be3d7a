"""`make scale`: a season's deployments on several Prefect workers over loopback, one killed mid-run.

What runs (one machine, the same as several machines but for the addresses):

1. a Prefect server backed by PostgreSQL (`PREFECT_API_DATABASE_CONNECTION_URL`), a process work pool
   `factory-review`, the `submission-intake` and `reminder-sweep` deployments from this checkout;
2. the season once with ONE worker (application database A): a submission-intake run per batch of
   applications, then the reminder sweep that sends the outbox — the reference;
3. the same season with TWO workers (database B); as soon as worker 1 is inside a run and some of its
   applications are submitted, worker 1 and its flow run are SIGKILLed (a machine lost), the run is
   put back to Scheduled (what a zombie-run automation does) and worker 2 runs it again;
4. A and B compared: every application in the same state, the same audit events (none twice), the same
   outbox, every mail written once (unique Message-IDs), and which worker ran which run.

The one door makes the re-run safe: items already applied are skipped (flows.common), mail is keyed by
the transition's audit sequence, rows are locked with SELECT … FOR UPDATE.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
POOL = "factory-review"
DEPLOYMENTS = {"submission-intake": "flows/intake.py:submission_intake",
               "reminder-sweep": "flows/reminders.py:reminder_sweep"}  # fmt: skip
PREFECT = Path(sys.executable).parent / "prefect"
FINAL = frozenset({"COMPLETED", "FAILED", "CRASHED", "CANCELLED"})


@dataclass
class Phase:
    database: str
    mail_dir: Path
    runs: dict[str, str] = field(default_factory=dict)  # flow run id -> name
    ran_on: dict[str, set[str]] = field(default_factory=dict)  # flow run id -> workers seen running it
    killed: list[str] = field(default_factory=list)


# ---- databases --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def databases(admin_url: str, names: list[str]) -> Iterator[dict[str, str]]:
    """Fresh PostgreSQL databases (the admin role needs CREATEDB), dropped at the end."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from models.database import drop_database

    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    prefix = f"fr_scale_{os.getpid()}"
    urls = {n: make_url(admin_url).set(database=f"{prefix}_{n}").render_as_string(hide_password=False) for n in names}
    try:
        for n in names:
            drop_database(admin, f"{prefix}_{n}")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{prefix}_{n}"'))
        yield urls
    finally:
        for n in names:
            drop_database(admin, f"{prefix}_{n}")
        admin.dispose()


def seed(url: str, folder: Path, batches: int, size: int) -> list[str]:
    """Migrate, register the enterprises (bulk door) and write one intake batch file per batch."""
    from sqlmodel import Session

    from bench.flow_bench import SUBMIT_AT, application_files
    from models.database import make_engine, migrate
    from states.bulk import add_actors, register_enterprises
    from states.intake import SYSTEM_ACTOR
    from states.system import mark_replay

    engine = make_engine(url)
    migrate(engine)
    mark_replay(engine)  # the runs pass the calendar's instant and act as the scheduler: a replay database
    files = application_files(batches * size)
    rows = [{"credit_code": f["credit_code"], "name": f"规模测试企业{i}有限公司", "province": "sh",
             "district": "sh.qingpu", "industry": "汽车零部件", "contact_name": f"联系人{i}",
             "recognitions": [{"tier": "advanced", "year": 2024, "by": "sh"}],
             "contact_email": f"e{i}@example.cn"} for i, f in enumerate(files)]  # fmt: skip
    with Session(engine) as session:
        register_enterprises(session, rows, actor=SYSTEM_ACTOR, at=SUBMIT_AT)
        add_actors(session, [{"name": "青浦区经委", "email": "qp@gov.example.cn", "role": "local_officer",
                              "unit": "sh.qingpu"}])  # fmt: skip
    engine.dispose()
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for b in range(batches):
        path = folder / f"batch-{b + 1}.json"
        path.write_text(json.dumps(files[b * size : (b + 1) * size], ensure_ascii=False, default=str), "utf-8")
        paths.append(str(path))
    return paths


# ---- Prefect: server, pool, deployments, workers ----------------------------------------------------------


def deploy() -> None:
    """The process work pool and the deployments, pulled from this checkout (its path on every worker)."""
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate

    with get_client(sync_client=True) as client, contextlib.suppress(Exception):
        client.create_work_pool(WorkPoolCreate(name=POOL, type="process"))
    for name, entrypoint in DEPLOYMENTS.items():
        flow.from_source(source=str(ROOT), entrypoint=entrypoint).deploy(  # type: ignore[union-attr]
            name=name, work_pool_name=POOL, print_next_steps=False, ignore_warnings=True)  # fmt: skip


def start_worker(name: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        command = [str(PREFECT), "worker", "start", "--pool", POOL, "--type", "process", "--name", name]
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)  # fmt: skip


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def descendants(pid: int) -> list[int]:
    tree, out, todo = _children(), [], [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def flow_runs_of(worker: subprocess.Popen[bytes]) -> set[str]:
    """The flow runs a worker's processes are executing now (PREFECT__FLOW_RUN_ID of its children)."""
    runs = set()
    for pid in descendants(worker.pid):
        with contextlib.suppress(OSError):
            for item in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
                if item.startswith(b"PREFECT__FLOW_RUN_ID="):
                    runs.add(item.split(b"=", 1)[1].decode())
    return runs


def _stop_all(workers: dict[str, subprocess.Popen[bytes]]) -> None:
    for worker in workers.values():
        if worker.poll() is None:
            kill_tree(worker)


def kill_tree(worker: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker and every process under it at once: the machine is gone."""
    for pid in [*descendants(worker.pid), worker.pid]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    worker.wait()


# ---- a phase: the season's runs, on the workers there are -------------------------------------------------


def trigger(phase: Phase, batches: list[str]) -> None:
    from prefect.deployments import run_deployment

    env = {"DATABASE_URL": phase.database, "FACTORY_REVIEW_MAIL_DIR": str(phase.mail_dir)}
    for i, path in enumerate(batches, start=1):
        params = {"params": {"actor": "system@system", "now": "2026-07-01T10:00:00+08:00", "batch_file": path}}
        run = run_deployment("submission-intake/submission-intake", parameters=params, timeout=0,
                             job_variables={"env": env}, as_subflow=False)  # fmt: skip
        phase.runs[str(run.id)] = f"intake batch {i}"  # type: ignore[union-attr]


def send_mail(phase: Phase, wait: Any) -> None:
    from prefect.deployments import run_deployment

    env = {"DATABASE_URL": phase.database, "FACTORY_REVIEW_MAIL_DIR": str(phase.mail_dir)}
    params = {"params": {"now": "2026-07-01T12:00:00+08:00", "season": "2026", "send": True}}
    run = run_deployment("reminder-sweep/reminder-sweep", parameters=params, timeout=0,
                         job_variables={"env": env}, as_subflow=False)  # fmt: skip
    phase.runs[str(run.id)] = "reminder sweep + send"  # type: ignore[union-attr]
    wait({str(run.id)})  # type: ignore[union-attr]


def states_of(run_ids: set[str]) -> dict[str, str]:
    from uuid import UUID

    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return {r: client.read_flow_run(UUID(r)).state.type.value for r in run_ids}  # type: ignore[union-attr]


def reschedule(run_id: str) -> None:
    """What a zombie-run automation does: the lost run back to Scheduled, for another worker."""
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.states import Scheduled

    with get_client(sync_client=True) as client:
        client.set_flow_run_state(UUID(run_id), Scheduled(), force=True)


def submitted(url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM application WHERE state = 'submitted'")).scalar()
    engine.dispose()
    return int(n or 0)


def watch(phase: Phase, workers: dict[str, subprocess.Popen[bytes]], run_ids: set[str], *, timeout: float,
          kill: str | None = None) -> None:  # fmt: skip
    """Poll until the runs are final; note who runs what; SIGKILL worker `kill` once it is inside one of
    them and the first applications are through (mid-run); its runs go back to Scheduled."""
    from sqlalchemy import create_engine, text

    engine = create_engine(phase.database)
    deadline, next_check = time.monotonic() + timeout, 0.0
    try:
        while time.monotonic() < deadline:
            if all(worker.poll() is not None for worker in workers.values()):
                report = _worker_report(phase, workers)
                raise RuntimeError(f"every worker has exited; runs {states_of(run_ids)}\n{report}")
            for name, worker in workers.items():
                if worker.poll() is None:
                    for run in flow_runs_of(worker):
                        phase.ran_on.setdefault(run, set()).add(name)
            if kill and workers[kill].poll() is None:
                victims = flow_runs_of(workers[kill]) & run_ids
                with engine.connect() as conn:
                    moved = conn.execute(text("SELECT count(*) FROM application WHERE state <> 'draft'")).scalar()
                if victims and moved:
                    kill_tree(workers[kill])
                    for run in sorted(victims):
                        phase.killed.append(run)
                        reschedule(run)
                    kill = None
            if time.monotonic() >= next_check:  # the API less often than the process table
                if all(s in FINAL for s in states_of(run_ids).values()):
                    return
                next_check = time.monotonic() + 1.0
            time.sleep(0.1)
    finally:
        engine.dispose()
    raise TimeoutError(f"runs not final within {timeout:.0f} s: {states_of(run_ids)}\n{_worker_report(phase, workers)}")


def _worker_report(phase: Phase, workers: dict[str, subprocess.Popen[bytes]]) -> str:
    """Each worker's exit code and the end of its log: what a timeout needs to be understood."""
    lines = []
    for name, worker in workers.items():
        log = phase.mail_dir.parent / f"{name}.log"
        tail = log.read_text(errors="replace").splitlines()[-15:] if log.exists() else []
        lines += [f"{name}: exit code {worker.poll()}", *(f"  | {line}" for line in tail)]
    return "\n".join(lines)


def snapshot(phase: Phase) -> dict[str, Any]:
    """What the season left, keyed by credit code (runs side by side number the drafts in another order):
    states, audit events per (enterprise, event), outbox keys, mail written."""
    from sqlalchemy import create_engine, text

    engine = create_engine(phase.database)
    code_of = "JOIN application a ON a.id = {t}.application_id JOIN enterprise e ON e.id = a.enterprise_id"
    with engine.connect() as conn:
        states = dict(conn.execute(text("SELECT e.credit_code, a.state FROM application a "
                                        "JOIN enterprise e ON e.id = a.enterprise_id")).tuples().all())  # fmt: skip
        events = Counter(f"{c}:{ev}" for c, ev in conn.execute(
            text(f"SELECT e.credit_code, x.event FROM audit_event x {code_of.format(t='x')}")))  # fmt: skip
        rows = conn.execute(text("SELECT o.dedupe_key, o.application_id, e.credit_code FROM outbox_message o "
                                 "LEFT " + code_of.format(t="o").replace(" JOIN", " LEFT JOIN")))  # fmt: skip
        outbox = sorted(key.replace(f":{app}:", f":{code}:", 1) if app else key for key, app, code in rows)
        sent = conn.execute(text("SELECT count(*) FROM outbox_message WHERE status = 'sent'")).scalar()
    engine.dispose()
    ids = [line.split(":", 1)[1].strip() for f in sorted(phase.mail_dir.glob("*.eml"))
           for line in f.read_text(errors="replace").splitlines()
           if line.lower().startswith("message-id:")]  # fmt: skip
    return {"states": states, "events": events, "outbox": outbox, "sent": sent, "mail_ids": ids}


def compare(one: dict[str, Any], two: dict[str, Any]) -> list[str]:
    problems = []
    if one["states"] != two["states"]:
        problems.append("final states differ between one worker and two")
    if one["events"] != two["events"]:
        problems.append(f"audit events differ: {(one['events'] - two['events']) + (two['events'] - one['events'])}")
    if one["outbox"] != two["outbox"]:
        problems.append("outbox rows differ")
    for label, snap in (("one worker", one), ("two workers", two)):
        if len(snap["mail_ids"]) != len(set(snap["mail_ids"])):
            problems.append(f"{label}: a mail was written twice")
        if len(snap["mail_ids"]) != snap["sent"]:
            problems.append(f"{label}: {len(snap['mail_ids'])} mails written, {snap['sent']} marked sent")
    return problems


def run(admin_url: str, folder: Path, *, batches: int = 4, size: int = 40, timeout: float = 600) -> dict[str, Any]:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.prefect_server import local_server

    base = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "DATABASE_URL", "FACTORY_REVIEW_"))}
    with databases(admin_url, ["prefect", "one", "two"]) as urls, contextlib.ExitStack() as stack:
        # The server and `deploy()` read PREFECT_* from this process's environment; put it back after, so
        # nothing later in the same process talks to a server that is gone.
        stack.enter_context(mock.patch.dict(os.environ))
        prefect_db = urls["prefect"].replace("+psycopg", "+asyncpg").replace("postgresql:", "postgresql+asyncpg:", 1)
        os.environ["PREFECT_API_DATABASE_CONNECTION_URL"] = prefect_db
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
        api = stack.enter_context(local_server(folder / "prefect-server", services=False))
        os.environ["PREFECT_API_URL"] = api
        # A settings context already open in this process (a test session's Prefect harness) outranks the
        # environment: without this, deployments and runs went to that server and no worker saw them.
        stack.enter_context(temporary_settings(updates={PREFECT_API_URL: api}))
        deploy()
        env = {**base, "PREFECT_API_URL": api, "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
               "PREFECT_WORKER_QUERY_SECONDS": "1", "PREFECT_LOGGING_LEVEL": "WARNING",
               "FACTORY_REVIEW_DATA_DIR": str(folder / "data")}  # fmt: skip
        workers: dict[str, subprocess.Popen[bytes]] = {}
        stack.callback(_stop_all, workers)
        phases = {}
        for label, count in (("one", 1), ("two", 2)):
            phase = phases[label] = Phase(urls[label], folder / f"mail-{label}")
            phase.mail_dir.mkdir(parents=True, exist_ok=True)
            paths = seed(urls[label], folder / f"batches-{label}", batches, size)
            for w in range(1, count + 1):
                if f"worker-{w}" not in workers or workers[f"worker-{w}"].poll() is not None:
                    home = folder / f"worker-{w}"
                    home.mkdir(exist_ok=True)
                    workers[f"worker-{w}"] = start_worker(f"worker-{w}", {**env, "PREFECT_HOME": str(home)},
                                                          folder / f"worker-{w}.log")  # fmt: skip
            trigger(phase, paths)
            watch(phase, workers, set(phase.runs), timeout=timeout, kill="worker-1" if count > 1 else None)
            send_mail(phase, lambda ids, p=phase: watch(p, workers, ids, timeout=timeout))
        one, two = snapshot(phases["one"]), snapshot(phases["two"])
        final = {label: states_of(set(p.runs)) for label, p in phases.items()}
    return {"applications": len(two["states"]), "final_states": dict(Counter(two["states"].values())),
            "audit_events": sum(two["events"].values()), "mails": len(two["mail_ids"]),
            "runs": {label: {p.runs[r]: {"state": final[label][r], "workers": sorted(p.ran_on.get(r, set()))}
                             for r in p.runs} for label, p in phases.items()},
            "killed": [phases["two"].runs[r] for r in phases["two"].killed], "problems": compare(one, two)}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    import tempfile

    parser = argparse.ArgumentParser(prog="python -m replay.scale", description=__doc__.split("\n")[0])
    parser.add_argument("--admin-url", default=os.environ.get("FACTORY_REVIEW_SCALE_ADMIN_URL"),
                        help="PostgreSQL URL of a role that may create databases")  # fmt: skip
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--size", type=int, default=40)
    args = parser.parse_args(argv)
    if not args.admin_url:
        parser.error("--admin-url (or FACTORY_REVIEW_SCALE_ADMIN_URL) is required")
    with tempfile.TemporaryDirectory(prefix="factory-review-scale-") as folder:
        report = run(args.admin_url, Path(folder), batches=args.batches, size=args.size)
    print(json.dumps(report, ensure_ascii=False, indent=1))
    return 1 if report["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
