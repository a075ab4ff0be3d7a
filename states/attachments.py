"""Attachments: the files an enterprise uploads for its materials checklist (issue 14 §2).

`attach` is the one entry point that adds (or replaces) a file. Its steps:

1. check the file on its own: a name, a size within `MAX_ATTACHMENT_BYTES`, a type from its content (the
   magic bytes: PDF, JPEG, PNG, XLSX) that agrees with its extension — a disguised file is refused;
2. load the application; only its applicant may attach, and only while the content may change (draft or
   returned for revision); the key must be an item of the tier's checklist (season data);
3. check the application's total stays within `MAX_APPLICATION_ATTACHMENT_BYTES`;
4. store the bytes outside the database under `<root>/<sha256[:2]>/<sha256>` (written to a temporary file
   and renamed, so a reader never sees half a file);
5. in one transaction: the attachment row, the content's `materials[key]` naming the file and its SHA-256
   (so submission freezes the hash with the content, 251 §2(二)3), and the audit event; commit.

A refusal raises a typed `ReviewError` before step 4 and leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from models.clock import ensure_aware, to_utc
from models.database import unit_of_work
from models.errors import InvalidInput, NotAuthorised, NotFound, ReviewError, TransitionRefused
from models.limits import MAX_APPLICATION_ATTACHMENT_BYTES, MAX_ATTACHMENT_BYTES, MAX_SHORT_TEXT, check_text
from models.tables import Actor, Application, Attachment, Enterprise
from programmes.rules import material_items
from programmes.season import get_season
from states.audit import append_event
from states.intake import EDITABLE

PDF, JPEG, PNG = "application/pdf", "image/jpeg", "image/png"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXTENSIONS = {".pdf": PDF, ".jpg": JPEG, ".jpeg": JPEG, ".png": PNG, ".xlsx": XLSX}
SOURCE = "issue 14 §2 (PDF/JPG/PNG/XLSX, checked by content, size-limited)"


class AttachmentCorrupt(ReviewError, rule="attachment-integrity"):
    """The stored bytes no longer hash to the recorded SHA-256."""


def sniff(data: bytes) -> str | None:
    """The media type the content's magic bytes declare, or None for anything else."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, ValueError):
            return None
        return XLSX if "[Content_Types].xml" in names and "xl/workbook.xml" in names else None
    return None


def clean_filename(filename: str) -> str:
    """The last part of the name the browser sent (no folders), within the limits; never empty."""
    name = re.split(r"[\\/]", filename or "")[-1].strip()
    if not name:
        raise InvalidInput("choose a file to upload (选择要上传的文件)", rule="attachment-empty", source=SOURCE)
    return check_text("attachment.filename", name, max_length=MAX_SHORT_TEXT)


def check_file(filename: str, data: bytes) -> tuple[str, str]:
    """(name, media type) of an acceptable file, or `InvalidInput` naming what is wrong."""
    name = clean_filename(filename)
    if not data:
        raise InvalidInput(f"{name} is empty (文件为空)", rule="attachment-empty", source=SOURCE)
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise InvalidInput(f"{name} has {len(data):,} bytes, more than the limit of {MAX_ATTACHMENT_BYTES:,} per file "
                           "(单个文件超过大小上限)", rule="attachment-size", source=SOURCE)  # fmt: skip
    declared = EXTENSIONS.get(Path(name).suffix.lower())
    if declared is None:
        raise InvalidInput(f"{name}: only PDF, JPG, PNG or XLSX files are accepted (仅接受 PDF、JPG、PNG、XLSX)",
                           rule="attachment-type", source=SOURCE)  # fmt: skip
    actual = sniff(data)
    if actual != declared:
        raise InvalidInput(f"{name}: the content is not a {Path(name).suffix.lower()[1:].upper()} file "
                           "(文件内容与扩展名不符)", rule="attachment-type", source=SOURCE)  # fmt: skip
    return name, declared


def material_text(filename: str, sha256: str) -> str:
    """What `materials[key]` holds for an uploaded file: its name and hash, frozen with the content."""
    return f"{filename} (SHA-256 {sha256})"


def _editable(session: Session, application_id: int, actor: Actor) -> tuple[Application, Enterprise]:
    application = session.get(Application, application_id, populate_existing=True)
    enterprise = session.get(Enterprise, application.enterprise_id) if application else None
    if application is None or enterprise is None:
        raise NotFound(f"application {application_id} does not exist", rule="not-found")
    if not (actor.role == "enterprise" and actor.unit == enterprise.credit_code):
        raise NotAuthorised(f"only the applicant may attach files to application {application_id}",
                            rule="authorisation", source=SOURCE)  # fmt: skip
    if application.state not in EDITABLE:
        raise TransitionRefused(
            f"application {application_id} is {application.state}: its submitted content and files are frozen",
            rule="content-frozen", source="251 §2(二)3 (纸质版申报书须与线上填报一致)",
        )  # fmt: skip
    return application, enterprise


def _material_key(application: Application, enterprise: Enterprise, key: str) -> None:
    items, source = material_items(get_season(application.season), application.tier, application.track,
                                   enterprise.jurisdiction)  # fmt: skip
    if key not in {m.key for m in items}:
        raise InvalidInput(f"{key!r} is not an item of this application's materials checklist",
                           rule="material-checklist", source=source)  # fmt: skip


def _total_after(session: Session, application_id: int, key: str, size: int) -> None:
    others = session.scalar(
        select(func.coalesce(func.sum(Attachment.size), 0)).where(
            col(Attachment.application_id) == application_id, col(Attachment.material_key) != key)
    )  # fmt: skip
    total = int(others or 0) + size
    if total > MAX_APPLICATION_ATTACHMENT_BYTES:
        raise InvalidInput(f"the application's files would total {total:,} bytes, more than the limit of "
                           f"{MAX_APPLICATION_ATTACHMENT_BYTES:,} (附件总大小超过上限)", rule="attachment-total",
                           source=SOURCE)  # fmt: skip


def store(root: Path, data: bytes) -> str:
    """Write the bytes under `root` by their SHA-256 (atomically; an existing copy is kept) → the hash."""
    digest = hashlib.sha256(data).hexdigest()
    target = root / digest[:2] / digest
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, target)
    return digest


def attach(session: Session, *, application_id: int, material_key: str, filename: str, data: bytes, actor: Actor,
           at: datetime, root: Path) -> Attachment:  # fmt: skip
    """Add or replace the file of one checklist item (the steps are in the module docstring)."""
    name, media_type = check_file(filename, data)
    application, enterprise = _editable(session, application_id, actor)
    _material_key(application, enterprise, material_key)
    _total_after(session, application_id, material_key, len(data))
    digest = store(root, data)
    at = ensure_aware(at)
    row = session.scalars(select(Attachment).where(col(Attachment.application_id) == application_id,
                                                   col(Attachment.material_key) == material_key)).first()  # fmt: skip
    fields: dict[str, Any] = {"filename": name, "media_type": media_type, "size": len(data), "sha256": digest,
              "uploaded_by": actor.name, "uploaded_at": to_utc(at)}  # fmt: skip
    with unit_of_work(session, f"application {application_id}"):
        if row is None:
            row = Attachment(application_id=application_id, material_key=material_key, **fields)
        else:
            row.sqlmodel_update(fields)
        session.add(row)
        content = dict(application.content or {})
        content["materials"] = {**dict(content.get("materials") or {}), material_key: material_text(name, digest)}
        application.content, application.updated_at = content, to_utc(at)
        append_event(session, subject=f"application:{application_id}", application_id=application_id, actor=actor,
                     event="attach_file", at=at, from_state=application.state, to_state=application.state,
                     data={"material": material_key, "filename": name, "size": len(data),
                           "sha256": digest})  # fmt: skip
    return row


def attachments_of(session: Session, application_id: int) -> list[Attachment]:
    return list(session.scalars(select(Attachment).where(col(Attachment.application_id) == application_id)
                                .order_by(col(Attachment.id))))  # fmt: skip


def read(root: Path, row: Attachment) -> bytes:
    """The stored bytes, checked against the recorded SHA-256 (a changed file is refused, not served)."""
    path = root / row.sha256[:2] / row.sha256
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise AttachmentCorrupt(f"the file of attachment {row.id} is missing from the store") from None
    if hashlib.sha256(data).hexdigest() != row.sha256:
        raise AttachmentCorrupt(f"the file of attachment {row.id} no longer matches its SHA-256")
    return data
