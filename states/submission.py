"""An enterprise's submission from a form: the content it typed and the submit, all or nothing.

`save_and_submit` does, in one transaction: replace the content (audited `edit_content`, only when it
changed) → the one door's `apply_transition` (`submit`, or `resubmit` after a return) with every guard
(complete content, pledge, eligibility, the unit's deadline) → commit. A refusal rolls both back: the
stored draft is exactly as before (issue 14 §5: nothing changed, nothing partly saved).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from models.database import unit_of_work
from models.errors import NotFound
from models.tables import Actor, Application
from states.intake import edit_content
from states.lifecycle import State
from states.service import TransitionResult, apply_transition


def submit_event(state: str) -> str:
    """The applicant's event that hands the application in from its state."""
    return "resubmit" if state == State.RETURNED else "submit"


def save_and_submit(session: Session, application_id: int, *, content: dict[str, Any], pledge: dict[str, Any],
                    actor: Actor, at: datetime) -> TransitionResult:  # fmt: skip
    """Save the content and submit it, in one transaction (steps in the module docstring)."""
    with unit_of_work(session, f"application {application_id}"):
        application = session.get(Application, application_id, populate_existing=True)
        if application is None:
            raise NotFound(f"application {application_id} does not exist", rule="not-found")
        event = submit_event(application.state)
        if application.content != content or application.pledge != pledge:
            edit_content(session, application_id, content=content, pledge=pledge, actor=actor, at=at)
        return apply_transition(session, application_id, event, actor=actor, at=at)
