"""The auditors' page: season-wide chain verification and the audit export (read-only, no form)."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from states.audit import verify
from states.export import export_audit
from web import auth
from web.deps import DB, CurrentAccount, render

router = APIRouter()
READERS = {auth.AUDITOR, "ministry_officer", "admin"}


def _reader(session: DB, account: object) -> None:
    if getattr(account, "role", None) not in READERS:
        raise HTTPException(status_code=404)


@router.get("/audit")
def audit_page(request: Request, session: DB, account: CurrentAccount, verify_all: int = 0) -> Response:
    _reader(session, account)
    report = verify(session) if verify_all else None
    national = auth.visible_units(session, account) is None
    return render(request, "audit.html", {"account": account, "report": report, "national": national})


@router.get("/audit/export.zip")
def audit_export(session: DB, account: CurrentAccount) -> Response:
    """The whole trail (states.export): national scope only, since it spans every unit."""
    _reader(session, account)
    if auth.visible_units(session, account) is not None:
        raise HTTPException(status_code=404)
    with tempfile.TemporaryDirectory() as folder:
        export_audit(session, Path(folder))
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(Path(folder).iterdir()):
                archive.write(path, path.name)
    return Response(out.getvalue(), media_type="application/zip",
                    headers={"Content-Disposition": 'attachment; filename="audit-export.zip"'})  # fmt: skip
