"""How the house is built, checked: no import for its side effects, no function over ~60 lines, no test
that cannot fail."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = (
    "models", "states", "programmes", "notifications", "flows", "cli", "replay", "bench", "migrations", "documents",
)
KNOWN_LONG: set[tuple[str, str]] = set()  # none left; a new exception must be argued here


def test_no_import_for_its_side_effects() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for package in PRODUCT
        for path in (ROOT / package).rglob("*.py")
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"^\s*import .*# noqa: F401|for (its |their )?side effects", line)
    ]
    assert offenders == []


def test_no_function_over_60_lines() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    from long_functions import long_functions

    found = {(file, name): length for file, _, name, length in long_functions(60)}
    assert set(found) <= KNOWN_LONG, found


def test_no_test_that_cannot_fail() -> None:
    always = "or " + "True"  # spelled apart so that this file does not match itself
    result = subprocess.run(["grep", "-rn", always, str(ROOT / "tests")], capture_output=True, text=True)
    assert result.stdout == ""


def test_flow_files_stay_thin() -> None:
    """A flow file puts small tasks in order: its rules live in the service layer, the shared decision
    block and follow-ups in flows/common.py, flows/rounds.py, flows/drafts.py, flows/followups.py."""
    shared = {"common.py", "prefect_server.py"}
    long = {
        path.name: length
        for path in (ROOT / "flows").glob("*.py")
        if path.name not in shared and "@flow(" in (text := path.read_text(encoding="utf-8"))
        and (length := len(text.splitlines())) > 60
    }
    flows = [p.name for p in (ROOT / "flows").glob("*.py") if "@flow(" in p.read_text(encoding="utf-8")]
    assert len(flows) >= 10 and long == {}, long
