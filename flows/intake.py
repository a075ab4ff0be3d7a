"""Submission intake: validate a batch of application files, create their drafts, submit them.

Who acts: an enterprise (`enterprise@<credit code>`) submits its own files; the national platform's feed
(`system@system`) submits each file as the enterprise it names — the applicant's own act, recorded on the
platform. Anyone else acts as themselves, and the one door refuses what they may not do.

Re-running with the same files finds the drafts already created (same enterprise, tier, track, season)
and skips the submissions already made.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, Field, ValidationError

from flows.common import (
    CHUNK,
    EventItem,
    Outcome,
    StageParams,
    StageReport,
    chunks,
    fire_all,
    publish,
    resolve_actor,
    run_name,
    session_scope,
)
from models.enums import Role
from models.errors import ReviewError
from programmes.application_file import ApplicationFile, load_application_file
from states.audit import content_digest
from states.intake import create_from_file, parse_actor, update_content
from states.lifecycle import State
from states.queries import find_application

PLATFORM_FEED = Role.SYSTEM


class IntakeParams(StageParams):
    """A batch of applications: inline (the UI form, a few), file paths, or one batch file on the worker.

    Prefect refuses flow-run parameters over 512 KB (about 200 inline applications), so a unit's whole
    batch goes in as a batch file: a YAML/JSON list of application files (or `{applications: [...]}`)."""

    applications: list[ApplicationFile] = Field(default_factory=list, description="Application files, inline.")
    files: list[str] = Field(default_factory=list, description="Paths of application files (YAML/JSON).")
    batch_file: str | None = Field(default=None, description="Path of a YAML/JSON list of application files.")
    submit: bool = Field(default=True, description="Submit the drafts (freezes their content).")
    chunk: int = Field(default=CHUNK, ge=1, le=1000, description="Applications per task run.")


class Draft(BaseModel):
    """An application and the submission step it needs (`submit` a draft, `resubmit` a revised one)."""

    application_id: int
    ref: str
    state: str
    applicant: str
    event: str


def _applicant(flow_actor: str, parsed: ApplicationFile) -> str:
    role, _unit = parse_actor(flow_actor)
    return f"enterprise@{parsed.credit_code}" if role == PLATFORM_FEED else flow_actor


def validate(params: IntakeParams) -> tuple[list[tuple[str, ApplicationFile]], list[Outcome]]:
    """Parse the batch; each file that does not validate becomes a refused outcome naming the field."""
    good: list[tuple[str, ApplicationFile]] = [(f"{a.credit_code}:{a.tier}", a) for a in params.applications]
    bad: list[Outcome] = []
    for path in params.files:
        try:
            good.append((path, load_application_file(path)))
        except (OSError, ValueError, ValidationError) as exc:
            message = str(exc).splitlines()[0]
            if isinstance(exc, ValidationError):
                first = exc.errors()[0]
                message = f"{'.'.join(str(p) for p in first.get('loc', ()))}: {first.get('msg')}"
            bad.append(
                Outcome(event="validate", result="refused", ref=path, rule="application-schema", message=message)
            )
    if params.batch_file:
        try:
            raw = load_batch(params.batch_file)
        except (OSError, ValueError) as exc:
            raw = []
            bad.append(
                Outcome(
                    event="validate",
                    result="refused",
                    ref=params.batch_file,
                    rule="input-file",
                    message=str(exc).splitlines()[0],
                )
            )
        for i, item in enumerate(raw):
            ref = f"{params.batch_file}#{i + 1}"
            try:
                good.append((ref, ApplicationFile.model_validate(item)))
            except ValidationError as exc:
                first = exc.errors()[0]
                message = f"{'.'.join(str(p) for p in first.get('loc', ()))}: {first.get('msg')}"
                bad.append(
                    Outcome(event="validate", result="refused", ref=ref, rule="application-schema", message=message)
                )
    return good, bad


def load_batch(path: str) -> list[Any]:
    """A batch file: a list of application files, or a mapping with `applications`. JSON or YAML."""
    from models.limits import load_file_bounded

    raw = load_file_bounded(path)
    if isinstance(raw, dict):
        raw = raw.get("applications")
    if not isinstance(raw, list):
        raise ValueError(f"{path}: a batch file is a list of application files (or {{applications: [...]}})")
    return raw


@task(name="create-drafts", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)
def create_drafts(batch: list[tuple[str, ApplicationFile]], actor: str, at: datetime) -> list[Draft | Outcome]:
    """Create each draft (`states.intake.create_from_file`), or find the one a previous run created.

    A returned application whose file changed gets its new content (`update_content`), ready to resubmit."""
    out: list[Draft | Outcome] = []
    with session_scope() as session:
        for ref, parsed in batch:
            applicant = _applicant(actor, parsed)
            content: dict[str, Any] = parsed.model_dump(mode="json")
            try:
                who = resolve_actor(session, applicant)
                existing = find_application(
                    session,
                    credit_code=parsed.credit_code,
                    tier=str(parsed.tier),
                    track=str(parsed.track),
                    season=parsed.season,
                )
                if existing is None:
                    existing = create_from_file(session, parsed, actor=who, at=at)
                    event = "submit"
                elif existing.state == State.DRAFT:
                    event = "submit"
                elif existing.state == State.RETURNED and content_digest(existing.content) != content_digest(content):
                    assert existing.id is not None
                    existing = update_content(
                        session, existing.id, content=content, pledge=content.get("pledge"), actor=who, at=at
                    )
                    event = "resubmit"
                else:
                    why = "returned for revision; send a revised file" if existing.state == State.RETURNED else ""
                    out.append(
                        Outcome(
                            application_id=existing.id or 0,
                            event="submit",
                            result="skipped",
                            ref=ref,
                            from_state=existing.state,
                            to_state=existing.state,
                            message=why or f"already submitted (now {existing.state})",
                        )
                    )
                    continue
            except ReviewError as error:
                out.append(Outcome(event="create", result="refused", ref=ref, rule=error.rule, message=error.message))
                continue
            assert existing.id is not None
            out.append(
                Draft(application_id=existing.id, ref=ref, state=existing.state, applicant=applicant, event=event)
            )
    return out


def submission_items(drafts: list[Draft]) -> list[EventItem]:
    """The submission events, each by its applicant."""
    return [EventItem(application_id=d.application_id, event=d.event, actor=d.applicant) for d in drafts]


@flow(name="submission-intake", log_prints=True, flow_run_name=run_name(lambda p: "submission-intake"))
def submission_intake(params: IntakeParams) -> Any:
    """Validate a batch of application files, create the drafts, and submit them (guards run at submit:
    content complete, pledge, eligibility, the jurisdiction's deadline)."""
    at = params.at()
    valid, outcomes = validate(params)
    drafts: list[Draft] = []
    for part in chunks(valid, params.chunk):
        for row in create_drafts(part, params.actor, at):
            if isinstance(row, Draft):
                drafts.append(row)
            else:
                outcomes.append(row)
    report = StageReport(flow="submission-intake", outcomes=outcomes, notes={"drafts": len(drafts)})
    if params.submit:
        refs = {d.application_id: d.ref for d in drafts}
        for o in fire_all(submission_items(drafts), params.actor, at, chunk=params.chunk):
            report.outcomes.append(o.model_copy(update={"ref": refs.get(o.application_id, "")}))
    report.notes["ids"] = {o.ref: o.application_id for o in report.outcomes if o.application_id and o.ref}
    report.notes["ids"].update({d.ref: d.application_id for d in drafts})
    return publish(report, key="submission-intake")
