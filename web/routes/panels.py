"""The organising unit's panel forms on the application page: build a panel, add experts, assign reviewers
automatically (conflicts computed, load balanced) or one expert by hand (a conflict only with a reason).

Each route loads the application through the one scope loader (out of scope: 404), reads the form, calls the
same service function as the CLI (`programmes.panels`, which authorises the organiser, audits and commits)
and renders; a refusal comes back as the rule's one line in the panel section, and nothing changes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from models.errors import InvalidInput, ReviewError
from models.tables import Actor
from programmes.panels import add_members, assign_manually, auto_assign, create_panel
from web import auth
from web.deps import DB, CurrentAccount, refusal_status
from web.routes.application import page
from web.scope import load_application

router = APIRouter()
Change = Callable[[Actor, datetime], Any]


def _apply(request: Request, session: DB, account: Any, application_id: int, change: Change, done: str) -> Response:
    """Run one service call as the signed-in account; a refusal renders the page with it, beside the panels."""
    try:
        change(auth.actor_for(session, account), auth.business_clock(session).now())
    except ReviewError as error:
        session.rollback()
        return page(request, session, account, application_id, status_code=refusal_status(error), panel_error=error)
    return RedirectResponse(f"/applications/{application_id}?done={done}#panels", status_code=303)


def _ids(values: list[Any], what: str) -> list[int]:
    try:
        return [int(str(v)) for v in values]
    except ValueError:
        raise InvalidInput(f"{what}: choose from the list", rule="input", field=what) from None


@router.post("/applications/{application_id}/panels")
async def build_panel(request: Request, session: DB, account: CurrentAccount, application_id: int) -> Response:
    application, _ = load_application(session, account, application_id)
    form = await request.form()
    stage, name = str(form.get("stage") or ""), str(form.get("name") or "")

    def change(actor: Actor, at: datetime) -> Any:
        return create_panel(session, season=application.season, stage=stage, tier=application.tier, name=name,
                            track=application.track, actor=actor, at=at)  # fmt: skip

    return _apply(request, session, account, application_id, change, "panel")


@router.post("/applications/{application_id}/panels/{panel_id}/members")
async def add_panel_members(request: Request, session: DB, account: CurrentAccount, application_id: int,
                            panel_id: int) -> Response:  # fmt: skip
    load_application(session, account, application_id)
    chosen = (await request.form()).getlist("expert")

    def change(actor: Actor, at: datetime) -> Any:
        if not chosen:
            raise InvalidInput("choose at least one expert", rule="input", field="expert")
        return add_members(session, panel_id=panel_id, expert_ids=_ids(chosen, "expert"), actor=actor, at=at)

    return _apply(request, session, account, application_id, change, "members")


@router.post("/applications/{application_id}/panels/{panel_id}/assign")
def assign_automatically(request: Request, session: DB, account: CurrentAccount, application_id: int,
                         panel_id: int) -> Response:  # fmt: skip
    load_application(session, account, application_id)

    def change(actor: Actor, at: datetime) -> Any:
        return auto_assign(session, panel_id=panel_id, actor=actor, at=at, application_ids=[application_id])

    return _apply(request, session, account, application_id, change, "assigned")


@router.post("/applications/{application_id}/panels/{panel_id}/assign-expert")
async def assign_expert(request: Request, session: DB, account: CurrentAccount, application_id: int,
                        panel_id: int) -> Response:  # fmt: skip
    load_application(session, account, application_id)
    form = await request.form()
    expert, reason = form.get("expert") or "", str(form.get("reason") or "")

    def change(actor: Actor, at: datetime) -> Any:
        (expert_id,) = _ids([expert], "expert")
        return assign_manually(session, panel_id=panel_id, application_id=application_id, expert_id=expert_id,
                               actor=actor, at=at, reason=reason)  # fmt: skip

    return _apply(request, session, account, application_id, change, "assigned")
