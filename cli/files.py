"""The files commands take (YAML/JSON mappings, application files; bad input as one line) and the CSV
they print."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from models.errors import InvalidInput


def load_file(path: Path) -> Any:
    """A YAML or JSON file's data within the input limits (models.limits); bad input is `InvalidInput`."""
    from models.limits import load_file_bounded

    return load_file_bounded(path)


def load_mappings(path: Path, key: str) -> list[dict[str, Any]]:
    """One mapping, a list of them, or `{key: [...]}`; anything else is `InvalidInput`."""
    data = load_file(path)
    items = data if isinstance(data, list) else (data.get(key, [data]) if isinstance(data, dict) else [])
    if not isinstance(items, list):  # `enterprises: null` or a scalar (found by tests/reliability/test_fuzz_files.py)
        raise InvalidInput(f"{path}: {key} must be a list of mappings", rule="input-file")
    for item in items:
        if not isinstance(item, dict):
            raise InvalidInput(f"{path}: each entry of {key} must be a mapping", rule="input-file")
    return items


def load_application_file(path: Path) -> Any:
    """An `ApplicationFile` (schema in README), the first problem named by its field."""
    from pydantic import ValidationError

    from programmes.application_file import ApplicationFile

    raw = load_file(path)
    try:
        return ApplicationFile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "file"
        raise InvalidInput(f"{path}: {where}: {first.get('msg')}", rule="application-schema") from None


def emit_csv(rows: list[dict[str, Any]], fieldnames: list[str]) -> None:
    """CSV on stdout with a UTF-8 BOM (Excel otherwise reads the Chinese as mojibake); cells that a
    spreadsheet would evaluate are neutralised (models.cells)."""
    from models.cells import write_csv

    sys.stdout.write("\ufeff")
    write_csv(sys.stdout, fieldnames, [{k: row.get(k) for k in fieldnames} for row in rows])
