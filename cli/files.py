"""The files commands take (YAML/JSON mappings, application files; bad input as one line) and the CSV
they print."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

from models.errors import InvalidInput


def load_file(path: Path) -> Any:
    """A YAML or JSON file's data; a missing, unreadable or malformed file is `InvalidInput`."""
    try:
        if not path.is_file():
            raise InvalidInput(
                f"{path}: no such file" if not path.exists() else f"{path}: not a file", rule="input-file"
            )
        text = path.read_text(encoding="utf-8")
    except (OSError, ValueError) as exc:
        if isinstance(exc, InvalidInput):
            raise
        raise InvalidInput(f"{str(path)[:80]}: cannot read: {exc.__class__.__name__}", rule="input-file") from None
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text)
        import yaml

        return yaml.safe_load(text)
    except (ValueError, Exception) as exc:  # yaml.YAMLError, json.JSONDecodeError
        raise InvalidInput(
            f"{path}: not valid {path.suffix.lstrip('.').upper() or 'YAML'}: {exc}".splitlines()[0], rule="input-file"
        ) from None


def load_mappings(path: Path, key: str) -> list[dict[str, Any]]:
    """One mapping, a list of them, or `{key: [...]}`; anything else is `InvalidInput`."""
    data = load_file(path)
    items = data if isinstance(data, list) else (data.get(key, [data]) if isinstance(data, dict) else [])
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
    """CSV on stdout with a UTF-8 BOM (Excel otherwise reads the Chinese as mojibake)."""
    sys.stdout.write("\ufeff")
    writer = csv.DictWriter(sys.stdout, fieldnames=fieldnames, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
