"""List the functions longer than a limit (default 60 lines) in the product packages.

    .venv/bin/python scripts/long_functions.py [LIMIT]     # exit 1 when any is listed
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("models", "states", "programmes", "notifications", "flows", "cli", "replay", "bench", "documents")


def long_functions(limit: int = 60) -> list[tuple[str, int, str, int]]:
    """(file, line, name, length) of every function or method longer than `limit` lines."""
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno:
                    length = node.end_lineno - node.lineno + 1
                    if length > limit:
                        found.append((str(path.relative_to(ROOT)), node.lineno, node.name, length))
    return found


if __name__ == "__main__":
    rows = long_functions(int(sys.argv[1]) if len(sys.argv) > 1 else 60)
    for file, line, name, length in rows:
        print(f"{file}:{line} {name} {length} lines")
    sys.exit(1 if rows else 0)
