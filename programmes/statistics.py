"""Season statistics as data: the per-unit figures quotas are computed from (251 §2(二)2, §3(二)2).

The seeds name the measures (2024 industrial value-added rank, 2024 excellent-factory count) but not
their values; an administrator loads them from a CSV or xlsx file (`stats template` writes one). A file is
checked whole before anything is stored: every problem is reported with its row and column, and a file
with any problem loads nothing. Each load is a new version on the chain `statistics:<season>`; the
newest version overrides the season file's values for the statistics it holds.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from models.clock import to_utc
from models.enums import MINISTRY_UNIT, Role
from models.errors import InvalidInput, NotAuthorised
from models.tables import Actor, StatisticsVersion
from programmes.season import Season
from states.audit import append_event, content_digest

SOURCE = "251 §2(二)2, §3(二)2"
UNIT_HEADER = "单位代码 unit"
NAME_HEADER = "单位名称 name"
MAX_PROBLEMS_SHOWN = 8


@dataclass(frozen=True)
class StatColumn:
    """A statistic a quota rule is computed from, and the units that need a value of it."""

    key: str
    label: str
    units: tuple[str, ...]
    minimum: int
    distinct: bool

    @property
    def header(self) -> str:
        return f"{self.label} {self.key}"


def columns(season: Season) -> list[StatColumn]:
    """One column per statistic some quota rule is computed from (`by:`), in the season's order."""
    out = []
    for key, stat in season.statistics.items():
        rules = [q for q in season.quotas if q.by == key]
        if not rules:
            continue
        units = tuple(u.code for u in season.units if any(q.applies_to(season, u.code) for q in rules))
        out.append(StatColumn(key, stat.label, units, stat.minimum, stat.distinct))
    return out


def letter(index: int) -> str:
    """Spreadsheet column letter of a 0-based index (A, B, …, Z, AA)."""
    text = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        text = chr(65 + rest) + text
    return text


# ---- reading a file ------------------------------------------------------------------------------------


def read_cells(path: Path) -> list[list[Any]]:
    """The rows of a CSV (UTF-8, with or without BOM) or of the first sheet of an xlsx file."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".xlsx":
            from openpyxl import load_workbook

            book = load_workbook(path, read_only=True, data_only=True)
            try:
                return [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]
            finally:
                book.close()
        if suffix == ".csv":
            return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    except OSError as exc:
        raise InvalidInput(f"{path.name}: cannot read: {exc.strerror or exc}", rule="statistics-file") from None
    except Exception as exc:  # BadZipFile / InvalidFileException (not an xlsx), UnicodeDecodeError, csv.Error
        raise InvalidInput(
            f"{path.name}: not a readable {suffix} file ({type(exc).__name__})", rule="statistics-file"
        ) from None
    raise InvalidInput(f"{path.name}: give a .csv or .xlsx file", rule="statistics-file")


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _whole(value: Any) -> int | None:
    """A cell as a whole number, or None: 12, 12.0 and "12" are; "十二", "12.5" and "" are not."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    text = _text(value)
    return int(text) if text.lstrip("-").isdigit() else None


def _find_column(header: list[str], key: str, label: str) -> int | None:
    for i, cell in enumerate(header):
        if cell in (key, label) or cell.split()[-1:] == [key]:
            return i
    return None


def parse_statistics(season: Season, cells: list[list[Any]], file_label: str) -> dict[str, dict[str, int]]:
    """Validate a whole file; return {statistic key: {unit: value}} or raise naming every row and column."""
    wanted = columns(season)
    header = [_text(c) for c in (cells[0] if cells else [])]
    unit_col = _find_column(header, "unit", "单位代码")
    stat_cols = {c.key: _find_column(header, c.key, c.label) for c in wanted}
    absent = (["unit (单位代码)"] if unit_col is None else []) + [
        f"{c.header}" for c in wanted if stat_cols[c.key] is None
    ]
    if absent:
        raise InvalidInput(
            f"{file_label}: nothing loaded — the header row (row 1) lacks the column(s) {', '.join(absent)}; "
            "start from `factory-review stats template`",
            rule="statistics-file",
            source=SOURCE,
        )
    assert unit_col is not None
    problems: list[str] = []
    values: dict[str, dict[str, int]] = {c.key: {} for c in wanted}
    seen: dict[str, int] = {}
    for number, row in enumerate(cells[1:], start=2):
        row = list(row) + [None] * (len(header) - len(row))
        if not any(_text(c) for c in row):
            continue
        _parse_row(season, wanted, stat_cols, unit_col, number, row, seen, values, problems)
    expected = dict.fromkeys(code for column in wanted for code in column.units)  # each unit once, in order
    problems.extend(f"no row for {season.unit(code).name_zh} ({code}) in column {letter(unit_col)} (unit)"
                    for code in expected if code not in seen)  # fmt: skip
    if problems:
        more = f"; … and {len(problems) - MAX_PROBLEMS_SHOWN} more" if len(problems) > MAX_PROBLEMS_SHOWN else ""
        raise InvalidInput(
            f"{file_label}: nothing loaded — " + "; ".join(problems[:MAX_PROBLEMS_SHOWN]) + more,
            rule="statistics-file",
            source=SOURCE,
            problems=len(problems),
        )
    return values


def _parse_row(season: Season, wanted: list[StatColumn], stat_cols: dict[str, int | None], unit_col: int,
               number: int, row: list[Any], seen: dict[str, int], values: dict[str, dict[str, int]],
               problems: list[str]) -> None:  # fmt: skip
    where = f"row {number}, column {letter(unit_col)} (unit)"
    code = _text(row[unit_col])
    if not code:
        problems.append(f"{where}: no unit code")
        return
    if code in seen:
        problems.append(f"{where}: {code} already given in row {seen[code]}")
        return
    if not season.has_unit(code) or not any(code in c.units for c in wanted):
        problems.append(f"{where}: {code!r} is not a unit these statistics cover")
        return
    seen[code] = number
    for column in wanted:
        index = stat_cols[column.key]
        assert index is not None
        cell = row[index] if index < len(row) else None
        where = f"row {number}, column {letter(index)} ({column.key})"
        value = _whole(cell)
        if value is None:
            shown = _text(cell)
            problems.append(f"{where}: {shown!r} is not a whole number" if shown else f"{where}: empty")
            continue
        if value < column.minimum:
            problems.append(f"{where}: {value} is below {column.minimum}")
            continue
        if column.distinct:
            other = next((u for u, v in values[column.key].items() if v == value), None)
            if other is not None:
                problems.append(f"{where}: {value} is already {other}'s (row {seen[other]}); each value once")
                continue
        values[column.key][code] = value


# ---- storing and reading versions --------------------------------------------------------------------------


def current(session: Session, season_name: str) -> StatisticsVersion | None:
    """The newest loaded version for the season, or None."""
    return session.scalars(
        select(StatisticsVersion)
        .where(col(StatisticsVersion.season) == season_name)
        .order_by(col(StatisticsVersion.version).desc())
    ).first()


def with_statistics(session: Session, season: Season) -> Season:
    """The season with the newest loaded statistics in place of the file's values (same object if none)."""
    latest = current(session, season.name)
    if latest is None:
        return season
    merged = {
        key: stat.model_copy(update={"values": dict(latest.values[key]), "source": f"loaded version {latest.version}"})
        if key in latest.values
        else stat
        for key, stat in season.statistics.items()
    }
    return season.model_copy(update={"statistics": merged})


def versions(session: Session, season_name: str) -> list[StatisticsVersion]:
    """Every loaded version of the season, oldest first (`stats show`, the web's statistics page)."""
    return list(
        session.scalars(
            select(StatisticsVersion)
            .where(col(StatisticsVersion.season) == season_name)
            .order_by(col(StatisticsVersion.version))
        ).all()
    )


def may_load(actor: Actor) -> bool:
    """Who may load national statistics: the scheduler, or an administrator or ministry officer at the ministry
    (the rank among provinces is one national table). The web shows the entry form to these only."""
    ministry = actor.unit == MINISTRY_UNIT and actor.role in (Role.ADMIN, Role.MINISTRY_OFFICER)
    return actor.role == Role.SYSTEM or ministry


def authorise_load(actor: Actor) -> None:
    """Refuse (NotAuthorised, with the rule) anyone `may_load` does not name."""
    if not may_load(actor):
        raise NotAuthorised(
            f"{actor.role}@{actor.unit} may not load national statistics: an administrator or ministry "
            f"officer at {MINISTRY_UNIT} may",
            rule="authorisation",
            source=SOURCE,
        )


def _changes(before: dict[str, dict[str, int]], after: dict[str, dict[str, int]]) -> dict[str, dict[str, list[Any]]]:
    out: dict[str, dict[str, list[Any]]] = {}
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key, {}), after.get(key, {})
        diff = {u: [old.get(u), new.get(u)] for u in sorted(set(old) | set(new)) if old.get(u) != new.get(u)}
        if diff:
            out[key] = diff
    return out


def load_statistics(session: Session, season: Season, values: dict[str, dict[str, int]], *, actor: Actor,
                    at: datetime, file_name: str = "") -> tuple[StatisticsVersion, bool]:  # fmt: skip
    """Store a validated set as the season's next version, audited; commits. Returns (version, created):
    loading the same figures again creates nothing."""
    authorise_load(actor)
    digest = content_digest(values)
    latest = current(session, season.name)
    if latest is not None and latest.sha256 == digest:
        return latest, False
    before = latest.values if latest else {k: dict(s.values) for k, s in season.statistics.items() if k in values}
    row = StatisticsVersion(
        season=season.name,
        version=(latest.version if latest else 0) + 1,
        values=values,
        sha256=digest,
        file_name=file_name[:300],
        loaded_by=f"{actor.role}@{actor.unit} {actor.name}".strip(),
        loaded_at=to_utc(at),
    )
    session.add(row)
    data = {"version": row.version, "sha256": digest, "file": row.file_name, "changes": _changes(before, values)}
    append_event(session, subject=f"statistics:{season.name}", actor=actor, event="statistics_loaded", data=data, at=at)
    session.commit()
    return row, True


# ---- the template -----------------------------------------------------------------------------------------


def template_rows(session: Session | None, season: Season) -> list[list[Any]]:
    """Header and one row per unit, prefilled with the values in force (blank where none)."""
    wanted = columns(season)
    effective = with_statistics(session, season) if session is not None else season
    units = [u for u in season.units if any(u.code in c.units for c in wanted)]
    rows: list[list[Any]] = [[UNIT_HEADER, NAME_HEADER, *[c.header for c in wanted]]]
    for unit in units:
        figures = [effective.statistics[c.key].values.get(unit.code, "") for c in wanted]
        rows.append([unit.code, unit.name_zh, *figures])
    return rows


def write_template(rows: list[list[Any]], path: Path | None) -> str | None:
    """Write the rows to an .xlsx or .csv (UTF-8 with BOM, for spreadsheet programs); None → return CSV text."""
    if path is not None and path.suffix.lower() == ".xlsx":
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.title = "statistics"
        for row in rows:
            sheet.append(row)
        sheet.freeze_panes = "A2"
        book.save(path)
        return None
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    if path is None:
        return buffer.getvalue()
    path.write_text(buffer.getvalue(), encoding="utf-8-sig")
    return None
