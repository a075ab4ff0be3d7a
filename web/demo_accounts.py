"""Accounts to sign in to the demo's database with (`make demo` prints them): one per kind of reader."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.clock import SystemClock
from web import auth

DEMO_PASSWORD = "demo-2025-智能工厂"  # a replay database's demo accounts; never a production password
DEMO_ACCOUNTS = (
    ("qingpu@demo.example.cn", "local_officer", "sh.qingpu", "青浦区经委 审核员"),
    ("shanghai@demo.example.cn", "local_officer", "sh", "上海市经信委 审核员"),
    ("auditor@demo.example.cn", "auditor", "sh", "上海市 审计人员"),
    ("miit@demo.example.cn", "ministry_officer", "miit", "工信部 秘书处"),
)


def add_demo_accounts(engine: Engine) -> list[tuple[str, str, str]]:
    """Grant the demo accounts (idempotent per fresh demo database); returns (email, role, unit)."""
    at = SystemClock().now()
    with Session(engine) as session:
        for email, role, unit, name in DEMO_ACCOUNTS:
            auth.grant(session, email=email, password=DEMO_PASSWORD, role=role, unit=unit, display_name=name, at=at)
    return [(email, role, unit) for email, role, unit, _ in DEMO_ACCOUNTS]


def hint(db: Path, accounts: list[tuple[str, str, str]]) -> list[str]:
    """The lines `make demo` ends with: how to open its database in the web app, and who to sign in as."""
    lines = [
        "open the demo in the web app:",
        f"  .venv/bin/factory-review web --database-url sqlite:///{db.resolve()} --host 127.0.0.1 --port 8000",
        "  then http://127.0.0.1:8000/ and sign in as (password: " + DEMO_PASSWORD + "):",
    ]
    lines += [f"    {email:<28} {role}@{unit}" for email, role, unit in accounts]
    if auth.INTERIM:
        lines.append("  (accounts service not merged yet: these accounts live only in this process)")
    return lines
