"""`factory-review --help` stays fast: it must not import Prefect (~1.5 s) or the heavy layers."""

import subprocess
import sys


def test_help_does_not_import_prefect() -> None:
    code = (
        "import sys\n"
        "from cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = sorted(m for m in ('prefect', 'openpyxl', 'aiosmtplib', 'aiosmtpd') if m in sys.modules)\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert "Usage" in result.stdout
    assert "HEAVY=\n" in result.stdout, result.stdout[-300:]
