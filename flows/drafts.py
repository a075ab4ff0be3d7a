"""The drafts of an intake batch: find or create each application file's draft through the service layer
(`states.submission.draft_for_file`), and the submission events that hand them in, each by its applicant.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel

from flows.common import EventItem, Outcome, resolve_actor, session_scope
from models.errors import ReviewError
from programmes.application_file import ApplicationFile
from states.submission import applicant_for, draft_for_file


class Draft(BaseModel):
    """An application and the submission step it needs (`submit` a draft, `resubmit` a revised one)."""

    application_id: int
    ref: str
    state: str
    applicant: str
    event: str


def draft_or_skip(step: Any, *, ref: str, applicant: str) -> Draft | Outcome:
    """A `states.submission.DraftStep` as a draft to hand in, or as the outcome saying why there is none."""
    if step.event is None:
        return Outcome(application_id=step.application_id, event="submit", result="skipped", ref=ref,
                       from_state=step.state, to_state=step.state, message=step.reason)  # fmt: skip
    return Draft(application_id=step.application_id, ref=ref, state=step.state, applicant=applicant, event=step.event)


def submission_items(drafts: list[Draft]) -> list[EventItem]:
    """The submission events, each by its applicant."""
    return [EventItem(application_id=d.application_id, event=d.event, actor=d.applicant) for d in drafts]


@task(name="create-drafts", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)
def create_drafts(batch: list[tuple[str, ApplicationFile]], actor: str, at: datetime) -> list[Draft | Outcome]:
    """Create each draft, or find the one a previous run created (`states.submission.draft_for_file`)."""
    out: list[Draft | Outcome] = []
    with session_scope() as session:
        for ref, parsed in batch:
            applicant = applicant_for(actor, parsed.credit_code)
            try:
                step = draft_for_file(session, parsed, actor=resolve_actor(session, applicant), at=at)
            except ReviewError as error:
                out.append(Outcome(event="create", result="refused", ref=ref, rule=error.rule, message=error.message))
                continue
            out.append(draft_or_skip(step, ref=ref, applicant=applicant))
    return out
