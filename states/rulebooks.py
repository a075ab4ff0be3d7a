"""Registering a rulebook (season file) by name: `factory-review season load FILE`, national administrators
only, audited on the chain `season:<name>` with the file's SHA-256 (issue #11 §6). A registered name is
immutable: different rules need a new name, so every application's recorded hash keeps meaning one text."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlmodel import Session

from models.clock import ensure_aware, to_utc
from models.enums import MINISTRY_UNIT, Role
from models.errors import InvalidInput, NotAuthorised, SeasonDataError
from models.tables import Account, SeasonRecord
from states.accounts import actor_for
from states.audit import append_event


def load_rulebook(session: Session, *, by: Account, path: Path, at: datetime) -> SeasonRecord:
    """Validate the file, keep its text and SHA-256 under its season name; audited; commits."""
    from programmes.season import SEASONS_DIR, load_season, season_path

    actor = actor_for(by)
    if by.role != Role.ADMIN or by.unit != MINISTRY_UNIT:
        raise NotAuthorised(f"{by.role}@{by.unit} may not load rulebooks: national administrators do",
                            rule="season-load", source="issue #11 §6")  # fmt: skip
    season = load_season(path)
    if season_path(season.name).parent == SEASONS_DIR and (SEASONS_DIR / f"{season.name}.yaml").is_file():
        raise InvalidInput(f"season {season.name} is shipped with the programme; load new rules under a new name",
                           rule="season-immutable")  # fmt: skip
    text = path.read_text(encoding="utf-8")
    existing = session.get(SeasonRecord, season.name)
    if existing is not None:
        if existing.sha256 == season.sha256:
            return existing
        raise SeasonDataError(f"season {season.name} is registered with other rules (sha256 {existing.sha256[:12]}…);"
                              " load the new rules under a new name", rule="season-immutable")  # fmt: skip
    record = SeasonRecord(name=season.name, sha256=season.sha256, text=text, loaded_by=by.id, loaded_at=to_utc(at))
    try:
        session.add(record)
        session.flush()
        append_event(session, subject=f"season:{season.name}", actor=actor, event="load_season", at=ensure_aware(at),
                     data={"sha256": season.sha256, "file": path.name, "units": len(season.units)})  # fmt: skip
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return record
