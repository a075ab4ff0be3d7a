"""Audit export for auditors: JSON lines and/or CSV (UTF-8 with BOM, so Excel shows Chinese), with a
manifest holding each file's SHA-256 and a signed anchor of the whole trail (states.ledger).

Every hashed field is exported exactly as it was hashed, so `verify_export` re-checks the chains offline,
without the database: an outside auditor can check what they were given.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from models.cells import write_csv
from models.clock import SHANGHAI, shanghai_text, to_utc
from models.tables import AuditEvent
from states.audit import audit_key, verify

FORMATS = ("jsonl", "csv")
COLUMNS = [
    "id",
    "subject",
    "seq",
    "application_id",
    "actor_name",
    "actor_role",
    "actor_unit",
    "event",
    "from_state",
    "to_state",
    "reason",
    "data",
    "at_utc",
    "at_shanghai",
    "recorded_at_utc",
    "prev_hash",
    "hash",
]


def _instant(value: datetime | None) -> str:
    return to_utc(value).isoformat(timespec="microseconds") if value is not None else ""


def _row(e: AuditEvent) -> dict[str, Any]:
    assert e.at is not None
    return {
        "id": e.id,
        "subject": e.subject,
        "seq": e.seq,
        "application_id": e.application_id,
        "actor_name": e.actor_name,
        "actor_role": e.actor_role,
        "actor_unit": e.actor_unit,
        "event": e.event,
        "from_state": e.from_state,
        "to_state": e.to_state,
        "reason": e.reason,
        "data": json.dumps(e.data, ensure_ascii=False, sort_keys=True),
        "at_utc": _instant(e.at),
        "at_shanghai": shanghai_text(e.at),
        "recorded_at_utc": _instant(e.recorded_at),
        "prev_hash": e.prev_hash,
        "hash": e.hash,
    }


def _rows(session: Session, since: date | None, application: int | None) -> list[dict[str, Any]]:
    query = select(AuditEvent).order_by(col(AuditEvent.subject), col(AuditEvent.seq))
    if since is not None:  # a calendar day in Asia/Shanghai, like every deadline
        query = query.where(col(AuditEvent.at) >= datetime.combine(since, time(), SHANGHAI).astimezone(UTC))
    if application is not None:
        query = query.where(col(AuditEvent.subject) == f"application:{application}")
    return [_row(e) for e in session.scalars(query)]


def _write(folder: Path, rows: list[dict[str, Any]], fmt: str) -> Path:
    if fmt == "jsonl":
        path = folder / "audit.jsonl"
        with path.open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
        return path
    path = folder / "audit.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        write_csv(handle, COLUMNS, rows)  # reasons and names are user text: no live formulas
    return path


def export_audit(
    session: Session,
    folder: Path,
    *,
    formats: tuple[str, ...] = FORMATS,
    since: date | None = None,
    application: int | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """Write the events (audit.jsonl and/or audit.csv) and manifest.json (file hashes, filters, the
    verification of the live trail, and a signed anchor of the whole trail at export time)."""
    from states.ledger import anchor_document

    folder.mkdir(parents=True, exist_ok=True)
    rows = _rows(session, since, application)
    paths = [_write(folder, rows, fmt) for fmt in formats]
    report = verify(session)
    manifest = {
        "events": len(rows),
        "subjects": len({r["subject"] for r in rows}),
        "filters": {"since": since.isoformat() if since else None, "application": application},
        "chains_verified": report.ok,
        "problems": report.problems,
        "files": {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths},
        "anchor": anchor_document(session, at=at or datetime.now(UTC), key=audit_key()),
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return manifest
