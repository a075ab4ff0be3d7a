"""Audit export for auditors: JSON lines and CSV, with a manifest of SHA-256 hashes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from models.cells import write_csv
from models.clock import shanghai_text
from models.tables import AuditEvent
from states.audit import verify

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
    "prev_hash",
    "hash",
]


def _rows(session: Session) -> list[dict[str, Any]]:
    rows = []
    for e in session.scalars(select(AuditEvent).order_by(AuditEvent.subject, AuditEvent.seq)):  # type: ignore[arg-type]
        assert e.at is not None
        rows.append(
            {
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
                "at_utc": e.at.isoformat(),
                "at_shanghai": shanghai_text(e.at),
                "prev_hash": e.prev_hash,
                "hash": e.hash,
            }
        )
    return rows


def export_audit(session: Session, folder: Path) -> dict[str, Any]:
    """Write audit.jsonl, audit.csv and manifest.json (file hashes, counts, chain verification)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = _rows(session)
    jsonl = folder / "audit.jsonl"
    with jsonl.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
    csv_path = folder / "audit.csv"
    with csv_path.open("w", encoding="utf-8", newline="") as handle:
        write_csv(handle, COLUMNS, rows)  # reasons and names are user text: no live formulas
    report = verify(session)
    manifest = {
        "events": len(rows),
        "subjects": report.subjects,
        "chains_verified": report.ok,
        "problems": report.problems,
        "files": {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (jsonl, csv_path)},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    return manifest
