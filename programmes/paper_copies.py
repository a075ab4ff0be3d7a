"""The paper-copy register: a unit records a paper copy's arrival and the hash printed on it.

251 §2(二)3 and 430 §1(二)2: the paper application must equal the online one (纸质材料与线上一致). The 申报书
prints the frozen content's SHA-256 and a QR code of it; the officer scans or types it here. A match is
recorded; a mismatch is recorded too (an auditor must see it) and then refused.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from models.clock import to_utc
from models.database import must_get
from models.enums import MINISTRY_UNIT, Role
from models.errors import InvalidInput, NotAuthorised, ReviewError
from models.tables import Actor, Application, PaperCopy
from states.audit import add_audited

SOURCE = "251 §2(二)3 (纸质材料与线上一致); 430 §1(二)2"
_HEX = re.compile(r"^[0-9a-f]{64}$")


class PaperCopyMismatch(ReviewError, rule="paper-copy"):
    """The printed hash is not the frozen online content's: the paper copy differs from what was submitted."""


def _receiver(actor: Actor, application: Application) -> str:
    if actor.role == Role.MINISTRY_OFFICER and actor.unit == MINISTRY_UNIT:
        return MINISTRY_UNIT
    if actor.role in (Role.LOCAL_OFFICER, Role.ADMIN) and actor.unit in application.chain:
        return actor.unit
    raise NotAuthorised(
        f"{actor.role}@{actor.unit} does not receive application {application.id}'s paper copy",
        rule="authorisation",
        source=SOURCE,
    )


def record_paper_copy(
    session: Session, *, application_id: int, printed_sha256: str, actor: Actor, at: datetime, note: str = ""
) -> PaperCopy:
    """Record the arrival; a hash that differs from the frozen one is recorded, then refused."""
    printed = re.sub(r"[\s:-]", "", printed_sha256).lower()
    if not _HEX.match(printed):
        raise InvalidInput("--hash: the 64 hexadecimal characters printed on the 申报书", rule="paper-copy-hash")
    application = must_get(session, Application, application_id, "application")
    unit = _receiver(actor, application)
    if not application.content_sha256:
        raise InvalidInput(
            f"application {application_id} was never submitted: there is no online version to match",
            rule="paper-copy",
            source=SOURCE,
        )
    matches = printed == application.content_sha256
    copy = PaperCopy(
        application_id=application_id,
        unit=unit,
        printed_sha256=printed,
        matches=matches,
        recorded_by=f"{actor.role}@{actor.unit} {actor.name}",
        note=note,
        received_at=to_utc(at),
    )
    add_audited(
        session,
        copy,
        f"paper-copy:{application_id}",
        actor=actor,
        at=at,
        reason=note,
        event="paper_copy_received" if matches else "paper_copy_mismatch",
        data={"unit": unit, "printed_sha256": printed, "online_sha256": application.content_sha256},
    )
    session.commit()
    if not matches:
        raise PaperCopyMismatch(
            f"the paper copy of application {application_id} prints {printed[:16]}…, the online version is "
            f"{application.content_sha256[:16]}…: they differ (recorded)",
            rule="paper-copy",
            source=SOURCE,
        )
    return copy


def paper_copies(session: Session, application_id: int) -> list[PaperCopy]:
    return list(
        session.scalars(
            select(PaperCopy).where(col(PaperCopy.application_id) == application_id).order_by(col(PaperCopy.id))
        )
    )
