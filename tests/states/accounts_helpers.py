"""Helpers for the accounts tests: a production database, accounts in one line, the CLI in-process."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete
from sqlmodel import Session

from models.tables import Account, SystemState
from states.accounts import create_first_admin, grant_account

PASSWORD = "correct horse battery staple"
NOW = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


def make_production(db_url: str) -> None:
    """Undo `app_db`'s replay mark: a fresh production database, as `factory-review init` leaves it."""
    from models.database import make_engine

    engine = make_engine(db_url)
    with Session(engine) as session:
        session.execute(delete(SystemState))
        session.commit()
    engine.dispose()


def first_admin(session: Session, email: str = "admin@miit.gov.cn") -> Account:
    return create_first_admin(session, email=email, password=PASSWORD, display_name="部管理员", at=NOW)


def grant(session: Session, by: Account, role: str, unit: str, *, email: str | None = None, **kw: Any) -> Account:
    email = email or f"{role}.{unit.replace('.', '-')}@gov.example.cn".lower()
    return grant_account(session, by=by, email=email, password=PASSWORD, role=role, unit=unit, at=NOW, **kw)


def cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run `factory-review ARGV` in-process through `main` (exit codes as a shell sees them)."""
    from cli.main import main

    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def password_file(tmp_path: Path, text: str = PASSWORD, name: str = "pw") -> str:
    path = tmp_path / name
    path.write_text(text + "\n", encoding="utf-8")
    return str(path)
