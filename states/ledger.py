"""The global ledger: one root over every chain head, anchored outside the database.

A per-subject chain proves its events follow one another, but not that the chain still exists, nor that
its tail was not cut with the head fixed to match. An anchor fixes, at one instant, the inventory of every
chain — [subject, length, head] — and its root (SHA-256 of the sorted inventory), HMAC-signed with the
audit key. The anchor is written to a file (and can be mailed to the auditors) so it lives outside the
database; `verify --anchor FILE` then proves every chain it lists still has that many events and that
its event #length still has that hash: nothing recorded before the anchor changed or disappeared.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlmodel import Session, col

from models.clock import shanghai_text, to_utc
from models.errors import AuditBroken, InvalidInput
from models.tables import Application, AuditAnchor, AuditChain
from states.audit_rows import canonical_json

if TYPE_CHECKING:
    from states.audit import Chains

KIND = "factory-review audit anchor"
_SIGNED = ("kind", "taken_at", "root", "subjects", "events", "keyed")


def inventory(session: Session) -> list[list[Any]]:
    """[subject, count, head] of every non-empty chain, sorted: what an anchor commits to."""
    rows: list[list[Any]] = [
        [f"application:{app_id}", count, head]
        for app_id, head, count in session.execute(
            select(col(Application.id), col(Application.audit_head), col(Application.audit_count))
        )
        if count
    ]
    rows += [
        [subject, count, head]
        for subject, head, count in session.execute(
            select(col(AuditChain.subject), col(AuditChain.head), col(AuditChain.count))
        )
        if count
    ]
    return sorted(rows)


def root_of(entries: list[list[Any]]) -> str:
    return hashlib.sha256(canonical_json(entries).encode("utf-8")).hexdigest()


def signature_of(document: dict[str, Any], key: bytes | None) -> str:
    payload = canonical_json({k: document.get(k) for k in _SIGNED}).encode("utf-8")
    return hmac.new(key, payload, hashlib.sha256).hexdigest() if key else hashlib.sha256(payload).hexdigest()


def anchor_document(session: Session, *, at: datetime, key: bytes | None) -> dict[str, Any]:
    """The signed anchor of the trail as it is now (not stored): root, counts, signature, inventory."""
    entries = inventory(session)
    document: dict[str, Any] = {
        "kind": KIND,
        "taken_at": to_utc(at).isoformat(timespec="microseconds"),
        "root": root_of(entries),
        "subjects": len(entries),
        "events": sum(int(e[1]) for e in entries),
        "keyed": key is not None,
    }
    return {**document, "signature": signature_of(document, key), "inventory": entries}


def take_anchor(session: Session, *, at: datetime, mail_to: str | None = None) -> dict[str, Any]:
    """Verify every chain, then record the root over all heads and return the signed anchor document.

    Refuses (AuditBroken, exit 3) on a broken trail: an anchor must never certify a forgery. With
    `mail_to`, the anchor is queued in the outbox for the auditors. Commits."""
    from states.audit import audit_key, verify

    report = verify(session)
    if not report.ok:
        raise AuditBroken(f"no anchor over a broken trail: {report.problems[0]}", rule="audit-anchor")
    document = anchor_document(session, at=at, key=audit_key())
    row = AuditAnchor(**{k: document[k] for k in ("root", "subjects", "events", "keyed", "signature", "inventory")},
                      taken_at=to_utc(at))  # fmt: skip
    session.add(row)
    session.flush()
    document["anchor_id"] = row.id
    if mail_to:
        _queue_mail(session, document, mail_to, at)
    session.commit()
    return document


def _queue_mail(session: Session, document: dict[str, Any], mail_to: str, at: datetime) -> None:
    from notifications.outbox import queue

    context = {**{k: document[k] for k in (*_SIGNED, "signature", "anchor_id")},
               "taken_at": shanghai_text(datetime.fromisoformat(document["taken_at"]))}  # fmt: skip
    queue(session, kind="audit_anchor", recipient=mail_to, recipient_name="审计 / auditors", context=context,
          dedupe_key=f"audit_anchor:{document['anchor_id']}:{mail_to}", at=at)  # fmt: skip


def write_anchor(document: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path


def read_anchor(path: Path) -> dict[str, Any]:
    """Load an anchor file; bad input (exit 2) if it is not one."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"{path}: not a readable anchor file ({exc})", rule="audit-anchor") from None
    if not isinstance(document, dict) or document.get("kind") != KIND:
        raise InvalidInput(f"{path}: not a factory-review audit anchor", rule="audit-anchor")
    return document


def anchor_inventory(session: Session | None, document: dict[str, Any]) -> list[list[Any]] | None:
    """The inventory an anchor commits to: from the file, else the audit_anchor row with its root."""
    if isinstance(document.get("inventory"), list):
        return list(document["inventory"])
    if session is None:
        return None
    row = session.scalars(select(AuditAnchor).where(col(AuditAnchor.root) == document.get("root"))).first()
    return list(row.inventory) if row is not None else None


def document_problems(document: dict[str, Any], entries: list[list[Any]] | None, key: bytes | None) -> list[str]:
    """The anchor's own checks: its signature (with the key if it was keyed) and its root over `entries`."""
    taken = document.get("taken_at")
    if document.get("keyed") and key is None:
        return [f"anchor of {taken}: signed with the audit key; set FACTORY_REVIEW_AUDIT_KEY to check it"]
    if signature_of(document, key if document.get("keyed") else None) != document.get("signature"):
        return [f"anchor of {taken}: its signature does not match (the file was altered, or another key)"]
    if entries is None:
        return [f"anchor of {taken}: its inventory is gone from the database (audit_anchor row deleted)"]
    if root_of(entries) != document.get("root"):
        return [f"anchor of {taken}: the inventory does not match its root (altered)"]
    return []


def check_anchor(session: Session | None, document: dict[str, Any], chains: Chains, key: bytes | None) -> list[str]:
    """Problems that show the trail no longer holds what the anchor saw (first bad row first)."""
    entries = anchor_inventory(session, document)
    if problems := document_problems(document, entries, key):
        return problems
    taken = document.get("taken_at")
    return [p for subject, count, head in entries or [] if (p := _held(chains, subject, int(count), head, taken))]


def _held(chains: Chains, subject: str, count: int, head: str, taken: Any) -> str:
    events = chains.events.get(subject, [])
    if not events:
        return f"{subject}: the anchor of {taken} holds {count} events, the database none (whole chain deleted)"
    if len(events) < count:
        return f"{subject}: the anchor of {taken} holds {count} events, the database {len(events)} (tail removed)"
    event = events[count - 1]
    if event.seq != count or event.hash != head:
        return f"{subject} event #{count} (id {event.id}): differs from the anchor of {taken} (rewritten)"
    return ""
