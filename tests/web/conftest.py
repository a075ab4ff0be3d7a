"""Web fixtures: the app on the test database, accounts of every role, a signed-in client, a live server.

The business clock is fixed inside the 2025 season (district recommendation open until 07-11).
Browser tests drive Debian's Chromium (/usr/lib/chromium/chromium); without it they are skipped loudly.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.tables import Expert
from programmes.panels import add_members, auto_assign, create_panel
from programmes.season import get_season
from tests import factories
from web.demo_accounts import grant

CHROMIUM = Path("/usr/lib/chromium/chromium")
NOW = "2025-07-05T10:00:00+08:00"
PASSWORD = "correct horse battery staple"


@dataclass
class World:
    """The accounts (email by name) and applications the web tests use."""

    emails: dict[str, str]
    qingpu_app: int
    minhang_app: int
    qingpu_code: str
    qingpu_name: str


def _email(name: str, serial: int) -> str:
    return f"{name}.{serial}@web.example.cn"


_SERIAL = iter(range(1, 10**6))


@pytest.fixture
def world(session: Session, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setenv("FACTORY_REVIEW_NOW", NOW)
    from states.system import mark_replay

    mark_replay(engine)  # a replay database, so the business clock may stand at NOW (issue #11 §5)
    qingpu = factories.application(session, "submitted", unit="sh.qingpu")
    minhang = factories.application(session, "submitted", unit="sh.minhang")
    ent = session.get(factories.Enterprise, qingpu.enterprise_id)
    other = session.get(factories.Enterprise, minhang.enterprise_id)
    assert ent is not None and other is not None
    n = next(_SERIAL)
    at = factories.at("2025-06-01")
    specs: dict[str, tuple[str, str, str | None]] = {
        "qingpu": ("local_officer", "sh.qingpu", None),
        "minhang": ("local_officer", "sh.minhang", None),
        "city": ("local_officer", "sh", None),
        "auditor": ("auditor", "sh", None),
        "ministry": ("ministry_officer", "miit", None),
        "enterprise": ("enterprise", ent.credit_code, ent.credit_code),
        "other_enterprise": ("enterprise", other.credit_code, other.credit_code),
    }
    emails = {}
    for name, (role, unit, code) in specs.items():
        emails[name] = _email(name, n)
        grant(session, email=emails[name], password=PASSWORD, role=role, unit=unit,
                   display_name=f"{name} {unit}", enterprise_credit_code=code, at=at)  # fmt: skip
    assert qingpu.id is not None and minhang.id is not None
    session.commit()  # end the fixture's transaction: on SQLite it holds the write lock (BEGIN IMMEDIATE)
    return World(emails, qingpu.id, minhang.id, ent.credit_code, ent.name)


@pytest.fixture
def web_app(engine: Engine, world: World) -> Any:
    from web.app import create_app

    return create_app(engine=engine)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert found, "no CSRF field in the page"
    return found.group(1)


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> TestClient:
    page = client.get("/login")
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": csrf_of(page.text)},
                           follow_redirects=False)  # fmt: skip
    assert response.status_code == 303, response.text[:500]
    return client


@pytest.fixture
def client_for(web_app: Any, world: World) -> Iterator[Any]:
    clients: list[TestClient] = []

    def make(name: str | None) -> TestClient:
        client = TestClient(web_app)
        clients.append(client)
        return sign_in(client, world.emails[name]) if name else client

    yield make
    for c in clients:
        c.close()


# ---- a live server for the browser ---------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live_server(web_app: Any) -> Iterator[str]:
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(web_app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


# ---- Chromium for pytest-playwright ----------------------------------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Debian's Chromium (Playwright's own download cannot work on these machines)."""
    if not CHROMIUM.exists():
        pytest.skip(f"BROWSER TESTS SKIPPED: {CHROMIUM} is missing (apt-get install chromium fonts-noto-cjk)")
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"],
    }  # fmt: skip


def pytest_configure(config: pytest.Config) -> None:
    # Screenshots of the failing page (pytest-playwright writes them under test-results/).
    if getattr(config.option, "screenshot", None) == "off":
        config.option.screenshot = "only-on-failure"


# ---- expert panels (issue 19) ---------------------------------------------------------------------

RULE = get_season("2025").panel_rule(stage="material_review", tier="leading", track="national")
assert RULE is not None
WHEN = factories.at("2025-08-10")
EXPERTS = {"first": "bj", "second": "gd", "third": "js"}


@dataclass
class Panelled:
    """A leading application in ministry review with a material-review panel of three, each assigned."""

    application: int
    panel: int
    reviews: dict[str, int]  # expert key → review id
    names: dict[str, str]  # expert key → name
    experts: dict[str, Any]  # expert key → the Actor the expert acts as


@pytest.fixture
def panelled(session: Session, world: World, monkeypatch: pytest.MonkeyPatch) -> Panelled:
    monkeypatch.setenv("FACTORY_REVIEW_NOW", "2025-08-12T10:00:00+08:00")  # after the assignment
    application = factories.application(session, "ministry_review", tier="leading")
    panel = create_panel(session, season="2025", stage="material_review", tier="leading", name="材料评审第一组",
                         actor=factories.ministry(session), at=WHEN)  # fmt: skip
    experts = {key: factories.expert(session, province) for key, province in EXPERTS.items()}
    ids = {key: expert_id(session, actor.email) for key, actor in experts.items()}
    add_members(session, panel_id=panel.id or 0, expert_ids=list(ids.values()), actor=factories.ministry(session),
                at=WHEN)  # fmt: skip
    made = auto_assign(session, panel_id=panel.id or 0, actor=factories.ministry(session), at=WHEN)
    by_expert = {a.expert_id: a.id or 0 for a in made}
    for key, actor in experts.items():
        world.emails[key] = actor.email
        grant(session, email=actor.email, password=PASSWORD, role="expert", unit="miit", display_name=actor.name,
              at=WHEN)  # fmt: skip
    session.commit()
    return Panelled(application.id or 0, panel.id or 0, {k: by_expert[i] for k, i in ids.items()},
                    {k: a.name for k, a in experts.items()}, experts)  # fmt: skip


def expert_id(session: Session, email: str) -> int:
    return session.scalars(select(Expert.id).where(Expert.email == email)).one() or 0  # type: ignore[call-overload,arg-type]


