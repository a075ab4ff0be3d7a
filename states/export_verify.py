"""Verify an audit export offline, without the database: what an outside auditor runs on what they got.

Checks, first bad row first: each file's SHA-256 against the manifest; the manifest's anchor (its
signature with the audit key, its root over the inventory); every exported chain recomputed (from its
first exported event when the export was filtered) and ending at the head the anchor holds; and, for an
unfiltered export, that every chain of the anchor is in it.
"""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from models.cells import is_formula_like
from models.errors import InvalidInput
from models.tables import AuditEvent
from states.audit import GENESIS, Chains, VerifyReport, audit_key, verify_chain
from states.ledger import document_problems


def _event(row: dict[str, Any]) -> AuditEvent:
    def optional(name: str) -> Any:
        return row.get(name) if row.get(name) not in ("", None) else None

    return AuditEvent(
        id=int(row["id"]),
        subject=row["subject"],
        seq=int(row["seq"]),
        application_id=int(row["application_id"]) if optional("application_id") is not None else None,
        actor_name=row["actor_name"],
        actor_role=row["actor_role"],
        actor_unit=row["actor_unit"],
        event=row["event"],
        from_state=optional("from_state"),
        to_state=optional("to_state"),
        reason=row.get("reason") or "",
        data=json.loads(row["data"]),
        at=datetime.fromisoformat(row["at_utc"]),
        recorded_at=datetime.fromisoformat(row["recorded_at_utc"]) if optional("recorded_at_utc") else None,
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )


def _load_rows(folder: Path, files: dict[str, str]) -> list[dict[str, Any]]:
    if "audit.jsonl" in files:
        text = (folder / "audit.jsonl").read_text(encoding="utf-8")
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    with (folder / "audit.csv").open(encoding="utf-8-sig", newline="") as handle:
        return [{k: _cell(v) for k, v in row.items()} for row in csv.DictReader(handle)]


def _cell(value: str) -> str:
    """Undo models.cells.csv_cell: the apostrophe that keeps a formula-like text from running."""
    return value[1:] if value.startswith("'") and is_formula_like(value[1:]) else value


def _file_problems(folder: Path, files: dict[str, str]) -> list[str]:
    problems = []
    for name, digest in sorted(files.items()):
        path = folder / name
        if not path.is_file():
            problems.append(f"{name}: listed in the manifest but missing")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            problems.append(f"{name}: its SHA-256 is not the manifest's (file altered)")
    return problems


def _read_manifest(folder: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"{folder}: no readable manifest.json ({exc})", rule="audit-export") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise InvalidInput(f"{folder}/manifest.json: not an audit export manifest", rule="audit-export")
    return manifest


def verify_export(folder: Path) -> VerifyReport:
    """Re-check an export folder offline; the report lists the first bad row first."""
    manifest = _read_manifest(folder)
    report = VerifyReport(anchor=str((manifest.get("anchor") or {}).get("taken_at")))
    report.problems.extend(_file_problems(folder, manifest["files"]))
    if report.problems:
        return report
    chains = Chains()
    for row in _load_rows(folder, manifest["files"]):
        event = _event(row)
        chains.events.setdefault(event.subject, []).append(event)
    for events in chains.events.values():
        events.sort(key=lambda e: e.seq)
    report.subjects, report.events = len(chains.events), sum(len(e) for e in chains.events.values())
    anchor, key = manifest.get("anchor") or {}, audit_key()
    report.problems.extend(document_problems(anchor, anchor.get("inventory"), key))
    if report.problems:
        return report
    report.problems.extend(_chain_problems(chains, anchor, key, manifest.get("filters") or {}))
    return report


def _chain_problems(chains: Chains, anchor: dict[str, Any], key: bytes | None, filters: dict[str, Any]) -> list[str]:
    held = {s: (int(c), h) for s, c, h in anchor.get("inventory") or []}
    problems: list[str] = []
    for subject in sorted(chains.events):
        events = chains.events[subject]
        if subject not in held:
            problems.append(f"{subject}: exported but not in the manifest's anchor (inserted)")
            continue
        count, head = held[subject]
        start = GENESIS if events[0].seq == 1 else events[0].prev_hash
        problems.extend(verify_chain(subject, events, head, count, key, prev=start))
    if not any(filters.values()):
        missing = sorted(set(held) - set(chains.events))
        problems += [f"{s}: in the anchor but not in the export (chain deleted)" for s in missing]
    return problems
