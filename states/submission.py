"""An enterprise's submission from a form: the content it typed and the submit, all or nothing.

`save_and_submit` does, in one transaction: replace the content (audited `edit_content`, only when it
changed) → the one door's `apply_transition` (`submit`, or `resubmit` after a return) with every guard
(complete content, pledge, eligibility, the unit's deadline) → commit. A refusal rolls both back: the
stored draft is exactly as before (issue 14 §5: nothing changed, nothing partly saved).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from models.database import must_get, unit_of_work
from models.enums import Role
from models.tables import Actor, Application
from states.audit import content_digest
from states.intake import create_from_file, edit_content, parse_actor, update_content
from states.lifecycle import State
from states.queries import find_application
from states.service import TransitionResult, apply_transition


def submit_event(state: str) -> str:
    """The applicant's event that hands the application in from its state."""
    return "resubmit" if state == State.RETURNED else "submit"


def save_and_submit(session: Session, application_id: int, *, content: dict[str, Any], pledge: dict[str, Any],
                    actor: Actor, at: datetime) -> TransitionResult:  # fmt: skip
    """Save the content and submit it, in one transaction (steps in the module docstring)."""
    with unit_of_work(session, f"application {application_id}"):
        application = must_get(session, Application, application_id, "application", populate_existing=True)
        event = submit_event(application.state)
        if application.content != content or application.pledge != pledge:
            edit_content(session, application_id, content=content, pledge=pledge, actor=actor, at=at)
        return apply_transition(session, application_id, event, actor=actor, at=at)


def applicant_for(actor: str, credit_code: str) -> str:
    """Who hands an application file in: the national platform's feed (`system@…`) submits each file as
    the enterprise it names (the applicant's own act, recorded on the platform); anyone else as themselves
    (and the one door refuses what they may not do)."""
    role, _unit = parse_actor(actor)
    return f"enterprise@{credit_code}" if role == Role.SYSTEM else actor


@dataclass(frozen=True)
class DraftStep:
    """The application an application file describes, and the step that hands it in: `submit` a draft,
    `resubmit` a revised one, or none (`reason` says why)."""

    application_id: int
    state: str
    event: str | None
    reason: str = ""


def draft_for_file(session: Session, parsed: Any, *, actor: Actor, at: datetime) -> DraftStep:
    """Find the application an `ApplicationFile` describes (same enterprise, tier, track, season) or create
    its draft (`create_from_file`), and decide submit or resubmit: a returned application whose file
    changed gets the new content (`update_content`), ready to resubmit; an unchanged one, or one already
    handed in, needs no step (a re-run finds what a previous run created and submitted)."""
    content: dict[str, Any] = parsed.model_dump(mode="json")
    existing = find_application(session, credit_code=parsed.credit_code, tier=str(parsed.tier),
                                track=str(parsed.track), season=parsed.season)  # fmt: skip
    if existing is None:
        existing = create_from_file(session, parsed, actor=actor, at=at)
    elif existing.state == State.RETURNED and content_digest(existing.content) != content_digest(content):
        assert existing.id is not None
        existing = update_content(
            session, existing.id, content=content, pledge=content.get("pledge"), actor=actor, at=at
        )
        return DraftStep(existing.id or 0, existing.state, "resubmit")
    elif existing.state != State.DRAFT:
        returned = existing.state == State.RETURNED
        why = "returned for revision; send a revised file" if returned else f"already submitted (now {existing.state})"
        return DraftStep(existing.id or 0, existing.state, None, why)
    assert existing.id is not None
    return DraftStep(existing.id, existing.state, "submit")
