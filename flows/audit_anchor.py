"""The daily audit anchor (see prefect.yaml): verify the trail, write the signed root over every chain
head to a file outside the database, and mail it to the auditors (states.ledger does the work)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from pydantic import Field

from flows.common import StageParams, logger
from models.database import get_engine, session_scope


class AnchorParams(StageParams):
    actor: str = Field(default="system@system", pattern=r"^[a-z_]+@\S+$", description="The scheduler.")
    folder: str = Field(default="", description="Folder for anchor files. Empty: <FACTORY_REVIEW_DATA_DIR>/anchors.")
    mail: str | None = Field(default=None, description="Also mail the anchor to the auditors' address.")


@task(name="take-anchor", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def take_anchor_file(folder: Path, mail: str | None) -> dict[str, Any]:
    """`states.ledger.take_anchor` at the real clock, written to <folder>/anchor-<UTC instant>.json."""
    from states.ledger import take_anchor, write_anchor

    at = datetime.now(UTC)  # an anchor certifies what exists now: the real clock, never a replay's
    with session_scope() as session:
        document = take_anchor(session, at=at, mail_to=mail)
    path = write_anchor(document, folder / f"anchor-{at.strftime('%Y%m%dT%H%M%SZ')}.json")
    return {"path": str(path), "root": document["root"], "subjects": document["subjects"]}


@task(name="send-outbox", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=30)
def send_anchor_mail() -> Any:
    from notifications.sender import send_pending

    return str(send_pending(get_engine(), now=datetime.now(UTC)))


@flow(name="audit-anchor")
def audit_anchor(params: AnchorParams | None = None) -> dict[str, Any]:
    """Anchor the audit trail once (a failed verification fails the run: no anchor over a forgery)."""
    from models.settings import get_settings

    params = params or AnchorParams()
    folder = Path(params.folder) if params.folder else get_settings().data_dir / "anchors"
    anchored = take_anchor_file(folder, params.mail)
    sent = send_anchor_mail() if params.mail else None
    logger().info("audit anchor: %s; mail: %s", anchored, sent)
    return {"anchor": anchored, "sent": sent}
