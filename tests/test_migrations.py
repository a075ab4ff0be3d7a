"""The schema's migrations (migrations/versions): one baseline at 0012, reversible, and a database stamped with a
revision this build does not know is refused with a typed error that says what to do, untouched."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import inspect

from models.database import alembic_config, make_engine, migrate
from models.errors import SchemaUnknown


def test_a_pre_release_database_is_refused_by_name_and_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        raw.execute("INSERT INTO alembic_version VALUES ('0007')")
    engine = make_engine(f"sqlite:///{path}")
    with pytest.raises(SchemaUnknown, match=r"'0007'.*factory-review init") as refused:
        migrate(engine)
    assert refused.value.rule == "schema-revision" and refused.value.exit_code == 2
    assert inspect(engine).get_table_names() == ["alembic_version"]
    engine.dispose()


def test_the_baseline_goes_down_to_nothing_and_up_again(tmp_path: Path) -> None:
    from alembic import command

    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    migrate(engine)
    tables = set(inspect(engine).get_table_names())
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "base")
    assert inspect(engine).get_table_names() == ["alembic_version"]
    migrate(engine)
    assert set(inspect(engine).get_table_names()) == tables and {"application", "audit_event"} <= tables
    engine.dispose()
