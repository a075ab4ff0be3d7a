"""Accounts to sign in to the demo's database with (`make demo` prints them): one per kind of reader."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.clock import SystemClock, shanghai_text
from models.errors import ReplayOnly

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
            grant(session, email=email, password=DEMO_PASSWORD, role=role, unit=unit, display_name=name, at=at)
    return [(email, role, unit) for email, role, unit, _ in DEMO_ACCOUNTS]


def hint(db: Path, accounts: list[tuple[str, str, str]], clock: datetime | None = None) -> list[str]:
    """The lines `make demo` ends with: how to open its database in the web app, and who to sign in as;
    with the replay's clock, the instant the web app shows and acts at."""
    lines = [
        "open the demo in the web app:",
        f"  .venv/bin/factory-review web --database-url sqlite:///{db.resolve()} --host 127.0.0.1 --port 8000",
        "  then http://127.0.0.1:8000/ and sign in as (password: " + DEMO_PASSWORD + "):",
    ]
    lines += [f"    {email:<28} {role}@{unit}" for email, role, unit in accounts]
    lines.append("  as an enterprise: 企业注册 (/register) on the sign-in page, in 青浦区; qingpu@… confirms it under "
                 "企业注册确认; then 我的申报 → new application → fill, upload, submit")  # fmt: skip
    if clock is not None:
        lines.append(f"  a replay: every page shows and acts at the replay's clock, {shanghai_text(clock)} "
                     "(回放时钟); the sign-in sessions run on the real clock")  # fmt: skip
    return lines


def grant(session: Session, *, email: str, password: str, role: str, unit: str, display_name: str,
          enterprise_credit_code: str | None = None, at: Any) -> Any:  # fmt: skip
    """Grant an account as the replay database's own administrator (the demo and the web tests). Refused on a
    production database: there the first administrator is created with `init --admin` and grants itself."""
    from states.accounts import grant_account

    return grant_account(session, by=_replay_admin(session, at), email=email, password=password, role=role,
                         unit=unit, display_name=display_name, enterprise_credit_code=enterprise_credit_code,
                         at=at)  # fmt: skip


def _replay_admin(session: Session, at: Any) -> Any:
    from sqlalchemy import select

    from models.tables import Account
    from states.accounts import create_first_admin
    from states.system import is_replay

    if not is_replay(session):
        raise ReplayOnly("demo accounts are granted on a replay database only", rule="replay-only")
    admin = session.scalars(select(Account).where(Account.role == "admin").order_by(Account.id)).first()  # type: ignore[arg-type]
    if admin is not None:
        return admin
    return create_first_admin(session, email="admin@demo.example.cn", password=DEMO_PASSWORD, display_name="演示管理员",
                              at=at)  # fmt: skip
