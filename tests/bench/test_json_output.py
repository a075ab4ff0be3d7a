"""`python -m bench --json`: stdout is the JSON list alone, whatever the benches print on the way."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_what_the_benches_print_goes_to_stderr_and_stdout_is_the_json() -> None:
    # A bench that prints the way the workers row did: Python's print (prefect deploy's table) and a
    # child process writing to the descriptor it inherited.
    script = textwrap.dedent("""
        import subprocess, sys
        import bench.__main__ as m

        def noisy(size=1):
            print("Successfully created/updated all deployments!")
            subprocess.run([sys.executable, "-c", "print('from a child process')"], check=True)
            return [{"name": "noisy", "size": size, "seconds": 0.5, "baseline": "quiet", "baseline_seconds": 0.25}]

        m.BENCHES[:] = [m.Bench("noisy", "__main__:noisy")]
        raise SystemExit(m.main(["--json"]))
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert [(r["bench"], r["name"], r["ratio"]) for r in rows] == [("noisy", "noisy", 2.0)]
    assert "Successfully created" in done.stderr and "from a child process" in done.stderr
