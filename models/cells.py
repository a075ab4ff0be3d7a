"""Spreadsheet cells that cannot run code (CSV/formula injection, OWASP "CSV Injection").

A spreadsheet reads a cell that starts with `= + - @` (or TAB/CR, which some strip first) as a formula:
`=HYPERLINK("http://evil","点此")` in an enterprise name would be a live link in the table a province
opens. Every CSV and xlsx writer of the project passes user text through here:

- CSV: `csv_cell(value)` prefixes such text with `'`, so it is shown as written and never evaluated;
  `write_csv(handle, fieldnames, rows)` does it for every cell;
- xlsx: `set_text_cell(cell, value)` stores the text unchanged with the string type, so the file holds
  text, not a formula (openpyxl would otherwise store any value starting with `=` as a formula).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from typing import IO, Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")  # "-3" or "+86" evaluates to itself: left as is


def is_formula_like(value: object) -> bool:
    """True for text a spreadsheet would evaluate."""
    return isinstance(value, str) and value.startswith(FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value)


def csv_cell(value: Any) -> Any:
    """The value to write in a CSV cell: formula-like text gets a leading apostrophe, the rest unchanged."""
    return "'" + value if is_formula_like(value) else value


def write_csv(handle: IO[str], fieldnames: list[str], rows: Iterable[Mapping[str, Any]]) -> None:
    """A header and the rows, every cell through `csv_cell` (header names are ours, not user text)."""
    writer = csv.DictWriter(handle, fieldnames=fieldnames)
    writer.writeheader()
    writer.writerows({key: csv_cell(value) for key, value in row.items()} for row in rows)


def set_text_cell(cell: Any, value: Any) -> None:
    """Put `value` into an openpyxl cell; formula-like text is stored as a string, never as a formula."""
    cell.value = value
    if is_formula_like(value):
        cell.data_type = "s"
