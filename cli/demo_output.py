"""The demo's output folder: only ever one demo in it, and nothing removed that a demo did not create.

- A folder the demo may use is new, empty, carries the marker file `.factory-review-demo` that a previous
  demo wrote, or holds only what a demo writes (an earlier version's output); any other folder
  (`--output data` with the database in it) is refused, untouched.
- A lock (`.factory-review-demo.lock`, `flock`) is held for the whole run: a second demo on the same
  folder is refused with one line. The kernel releases the lock when the process ends, however it ends,
  so a killed demo never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from models.errors import InvalidInput

MARKER = ".factory-review-demo"
LOCK = ".factory-review-demo.lock"
RULE = "demo-output"
# What a demo writes (cli/demo.py): a folder holding only these is an earlier demo's, marker or not.
DEMO_ENTRIES = frozenset({LOCK, "demo.db", "demo.db-wal", "demo.db-shm", "demo.db-journal", "mail", "summary-tables",
                          "audit", "lifecycle.md", "refusals.jsonl", "summary.json", "prefect"})  # fmt: skip


def _refuse_foreign(output: Path) -> None:
    """A folder with content but no marker was not made by a demo: refuse before touching anything."""
    if not output.exists():
        return
    if not output.is_dir():
        raise InvalidInput(f"--output {output}: is not a folder", rule=RULE)
    if (output / MARKER).exists():
        return
    if any(p.name not in DEMO_ENTRIES for p in output.iterdir()):
        raise InvalidInput(
            f"--output {output}: not empty and not made by a demo (no {MARKER} file); "
            "choose a new or empty folder, nothing was changed",
            rule=RULE,
        )


@contextlib.contextmanager
def claim_output(output: Path) -> Iterator[Path]:
    """Check, lock and mark the folder for one demo run; the lock is released when the run ends."""
    _refuse_foreign(output)
    output.mkdir(parents=True, exist_ok=True)
    handle = os.open(output / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(handle, 32, 0).decode("ascii", "replace").strip() or "?"
            raise InvalidInput(
                f"--output {output}: another demo (pid {holder}) is running in this folder; "
                "wait for it or choose another --output",
                rule=RULE,
            ) from None
        _refuse_foreign(output)  # checked again under the lock: another run may have written meanwhile
        os.ftruncate(handle, 0)
        os.pwrite(handle, str(os.getpid()).encode("ascii"), 0)
        (output / MARKER).write_text("made by factory-review demo; the demo may replace what is here\n")
        yield output
    finally:
        os.close(handle)  # releases the lock
