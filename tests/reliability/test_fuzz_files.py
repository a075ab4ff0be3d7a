"""Fuzz (hypothesis) over application and enterprise files through the CLI doors: every outcome is done or
a typed refusal (one line, exit 1 or 2), never a traceback, and a refused file writes nothing.

FACTORY_REVIEW_DEBUG=1 makes an unexpected exception propagate, so hypothesis reports it with its input.
Scale knob: FACTORY_REVIEW_TEST_FUZZ_EXAMPLES (default 60 per property).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from cli.main import main
from models.database import get_engine
from models.tables import Actor, Application, AuditEvent, Enterprise, OutboxMessage
from programmes.application_file import example
from tests.reliability.figures import FIGURES
from tests.reliability.strategies import any_text, mutations

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = int(os.environ.get("FACTORY_REVIEW_TEST_FUZZ_EXAMPLES", "60"))
ENTERPRISES = yaml.safe_load((ROOT / "examples" / "enterprises.yaml").read_text(encoding="utf-8"))
APPLICATION = json.loads(json.dumps(example("excellent"), default=str))  # dates as text, as a file holds them
BOMB = "a: &a [x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [{', '.join([f'*{p}'] * 8)}]\n" for p, c in zip("abcdefg", "bcdefgh", strict=False)
)


def _counts() -> tuple[int, ...]:
    with get_engine().connect() as conn:
        tables = (Enterprise, Actor, Application, AuditEvent, OutboxMessage)
        return tuple(conn.scalar(select(func.count()).select_from(t)) or 0 for t in tables)  # type: ignore[arg-type]


def _through_the_door(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Run one command; a refusal is typed (one `refused:` line, exit 1 or 2) and changes nothing."""
    before = _counts()
    code = main(args)
    captured = capsys.readouterr()
    if code == 0:
        return
    lines = captured.err.strip().splitlines()
    assert code in (1, 2) and len(lines) == 1 and lines[0].startswith("refused:"), (code, captured.err[-400:])
    assert _counts() == before, "a refused file wrote something"


def _write(tmp_path: Path, document: Any, as_json: bool) -> Path:
    path = tmp_path / ("input.json" if as_json else "input.yaml")
    text = (
        json.dumps(document, ensure_ascii=False, default=str)
        if as_json
        else yaml.safe_dump(document, allow_unicode=True)
    )
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def debug(app_db: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("FACTORY_REVIEW_DEBUG", "1")  # an untyped exception is a failure, not a line
    assert main(["init"]) == 0
    return app_db


# Per kind of file: its mutations, the property it counts under, what must be there first, its command.
ENTERPRISES_ADDED = ["enterprise", "add", str(ROOT / "examples" / "enterprises.yaml")]
FILE_KINDS = [
    pytest.param(mutations(ENTERPRISES), "fuzz: enterprise file through the CLI", [], ["enterprise", "add"],
                 id="enterprise-added"),
    pytest.param(mutations(APPLICATION), "fuzz: application file through the CLI", [ENTERPRISES_ADDED],
                 ["--now", "2025-07-05", "apply"], id="application-drafted"),
]  # fmt: skip


@pytest.mark.parametrize(("files", "prop", "first", "command"), FILE_KINDS)
@settings(max_examples=EXAMPLES)
@given(data=st.data(), as_json=st.booleans())
def test_mutated_files_are_taken_or_refused_whole(
    debug: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    files: st.SearchStrategy[tuple[Any, str]],
    prop: str,
    first: list[list[str]],
    command: list[str],
    data: st.DataObject,
    as_json: bool,
) -> None:
    """A mutated file is taken (added, drafted) or refused whole through its CLI door."""
    mutated = data.draw(files)  # first: an example hypothesis discards while drawing is not counted
    FIGURES.example(prop)
    for args in first:
        assert main(args) == 0
        capsys.readouterr()
    _through_the_door([*command, str(_write(tmp_path, mutated[0], as_json))], capsys)


@settings(max_examples=EXAMPLES)
@given(st.one_of(any_text, st.just(BOMB), st.just("[" * 3000), st.just("a: !!python/object:os.system x")))
def test_any_text_as_a_file_is_refused_or_read(debug: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               text: str) -> None:  # fmt: skip
    FIGURES.example("fuzz: any text as an enterprise or application file")
    path = tmp_path / "input.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    _through_the_door(["enterprise", "add", str(path)], capsys)
    _through_the_door(["apply", str(path)], capsys)
