"""The demo's processes and output folder (issue #16 item 4): a second demo on one folder is refused, a
folder the demo did not make is never deleted, and SIGTERM stops every child the demo started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cli.demo_output import LOCK, MARKER, claim_output
from cli.main import main

ROOT = Path(__file__).resolve().parents[2]


def run_demo_cli(output: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["demo", "--fast", "--enterprises", "4", "--output", str(output)])
    captured = capsys.readouterr()
    return code, (captured.err + captured.out).strip()


def test_a_second_demo_on_the_same_folder_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "out"
    with claim_output(output):  # the first demo, running
        code, text = run_demo_cli(output, capsys)
    assert code == 2 and len(text.splitlines()) == 1, text
    assert f"another demo (pid {os.getpid()}) is running" in text


def test_output_never_deletes_a_folder_the_demo_did_not_make(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"  # the default data folder: `--output data`
    (data / "mail").mkdir(parents=True)
    (data / "factory-review.db").write_bytes(b"precious")
    (data / "mail" / "1.eml").write_text("precious")
    code, text = run_demo_cli(data, capsys)
    assert code == 2 and "not made by a demo" in text and len(text.splitlines()) == 1, text
    assert (data / "factory-review.db").read_bytes() == b"precious"
    assert (data / "mail" / "1.eml").read_text() == "precious"
    assert sorted(p.name for p in data.iterdir()) == ["factory-review.db", "mail"]  # no marker, no lock left


def test_new_empty_marked_and_earlier_demo_folders_are_accepted(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    earlier = tmp_path / "earlier"  # an older demo's output, before the marker existed
    (earlier / "mail").mkdir(parents=True)
    (earlier / "summary.json").write_text("{}")
    for folder in (tmp_path / "new", tmp_path / "empty", earlier, tmp_path / "new"):
        with claim_output(folder):
            assert (folder / MARKER).exists() and (folder / LOCK).exists()


def _children(pid: int) -> set[int]:
    """Every live descendant of `pid` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_demo_and_every_child_it_started(tmp_path: Path, sig: signal.Signals) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": ""}
    demo = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "demo", "--enterprises", "4", "--output", str(tmp_path / "out")],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    seen: set[int] = set()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not any("prefect" in _cmdline(p) for p in seen):
        assert demo.poll() is None, "the demo ended before it started its Prefect server"
        seen |= _children(demo.pid)
        time.sleep(0.2)
    assert any("prefect" in _cmdline(p) for p in seen), "no Prefect server child seen"
    time.sleep(1.0)
    seen |= _children(demo.pid)
    demo.send_signal(sig)
    assert demo.wait(timeout=60) != 0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(_alive(p) for p in seen):
        time.sleep(0.2)
    assert not [p for p in seen if _alive(p)], "children outlived the demo"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""
