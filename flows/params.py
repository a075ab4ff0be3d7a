"""The flows' parameters and decision forms: each flow's pydantic model is its deployment's schema (the
Prefect UI renders it as a form), and each decision form's outcome names the lifecycle event it fires.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from flows.common import CHUNK, DecisionParams, SeasonParams, StageParams
from models.clock import local_date
from programmes.application_file import ApplicationFile
from states.lifecycle import State

# ---- submission-intake ---------------------------------------------------------------------------


class IntakeParams(StageParams):
    """A batch of applications: inline (the UI form, a few), file paths, or one batch file on the worker.

    Prefect refuses flow-run parameters over 512 KB (about 200 inline applications), so a unit's whole
    batch goes in as a batch file: a YAML/JSON list of application files (or `{applications: [...]}`)."""

    applications: list[ApplicationFile] = Field(default_factory=list, description="Application files, inline.")
    files: list[str] = Field(default_factory=list, description="Paths of application files (YAML/JSON).")
    batch_file: str | None = Field(default=None, description="Path of a YAML/JSON list of application files.")
    submit: bool = Field(default=True, description="Submit the drafts (freezes their content).")
    chunk: int = Field(default=CHUNK, ge=1, le=1000, description="Applications per task run.")


# ---- local-review, provincial-recommendation -----------------------------------------------------


class LocalDecision(BaseModel):
    application_id: int
    decision: Literal["recommend", "return", "reject"] = Field(
        description="recommend (forward up, in the order listed), return (for revision) or reject"
    )
    reason: str = Field(default="", description="Required for return and reject; the applicant reads it.")


class LocalDecisions(BaseModel):
    """A unit's decisions. Recommended applications are ranked in the order listed (first = priority 1)."""

    decisions: list[LocalDecision] = Field(default_factory=list)


class ReviewRoundParams(DecisionParams, SeasonParams):
    unit: str = Field(description="The recommending unit, e.g. sh.qingpu (district) or sh (provincial level).")
    tier: str = Field(description="excellent or leading (national track); basic/advanced on a provincial track.")
    decisions: list[LocalDecision] | None = Field(
        default=None, description="Decisions; recommended ones in priority order. Empty: a decisions file or a form."
    )


LOCAL_EVENTS = {"return": "return_for_revision", "reject": "reject"}


class ProvincialParams(ReviewRoundParams):
    output_dir: str | None = Field(
        default=None, description="Folder for the summary table. Empty: <data dir>/out on the worker."
    )


# ---- ministry-review -----------------------------------------------------------------------------


class PanelOutcome(BaseModel):
    application_id: int
    outcome: Literal["pass", "return", "reject"] = Field(description="The expert panel's outcome.")
    reason: str = Field(default="", description="Required for return and reject.")


class PanelOutcomes(BaseModel):
    decisions: list[PanelOutcome] = Field(default_factory=list)


class TierParams(DecisionParams, SeasonParams):
    """A national stage that decides one tier's applications of a season."""

    tier: str = Field(description="excellent or leading.")


class MinistryReviewParams(TierParams):
    decisions: list[PanelOutcome] | None = Field(default=None, description="Outcomes. Empty: file or form.")


PANEL_EVENTS = {"pass": "pass_review", "return": "return_for_revision", "reject": "reject"}


# ---- public-notice -------------------------------------------------------------------------------


NOTICE_WORKING_DAYS = 5


class NoticeWindow(BaseModel):
    opens_on: date | None = Field(default=None, description="First day of the notice. Empty: the next working day.")
    working_days: int = Field(default=NOTICE_WORKING_DAYS, ge=1, le=30, description="Length in working days.")

    def dates(self, at: datetime) -> tuple[date, date]:
        from programmes.workdays import add_working_days

        opens = self.opens_on or add_working_days(local_date(at), 1)
        return opens, add_working_days(opens, self.working_days)


class Objection(BaseModel):
    application_id: int
    objection_id: str = Field(min_length=1, description="Your reference for the objection (e.g. 2025-YY-001).")
    action: Literal["raise", "dismiss", "uphold"] = Field(
        description="raise (received), dismiss (不成立) or uphold (成立: rejected)"
    )
    reason: str = Field(min_length=1)


class PublicNoticeParams(StageParams):
    open: list[int] = Field(default_factory=list, description="Applications that passed verification: publish.")
    window: NoticeWindow = Field(default_factory=NoticeWindow)
    objections: list[Objection] = Field(default_factory=list)
    close: list[int] = Field(default_factory=list, description="Applications to recognise once the period is over.")
    schedule_close: bool = Field(default=True, description="Schedule the closing run when the period still runs.")


OBJECTION_EVENTS = {"raise": "raise_objection", "dismiss": "dismiss_objection", "uphold": "uphold_objection"}


# ---- onsite-verification -------------------------------------------------------------------------


class Visit(BaseModel):
    application_id: int
    outcome: Literal["pass", "fail"]
    verified_on: date | None = Field(default=None, description="Day of the visit.")
    reason: str = Field(default="", description="Required for fail.")


class Visits(BaseModel):
    decisions: list[Visit] = Field(default_factory=list)


class OnsiteParams(TierParams):
    decisions: list[Visit] | None = Field(default=None, description="Visit outcomes. Empty: file or form.")
    notice: NoticeWindow = Field(default_factory=NoticeWindow, description="Public notice for excellent passes.")
    schedule_close: bool = True


# ---- cultivation ---------------------------------------------------------------------------------


class Checkpoint(BaseModel):
    application_id: int
    checkpoint_id: str = Field(min_length=1, description="e.g. 2026-H1; a checkpoint is recorded once.")
    on: date | None = Field(default=None, description="Day of the check.")
    note: str = Field(default="", description="The expert committee's guidance or findings.")


class CultivationParams(StageParams):
    start: list[int] = Field(default_factory=list, description="Cultivation objects whose cultivation starts.")
    started_on: date | None = Field(default=None, description="Start day (default: today, Asia/Shanghai).")
    checkpoints: list[Checkpoint] = Field(default_factory=list)
    expire: list[int] = Field(default_factory=list, description="Set by the scheduled expiry run.")
    schedule_expiry: bool = Field(default=True, description="Schedule the expiry run when starting.")


# ---- acceptance ----------------------------------------------------------------------------------


Stage = Literal["request", "preliminary_review", "expert_acceptance"]


ACCEPTANCE_EVENTS: dict[str, dict[str, str]] = {
    "preliminary_review": {"pass": "pass_preliminary_review", "fail": "fail_preliminary_review"},
    "expert_acceptance": {"pass": "accept", "fail": "not_accept"},
}


ACCEPTANCE_WAITING: dict[str, State] = {
    "preliminary_review": State.ACCEPTANCE_REQUESTED,
    "expert_acceptance": State.EXPERT_ACCEPTANCE,
}


class AcceptanceDecision(BaseModel):
    application_id: int
    outcome: Literal["pass", "fail"]
    reason: str = Field(default="", description="Required for fail.")


class AcceptanceDecisions(BaseModel):
    decisions: list[AcceptanceDecision] = Field(default_factory=list)


class AcceptanceParams(DecisionParams):
    stage: Stage = Field(
        description="request (enterprise; system@system: the platform's feed of requests, each as its enterprise), "
        "preliminary_review (recommending unit), expert_acceptance (ministry)"
    )
    application_ids: list[int] = Field(default_factory=list, description="For request: the applications.")
    decisions: list[AcceptanceDecision] | None = Field(
        default=None, description="For the reviews. Empty: file or form."
    )


# ---- reminder-sweep ------------------------------------------------------------------------------


class ReminderParams(StageParams):
    actor: str = Field(default="system@system", pattern=r"^[a-z_]+@\S+$", description="The scheduler.")
    season: str | None = Field(default=None, description="Season to sweep. Empty: FACTORY_REVIEW_SEASON.")
    send: bool = Field(default=True, description="Send the due outbox mail after the sweep.")
