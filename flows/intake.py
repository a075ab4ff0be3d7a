"""Submission intake: validate a batch of application files, create their drafts, submit them.

Who acts: an enterprise (`enterprise@<credit code>`) submits its own files; the national platform's feed
(`system@system`) submits each file as the enterprise it names — the applicant's own act, recorded on the
platform. Anyone else acts as themselves, and the one door refuses what they may not do.

Re-running with the same files finds the drafts already created (same enterprise, tier, track, season)
and skips the submissions already made.
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.common import StageReport, chunks, fire_all, outcomes_of, publish, run_name
from flows.drafts import Draft, create_drafts, submission_items
from flows.params import IntakeParams
from programmes.application_batch import read_batch

__all__ = ["Draft", "IntakeParams", "create_drafts", "submission_intake", "submission_items"]


@flow(name="submission-intake", log_prints=True, flow_run_name=run_name(lambda p: "submission-intake"))
def submission_intake(params: IntakeParams) -> Any:
    """Validate a batch of application files, create the drafts, and submit them (guards run at submit:
    content complete, pledge, eligibility, the jurisdiction's deadline)."""
    at = params.at()
    valid, invalid = read_batch(applications=params.applications, files=params.files, batch_file=params.batch_file)
    outcomes = outcomes_of(invalid, event="validate", result="refused")
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
