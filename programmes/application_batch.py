"""A batch of application files, as a unit's intake receives it: inline files, file paths, or one batch
file (a YAML/JSON list of application files, or `{applications: [...]}`). Each input that does not
validate is reported with the field at fault, and the others go on (`programmes.application_file`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from models.limits import load_file_bounded
from programmes.application_file import ApplicationFile, load_application_file


@dataclass(frozen=True)
class Invalid:
    """An input that did not validate: where it came from, the rule, and the first problem."""

    ref: str
    rule: str
    message: str


def first_error(exc: ValidationError) -> str:
    """`field.path: message` of a validation error's first problem."""
    first = exc.errors()[0]
    return f"{'.'.join(str(p) for p in first.get('loc', ()))}: {first.get('msg')}"


def load_batch(path: str) -> list[Any]:
    """A batch file: a list of application files, or a mapping with `applications`. JSON or YAML."""
    raw = load_file_bounded(path)
    if isinstance(raw, dict):
        raw = raw.get("applications")
    if not isinstance(raw, list):
        raise ValueError(f"{path}: a batch file is a list of application files (or {{applications: [...]}})")
    return raw


def read_batch(
    *, applications: Iterable[ApplicationFile], files: Iterable[str], batch_file: str | None
) -> tuple[list[tuple[str, ApplicationFile]], list[Invalid]]:
    """Every input as `(ref, file)`, and each one that does not validate as `Invalid` naming the field."""
    good: list[tuple[str, ApplicationFile]] = [(f"{a.credit_code}:{a.tier}", a) for a in applications]
    bad: list[Invalid] = []
    for path in files:
        try:
            good.append((path, load_application_file(path)))
        except ValidationError as exc:
            bad.append(Invalid(path, "application-schema", first_error(exc)))
        except (OSError, ValueError) as exc:
            bad.append(Invalid(path, "application-schema", str(exc).splitlines()[0]))
    if batch_file:
        try:
            raw = load_batch(batch_file)
        except (OSError, ValueError) as exc:
            raw = []
            bad.append(Invalid(batch_file, "input-file", str(exc).splitlines()[0]))
        for i, item in enumerate(raw):
            ref = f"{batch_file}#{i + 1}"
            try:
                good.append((ref, ApplicationFile.model_validate(item)))
            except ValidationError as exc:
                bad.append(Invalid(ref, "application-schema", first_error(exc)))
    return good, bad
