"""Enterprises submitting through HTTP at once (issue 14, "What it must show"): 1,000 enterprises, 50 at a
time, against a real uvicorn server on PostgreSQL, in ratio to the same submissions through the service
door called directly.

Each side gets a throwaway PostgreSQL database (bench.common.postgres_databases: FACTORY_REVIEW_SCALE_ADMIN_URL,
else FACTORY_REVIEW_TEST_PG_URL): a replay whose clock stands at 2026-07-01 10:00 (Shanghai), before the
2026 season's submit deadline (07-10), prepared once, untimed, then copied (CREATE DATABASE … TEMPLATE):
each enterprise registered (`register_enterprise`, Argon2id at its lowest cost: hashing is not what is
measured) and confirmed by its district (`confirm_enterprise`), its excellent-tier draft created through the
bulk door with the content the form it will post produces (so the submit saves nothing new and goes
straight to the transition, on both sides).

    http     `factory-review web` (uvicorn) in a subprocess on a free port; every enterprise signed in
             through POST /login beforehand (untimed); timed: the POST of the submit form with the session
             cookie and its CSRF token, from one httpx.AsyncClient, a semaphore of 50, redirects not followed
    direct   `states.submission.save_and_submit` (what the web route calls) for each, one at a time

Checks after each: exactly `size` applications submitted, one `submit` audit event each; over HTTP also
no 5xx and every answer the 303 to `?saved=submit`, with the counts of statuses in the row's name.

`make bench` runs 300 enterprises (the 1,000 take about 3 minutes on 2 cores, most of it preparing);
`BENCH_HTTP_SIZE=1000 make bench`, or:

    .venv/bin/python -m bench.http_submit_bench [size, default 1000]
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from bench.common import copy_database, postgres_admin, postgres_databases, row
from bench.flow_bench import SEASON, SUBMIT_AT
from models.credit_code import make_credit_code
from models.tables import Actor, Application, AuditEvent

CONCURRENCY = 50
PASSWORD = "bench password 2025"
PREPARED_AT = SUBMIT_AT - timedelta(days=2)
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Enterprise:
    """One prepared enterprise: its account, its draft, the form it posts (and, over HTTP, its session)."""

    email: str
    application_id: int
    actor: Actor
    form: dict[str, str]
    content: dict[str, Any]
    cookie: str = ""
    csrf: str = ""


@dataclass
class Report:
    size: int
    http_seconds: float
    direct_seconds: float
    statuses: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)


# ---- preparation (untimed, the same on both databases) --------------------------------------------------


@contextmanager
def cheap_hashing() -> Iterator[None]:
    """Argon2id at its lowest cost while accounts are made (as tests/web's `cheap_passwords`): a sign-in
    verifies with the parameters stored in the hash, so the server's checks are cheap too."""
    from argon2 import PasswordHasher

    from states import passwords

    saved = passwords.HASHER
    passwords.HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    try:
        yield
    finally:
        passwords.HASHER = saved


def excellent_form(i: int) -> dict[str, str]:
    """The excellent-tier form an enterprise posts (tests/web/test_enterprise.py's), numbered."""
    return {"title": f"电驱壳体卓越级智能工厂{i}", "maturity_level": "3", "agrees_to_verification": "on",
            "scenarios": "生产作业—人机协同作业—多机协同的壳体柔性加工与检测\n"
                         "生产作业—在线智能检测—基于机器视觉的缺陷检测",
            "ai_scenario_ratio": "33.3", "contact_name": "王工", "contact_mobile": "13800000001",
            "pledge_truthful": "on", "pledge_no_secrets": "on", "pledge_signed_by": "王法人",
            "pledge_signed_on": "2026-06-30", "action": "submit"}  # fmt: skip


def _content(code: str, form: dict[str, str], materials: dict[str, str]) -> dict[str, Any]:
    """What the web route makes of the form for this enterprise (web.enterprise_form.read_form)."""
    from web.enterprise_form import read_form

    base = {"credit_code": code, "tier": "excellent", "track": "national", "season": SEASON, "materials": materials}
    content, errors = read_form(form, base=base, submitting=True)
    assert not errors, errors
    return content


def _register(session: Session, size: int) -> list[tuple[str, str, Actor]]:
    """(credit code, e-mail, actor) per enterprise: registered, then confirmed by 青浦区."""
    from states.accounts import actor_for, confirm_enterprise, register_enterprise
    from states.system import set_mode
    from web.demo_accounts import grant

    set_mode(session, replay=True, now=SUBMIT_AT.isoformat())  # the replay's clock: before the deadline
    officer = grant(session, email="qingpu@bench.example.cn", password=PASSWORD, role="local_officer",
                    unit="sh.qingpu", display_name="青浦区经委", at=PREPARED_AT)  # fmt: skip
    details = {"recognitions": [{"tier": "advanced", "year": 2024, "by": "sh"}], "above_designated_size": True,
               "clean_record_3y": True, "security_controllable": True, "has_smart_factory_org": True}  # fmt: skip
    out = []
    for i in range(size):
        code, email = make_credit_code("310118", f"MA1H{i:05d}"), f"ent{i}@bench.example.cn"
        account = register_enterprise(session, email=email, password=PASSWORD, display_name=f"联系人{i}",
                                      credit_code=code, name=f"并发申报企业{i}有限公司", district="sh.qingpu",
                                      contact_name=f"联系人{i}", contact_phone="13800000001", at=PREPARED_AT,
                                      industry="汽车零部件", details=details)  # fmt: skip
        confirm_enterprise(session, by=officer, account_id=account.id or 0, approve=True, reason="", at=PREPARED_AT)
        out.append((code, email, actor_for(account)))
    return out


def prepare(engine: Engine, size: int) -> list[Enterprise]:
    """Accounts confirmed and one draft each (the bulk door), with the content their form will carry."""
    from programmes.application_file import example
    from states.bulk import Draft, create_drafts

    materials = example("excellent")["materials"]  # the checklist's files, named as the sample names them
    with cheap_hashing(), Session(engine) as session:
        registered = _register(session, size)
        forms = [excellent_form(i) for i in range(size)]
        contents = [_content(code, form, materials) for (code, _, _), form in zip(registered, forms, strict=True)]
        drafts = [Draft(enterprise_code=code, tier="excellent", track="national", season=SEASON,
                        title=content["title"], content=content, pledge=content["pledge"], actor=actor)
                  for (code, _, actor), content in zip(registered, contents, strict=True)]  # fmt: skip
        report = create_drafts(session, drafts, at=PREPARED_AT)
    assert not report.refused, report.refused[:3]
    return [Enterprise(email, report.by_index[i], actor, forms[i], contents[i])
            for i, (_, email, actor) in enumerate(registered)]  # fmt: skip


def check(engine: Engine, enterprises: list[Enterprise]) -> list[str]:
    """No lost or duplicated submission: every draft submitted, with exactly one `submit` audit event."""
    ids = {e.application_id for e in enterprises}
    with Session(engine) as session:
        submitted = set(session.scalars(select(col(Application.id)).where(col(Application.state) == "submitted")))
        counted = select(col(AuditEvent.application_id), func.count()).where(col(AuditEvent.event) == "submit")
        events: dict[int, int] = {a: n for a, n in session.execute(counted.group_by(col(AuditEvent.application_id)))}
    problems = []
    if submitted != ids:
        problems.append(f"{len(ids - submitted)} not submitted, {len(submitted - ids)} unexpected submitted")
    if set(events) != ids or any(n != 1 for n in events.values()):
        twice = sum(1 for n in events.values() if n > 1)
        problems.append(f"submit events on {len(events)} applications for {len(ids)}, {twice} more than once")
    return problems


# ---- the direct side --------------------------------------------------------------------------------------


def direct(engine: Engine, enterprises: list[Enterprise]) -> float:
    """Seconds for `save_and_submit` per enterprise, one at a time, at the replay's instant."""
    from states.submission import save_and_submit

    with Session(engine) as session:
        start = time.perf_counter()
        for e in enterprises:
            save_and_submit(session, e.application_id, content=e.content, pledge=e.content["pledge"],
                            actor=e.actor, at=SUBMIT_AT)  # fmt: skip
        return time.perf_counter() - start


# ---- the HTTP side ----------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def web_server(engine: Engine, log: Path) -> Iterator[str]:
    """`factory-review web` on the database, in its own process on a free port; stopped afterwards."""
    import httpx

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "FACTORY_REVIEW_NOW"}  # the replay's stored clock
    command = [sys.executable, "-m", "cli.main", "web", "--host", "127.0.0.1", "--port", str(port),
               "--database-url", engine.url.render_as_string(hide_password=False)]  # fmt: skip
    with log.open("wb") as out:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the web server did not start: {log.read_text('utf-8')[-2000:]}")
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


async def _sign_in(base: str, e: Enterprise, gate: asyncio.Semaphore) -> None:
    """GET /login (the CSRF cookie and token), POST /login: the session cookie, kept on `e`."""
    import re

    import httpx

    async with gate, httpx.AsyncClient(base_url=base, timeout=120) as client:
        page = await client.get("/login")
        found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
        assert found is not None, page.text[:300]
        signed = await client.post("/login", data={"email": e.email, "password": PASSWORD,
                                                   "csrf_token": found.group(1)})  # fmt: skip
        assert signed.status_code == 303, signed.text[:300]
        e.csrf = found.group(1)
        e.cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())


async def _submit_all(base: str, enterprises: list[Enterprise]) -> tuple[float, Counter[str]]:
    """The timed part: every enterprise's submit POST, `CONCURRENCY` at a time → (seconds, answers)."""
    import httpx

    gate = asyncio.Semaphore(CONCURRENCY)
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)

    async with httpx.AsyncClient(base_url=base, timeout=300, limits=limits) as client:

        async def submit(e: Enterprise) -> str:
            async with gate:
                answer = await client.post(
                    f"/enterprise/applications/{e.application_id}",
                    data={**e.form, "csrf_token": e.csrf},
                    headers={"cookie": e.cookie},
                )
            expected = answer.status_code == 303 and answer.headers.get("location", "").endswith("?saved=submit")
            return str(answer.status_code) if expected or answer.status_code != 303 else "303 elsewhere"

        start = time.perf_counter()
        answers = await asyncio.gather(*(submit(e) for e in enterprises))
        return time.perf_counter() - start, Counter(answers)


async def _over_http(base: str, enterprises: list[Enterprise]) -> tuple[float, Counter[str]]:
    gate = asyncio.Semaphore(CONCURRENCY)
    await asyncio.gather(*(_sign_in(base, e, gate) for e in enterprises))  # untimed
    return await _submit_all(base, enterprises)


def http(engine: Engine, enterprises: list[Enterprise], folder: Path) -> tuple[float, Counter[str]]:
    with web_server(engine, folder / "web.log") as base:
        return asyncio.run(_over_http(base, enterprises))


# ---- the run ----------------------------------------------------------------------------------------------


def measure(admin: str, size: int) -> Report:
    """Prepared once, copied, each side on its own throwaway database, then the checks."""
    with postgres_databases(admin, ["http", "direct"]) as engines, \
            tempfile.TemporaryDirectory(prefix="bench-http-") as folder:  # fmt: skip
        enterprises = prepare(engines["http"], size)
        copy_database(admin, engines["http"], engines["direct"])  # the same rows on both sides
        http_seconds, statuses = http(engines["http"], enterprises, Path(folder))
        report = Report(size, http_seconds, direct(engines["direct"], enterprises), statuses)
        for side in ("http", "direct"):
            report.problems += [f"{side}: {p}" for p in check(engines[side], enterprises)]
    if any(s[0] == "5" for s in statuses) or set(statuses) != {"303"}:
        report.problems.append("http: answers other than the 303 to ?saved=submit")
    return report


def run(size: int = int(os.environ.get("BENCH_HTTP_SIZE", "300"))) -> list[dict[str, Any]]:
    admin, why = postgres_admin()
    if admin is None:
        return [{"name": f"HTTP submit on PostgreSQL: not measured ({why})", "size": 0, "unit": "submissions",
                 "seconds": None, "baseline": None, "baseline_seconds": None}]  # fmt: skip
    r = measure(admin, size)
    answers = ", ".join(f"{status}×{n}" for status, n in sorted(r.statuses.items()))
    verdict = "; ".join(r.problems) or "no lost or duplicated submission, no 5xx"
    return [row(f"HTTP submit, {CONCURRENCY} at a time, uvicorn + PostgreSQL, signed in beforehand "
                f"[answers {answers}; {verdict}]", size, r.http_seconds,
                f"save_and_submit called directly, one at a time, PostgreSQL ({size / r.direct_seconds:.0f}/s)",
                r.direct_seconds, "submissions")]  # fmt: skip


def main() -> None:
    from programmes.wiring import assemble

    assemble()  # the composition root, as `python -m bench` does
    from bench.__main__ import normalise, print_table

    print_table(normalise("http", run(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)))


if __name__ == "__main__":
    main()
