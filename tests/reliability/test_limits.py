"""Limits at every door (issue #16 item 1): each breach is one line naming the field and the limit, exit 2,
nothing written. The probes of the issue: a YAML alias bomb, a 50 MB field, a NUL byte, 100,000 scenarios."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from cli.main import main
from models.database import get_engine
from models.errors import InvalidInput
from models.limits import MAX_APPLICATION_LIST, MAX_DEPTH, check_text, check_tree, load_yaml_bounded
from models.tables import Actor, Application, AuditEvent, Enterprise
from programmes.application_file import example

ROOT = Path(__file__).resolve().parents[2]
ENTERPRISE = yaml.safe_load((ROOT / "examples" / "enterprises.yaml").read_text(encoding="utf-8"))["enterprises"][0]


def alias_bomb(levels: int = 9, fan: int = 9) -> str:
    """Billion laughs in an enterprise's `recognitions`: fan**levels values once expanded."""
    lines = ["a0: &a0 [" + ", ".join(['"lol"'] * fan) + "]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * fan) + "]" for i in range(1, levels + 1)]
    entry = yaml.safe_dump([{**ENTERPRISE, "recognitions": "PLACEHOLDER"}], allow_unicode=True)
    return (
        "bomb:\n"
        + "\n".join("  " + line for line in lines)
        + "\nenterprises:\n"
        + entry.replace("PLACEHOLDER", f"*a{levels}").replace("\n", "\n  ").replace("- ", "  - ", 1)
    )


def rows(engine: Engine) -> tuple[int, ...]:
    with engine.connect() as conn:
        return tuple(
            conn.scalar(select(func.count()).select_from(t)) for t in (Enterprise, Actor, Application, AuditEvent)
        )  # type: ignore[misc]


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, (captured.err + captured.out).strip()


@pytest.mark.parametrize(("levels", "fan"), [(9, 9), (6, 8), (5, 9)])  # many aliases; few, widely expanded
def test_alias_bomb_is_refused_in_under_a_second_and_100_mb(levels: int, fan: int) -> None:
    text = alias_bomb(levels, fan)
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(InvalidInput) as refused:
        load_yaml_bounded(text, source="bomb.yaml")
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert seconds < 1.0 and peak < 100 * 2**20, (seconds, peak)  # the figures
    assert "limit" in str(refused.value) and "bomb.yaml" in str(refused.value)


def _limited_memory() -> None:  # the child may not take the machine down if the bomb goes off
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def test_alias_bomb_through_the_cli_exits_2_with_one_line_and_writes_nothing(app_db: str, tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(alias_bomb(), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    before = rows(get_engine())
    child = subprocess.run(
        [sys.executable, "-m", "cli.main", "enterprise", "add", str(bomb)], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=120, preexec_fn=_limited_memory,
    )  # fmt: skip
    assert child.returncode == 2, (child.returncode, child.stderr[-500:])
    [line] = child.stderr.strip().splitlines()
    assert "bomb.yaml" in line and "limit" in line and "Traceback" not in child.stderr
    assert rows(get_engine()) == before


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("name", "测试" * 200, "enterprise.name: 400 characters, more than the limit of 200"),
        ("name", "青浦\x00精密", "enterprises[1].name: contains the control character NUL"),
        ("industry", "x\x1b[31m", "enterprises[1].industry: contains the control character ESC"),
        ("recognitions", [{"tier": "advanced", "note": "x" * 20_000}], "recognitions[0].note: 20,000 characters"),
    ],
)
def test_enterprise_field_breaches_name_field_and_limit(
    app_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], field: str, value: object, expected: str
) -> None:
    good = {**ENTERPRISE, "credit_code": "91310115MA1EXA0025", "district": "sh.pudong"}
    file = tmp_path / "e.yaml"
    file.write_text(yaml.safe_dump({"enterprises": [good, {**ENTERPRISE, field: value}]}, allow_unicode=True))
    before = rows(get_engine())
    code, output = run_cli(["enterprise", "add", str(file)], capsys)
    assert code == 2 and expected in output and len(output.splitlines()) == 1, output
    assert rows(get_engine()) == before  # the good first item was not written either


def test_a_50_mb_file_is_refused_before_it_is_read(
    app_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "big.yaml"
    with file.open("w", encoding="utf-8") as handle:
        handle.write("enterprises:\n  - name: ")
        handle.write("x" * 50_000_000)
    code, output = run_cli(["enterprise", "add", str(file)], capsys)
    assert code == 2 and "50,000,0" in output and "more than the limit of 2,000,000" in output, output


def test_100000_scenarios_are_refused(app_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pydantic import ValidationError

    from programmes.application_file import ApplicationFile

    application = example("excellent")
    application["scenarios"] = [application["scenarios"][0]] * 100_000
    with pytest.raises(ValidationError, match="100,000 entries, more than the limit of 5,000"):
        ApplicationFile.model_validate(application)  # inline (flow parameters, web)
    file = tmp_path / "app.json"
    file.write_text(json.dumps(application, ensure_ascii=False, default=str), encoding="utf-8")
    before = rows(get_engine())
    code, output = run_cli(["apply", str(file)], capsys)
    assert code == 2 and "more than the limit of" in output, output  # the file's size gives out first
    application["scenarios"] = application["scenarios"][: MAX_APPLICATION_LIST + 1]
    file.write_text(json.dumps(application, ensure_ascii=False, default=str), encoding="utf-8")
    code, output = run_cli(["apply", str(file)], capsys)
    assert code == 2 and "scenarios" in output and str(MAX_APPLICATION_LIST) in output, output
    assert rows(get_engine()) == before


def test_nul_in_an_application_title_is_refused(
    app_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    application = {**example("excellent"), "title": "智能\x00工厂"}
    file = tmp_path / "app.yaml"
    file.write_text(yaml.safe_dump(application, allow_unicode=True), encoding="utf-8")
    code, output = run_cli(["apply", str(file)], capsys)
    assert code == 2 and "title" in output and "NUL" in output, output


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=f"nested deeper than the limit of {MAX_DEPTH}"):
        load_yaml_bounded("a: " + "[" * 50_000 + "]" * 50_000, source="deep.yaml")


def test_a_tree_the_quick_walk_passes_over_is_judged_by_the_full_walk() -> None:
    """`check_tree` passes a plain tree at once; a shared node, a breach or too many values in all get the full
    walk, so each is still accepted or refused as before, naming what it breaks."""
    shared = ["能力"] * 10
    assert check_tree({"a": shared, "b": [shared, shared]}, field="t") is not None  # aliases within the limits
    with pytest.raises(InvalidInput, match="more than 100,000 values"):
        check_tree([[0] * 4_000 for _ in range(30)], field="many")  # no list over MAX_LIST, 120,000 values
    with pytest.raises(InvalidInput, match=r"^k\.k key: contains the control character U\+0007"):
        check_tree({"k": {"bad\x07": 1}}, field="k")
    with pytest.raises(InvalidInput, match=r"^deep\[0\]\[0\].*nested deeper"):
        check_tree([[[[[[[[[[[[[[[[[[[[["x"]]]]]]]]]]]]]]]]]]]]], field="deep")
    looped: list[object] = []
    looped.append(looped)
    with pytest.raises(InvalidInput, match="refers to itself"):
        check_tree(looped, field="loop")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["actor", "add", "local_officer@sh.qingpu", "--name", "青浦\x00经委"],
            "--name: contains the control character NUL",
        ),
        (["actor", "add", "local_officer@sh.qingpu", "--name=" + "x" * 20_000], "--name: 20,000 characters"),
        (["actor", "add", "local_officer@sh.qingpu", "--name", "x" * 300], "actor.name: 300 characters"),
        (["actor", "add", "local_officer@sh.qingpu", "--name", "x", "--email", "a@-b-.cn"], "actor email"),
    ],
)
def test_cli_options_are_bounded(
    app_db: str, capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    before = rows(get_engine())
    code, output = run_cli(args, capsys)
    assert code == 2 and expected in output and len(output.splitlines()) == 1, output
    assert rows(get_engine()) == before


def test_flow_parameters_are_bounded() -> None:
    from pydantic import ValidationError

    from flows.common import EventItem, StageParams

    with pytest.raises(ValidationError, match="NUL"):
        StageParams(actor="local_officer@sh.qingpu", now="2025-07-01\x00")
    with pytest.raises(ValidationError, match="10,000"):
        EventItem(application_id=1, event="return_for_revision", reason="x" * 20_000)


def test_check_text_is_the_forms_api() -> None:
    assert check_text("说明", "多行\n说明\t可以") == "多行\n说明\t可以"
    with pytest.raises(InvalidInput, match=r"^说明: contains the control character NUL"):
        check_text("说明", "a\x00")
