"""What every stage flow shares: parameter bases, the clock, decisions input, and the one task that fires
lifecycle events through the one door for a batch of applications.

Idempotency (`states.idempotency`): before firing, the task reads the application's audit history. An
event counts as already applied when, since the application's latest (re)submission, the same actor
(role and unit) fired the same event — with the same `flow_key` for steps that stay in their state
(objections, checkpoints). Such an item is skipped; nothing is written and no mail is queued. Because of
this, a task's retry or a whole re-run is safe.

Authority stays in the door: the flow passes the acting `role@unit` through, and `transition` refuses an
actor who may not act on that application (a flow parameter can't make a district officer act for
another district).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.exceptions import MissingContextError
from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from models import database
from models.clock import clock_from_env, local_date, parse_instant
from models.errors import ConcurrentUpdate, InvalidInput, ReviewError
from models.limits import check_tree, load_file_bounded
from models.settings import get_settings
from models.tables import Actor, Application
from programmes.season import get_season
from programmes.wiring import assemble
from states.identity import TOKEN_ENV, flow_actor
from states.intake import parse_actor
from states.queries import describe, markdown_table

ACTOR_PATTERN = r"^[a-z_]+@\S+$"
CHUNK = 100  # applications per task run: a task costs ~5 ms, so a flow works in chunks, not per item


def logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    """The run logger inside a flow or task, a module logger outside (direct calls in benchmarks)."""
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger("flows")


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session of the assembled system: every flow opens its work here (the composition root first)."""
    assemble()
    with database.session_scope() as session:
        yield session


# ---- parameters ---------------------------------------------------------------------------------


class StageParams(BaseModel):
    """Fields every stage's parameters carry: who acts, and an optional instant for replays."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _bounded(cls, data: Any) -> Any:
        """A flow's parameters are input: the limits of every door apply (models.limits)."""
        return check_tree(data, field="parameters")

    actor: str = Field(
        pattern=ACTOR_PATTERN,
        description="Who acts, as role@unit (e.g. local_officer@sh.qingpu, ministry_officer@miit). "
        "The one door checks this actor's role and unit for every application.",
    )
    now: str | None = Field(
        default=None,
        description="Act as if it were this instant (ISO date-time or date; Asia/Shanghai if no offset). "
        "Empty: FACTORY_REVIEW_NOW, else the current time.",
    )

    @field_validator("actor")
    @classmethod
    def _actor_spec(cls, value: str) -> str:
        parse_actor(value)  # raises InvalidInput for an unknown role
        return value

    @field_validator("now")
    @classmethod
    def _instant(cls, value: str | None) -> str | None:
        if value:
            parse_instant(value)
        return value or None

    def at(self) -> datetime:
        """The instant this run acts at (fixed for the whole batch): the server clock on a production
        database, where `now` and FACTORY_REVIEW_NOW are refused; on a replay, the requested instant."""
        from states.system import clock_for, requested_now

        with session_scope() as session:
            return clock_for(session, requested=requested_now(self.now)).now()


class Outcome(BaseModel):
    """What happened to one application in one step."""

    application_id: int = 0  # 0: no application yet (an intake file that did not validate)
    event: str
    result: Literal["applied", "skipped", "refused"]
    ref: str = ""  # the input it came from (an intake file, a credit code)
    from_state: str = ""
    to_state: str = ""
    rule: str = ""
    message: str = ""
    mails_queued: int = 0


class StageReport(BaseModel):
    """A flow's return value: every outcome, and the counts."""

    flow: str
    outcomes: list[Outcome] = Field(default_factory=list)
    notes: dict[str, Any] = Field(default_factory=dict)

    def count(self, result: str) -> int:
        return sum(1 for o in self.outcomes if o.result == result)

    @property
    def refused(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.result == "refused"]

    def summary(self) -> str:
        return (
            f"{self.flow}: {self.count('applied')} applied, {self.count('skipped')} already done, "
            f"{self.count('refused')} refused"
        )


def current_season() -> str:
    return get_settings().season


class SeasonParams(StageParams):
    season: str = Field(default_factory=current_season, description="The season (default: FACTORY_REVIEW_SEASON).")


class DecisionParams(StageParams):
    """A stage that waits for decisions: from the parameters, a decisions file, or a form in the UI."""

    decisions_file: str | None = Field(default=None, description="Path of a YAML decisions file on the worker.")
    pause_timeout: int = Field(default=3600, ge=60, description="Seconds the form waits before the run fails.")


class StageRefused(Exception):
    """Some applications of the batch were refused; the others were processed. The run fails so an
    administrator sees it; re-running after fixing the inputs skips what was already done."""

    def __init__(self, report: StageReport) -> None:
        lines = [f"#{o.application_id or o.ref} {o.event}: {o.message} [{o.rule}]" for o in report.refused[:20]]
        super().__init__(report.summary() + "\n" + "\n".join(lines))
        self.report = report


# ---- events through the door --------------------------------------------------------------------


class EventItem(BaseModel):
    """One event to fire on one application."""

    application_id: int
    event: str
    reason: str = ""
    data: dict[str, Any] = Field(default_factory=dict)
    key: str | None = None  # distinguishes repeated steps that stay in their state (objection id, checkpoint id)
    actor: str | None = None  # role@unit acting for this item, when not the batch's actor (intake feed)
    only_from: list[str] | None = None  # skip (not refuse) when the application is in none of these states

    @model_validator(mode="before")
    @classmethod
    def _bounded(cls, data: Any) -> Any:
        return check_tree(data, field="event")


def fire_batch(items: Sequence[EventItem], actor: str, at: datetime) -> list[Outcome]:
    """Fire the items through the bulk door in one transaction (`flows.firing`), skipping what was applied."""
    from flows.firing import fire_chunk

    with session_scope() as session:
        actors = {spec: resolve_actor(session, spec) for spec in {actor, *(i.actor for i in items if i.actor)}}
        return fire_chunk(session, items, lambda item: actors[item.actor or actor], at)


def _retry_on_database(_task: Any, _run: Any, state: Any) -> bool:
    """Retry a chunk only for what can succeed later (a locked or unreachable database, a lost race).
    Retrying is safe: applied items are skipped."""
    try:
        state.result()
    except (OperationalError, ConcurrentUpdate):
        return True
    except Exception:
        return False
    return False


fire_events = task(
    name="fire-events",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=2,
    retry_condition_fn=_retry_on_database,
)(fire_batch)


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def fire_all(items: Sequence[EventItem], actor: str, at: datetime, *, chunk: int = CHUNK) -> list[Outcome]:
    """Fire a batch in chunks, one task run per chunk."""
    outcomes: list[Outcome] = []
    for part in chunks(items, chunk):
        outcomes.extend(fire_events(part, actor, at))
    return outcomes


# ---- decisions: parameters, a YAML file, or a form ----------------------------------------------

M = TypeVar("M", bound=BaseModel)


def load_decisions_file(path: str | Path, model: type[M]) -> M:
    """Read a decisions file (YAML or JSON): a mapping of the model's fields, or a bare list of decisions."""
    file = Path(path)
    if not file.exists():
        raise InvalidInput(f"{file}: no such decisions file", rule="input-file")
    raw = load_file_bounded(file)  # size, aliases, depth, lists, text: models.limits
    if isinstance(raw, list):
        raw = {"decisions": raw}
    try:
        return model.model_validate(raw or {})
    except Exception as exc:
        raise InvalidInput(f"{file}: {str(exc).splitlines()[0]}", rule="input-file") from None


FORM_TOKEN_HELP = (
    "Production databases: a one-time form token from `factory-review form-token` (signed in as yourself). "
    "The decisions are recorded as your account's; the token is revoked once used."
)
_DECIDERS: dict[str, Actor] = {}  # flow run id → the account that entered the run's form decisions


def ask_for(model: type[M], *, description: str, timeout: int, **initial: Any) -> M:
    """Pause the run for a human decision; the Prefect UI renders `model` as a form.

    On a production database the form also asks for a one-time form token: Prefect has no accounts, so
    the token says who decided, and the run fires the decisions as that account (the door checks its
    role and unit). The token is revoked as soon as it is read, so the copy Prefect keeps of the form's
    input opens nothing. Pauses are for decisions taken within the hour (the timeout fails the run); long
    waits are scheduled runs instead (see flows.cultivation)."""
    from prefect.flow_runs import pause_flow_run
    from prefect.input import RunInput

    from states.system import is_replay

    with session_scope() as session:
        signed = not is_replay(session)
    base: type[BaseModel] = model
    if signed:
        base = create_model(f"Signed{model.__name__}", __base__=model,
                            form_token=(str, Field(default="", description=FORM_TOKEN_HELP)))  # fmt: skip
    form = RunInput.subclass_from_base_model_type(base).with_initial_data(description=description, **initial)
    answer = pause_flow_run(wait_for_input=form, timeout=timeout, poll_interval=2)
    raw = answer.model_dump(exclude={"metadata"}) if answer is not None else {}
    if signed:
        _record_decider(str(raw.pop("form_token", "") or ""))
    return model.model_validate(raw)


def _record_decider(token: str) -> None:
    """Resolve and revoke the form token; later tasks of this run act as its account (`resolve_actor`)."""
    from prefect.runtime import flow_run

    from states.accounts import actor_for
    from states.signin import redeem_form_token

    with session_scope() as session:
        _DECIDERS[str(flow_run.id)] = actor_for(redeem_form_token(session, token))


def resolve_actor(session: Any, spec: str) -> Actor:
    """Who a run acts as: `spec` on a replay database; in production the account that entered the run's
    form decisions, else the deployment's FACTORY_REVIEW_TOKEN account (states.identity.flow_actor)."""
    from prefect.runtime import flow_run

    decider = _DECIDERS.get(str(flow_run.id)) if flow_run.id else None
    if decider is not None:
        return decider
    return flow_actor(session, spec, os.environ.get(TOKEN_ENV))


# ---- reporting ----------------------------------------------------------------------------------


def publish(report: StageReport, *, key: str) -> Any:
    """Log the summary, attach the outcomes as a table artifact, and fail the run if any were refused.

    A refused batch is a business outcome, not a crash: each refusal is one log line, and the run ends in a
    Failed state carrying `StageRefused` (raised to a direct caller) — no traceback in the run's log."""
    log = logger()
    log.info(report.summary())
    for o in report.refused:
        log.warning("application %s %s refused: %s [%s]", o.application_id or o.ref, o.event, o.message, o.rule)
    try:
        from prefect.artifacts import create_table_artifact

        if report.outcomes:
            create_table_artifact(
                [o.model_dump(exclude={"mails_queued"}) for o in report.outcomes],
                key=key,
                description=report.summary(),
            )
    except MissingContextError:
        pass
    if report.refused:
        from prefect.states import Failed

        return Failed(message=report.summary(), data=StageRefused(report))
    return report


def file_artifacts(path: Path, rows: Callable[[], list[dict[str, Any]]], *, key: str, title: str, about: str) -> None:
    """Attach a file written on the worker to the run: a link artifact, and its `rows()` as a table artifact.
    An artifact is a convenience; the file is the record, so a failure is only logged."""
    try:
        from prefect.artifacts import create_link_artifact, create_table_artifact

        create_link_artifact(path.resolve().as_uri(), link_text=path.name, key=key, description=f"{title} {about}")
        create_table_artifact(rows(), key=f"{key}-rows", description=f"{title} {path.name}")
    except Exception as exc:
        logger().warning("%s artifact not created: %s", title, exc)


def stage_report(flow_name: str, items: Sequence[EventItem], params: StageParams, at: datetime) -> StageReport:
    """Apply decisions through the door and collect what happened (the shared "apply, report" step)."""
    return StageReport(flow=flow_name, outcomes=fire_all(items, params.actor, at))


def decisions_of(
    params: DecisionParams,
    container: type[M],
    *,
    title: str,
    waiting: Callable[[Session], Sequence[Application]],
    default: Callable[[int], BaseModel],
) -> list[Any]:
    """The decisions of a unit: the parameters, else the decisions file, else a form in the Prefect UI
    listing what waits (`waiting`), pre-filled with `default(id)` for each row."""
    given = getattr(params, "decisions", None)
    if given is not None:
        return list(given)
    if params.decisions_file:
        return list(getattr(load_decisions_file(params.decisions_file, container), "decisions", []))
    with session_scope() as session:
        applications = list(waiting(session))
        description = decision_description(session, title, applications)
    answer = ask_for(
        container,
        description=description,
        timeout=params.pause_timeout,
        decisions=[default(a.id or 0) for a in applications],
    )
    return list(getattr(answer, "decisions", []))


def outcome_items(decisions: Iterable[Any], events: Mapping[str, str], *, field: str = "outcome") -> list[EventItem]:
    """One event per decision, named by its outcome (`events`); a decision whose outcome fires nothing here
    (a local `recommend`, forwarded as one ranked list) is left to the flow."""
    return [
        EventItem(application_id=d.application_id, event=events[getattr(d, field)], reason=d.reason)
        for d in decisions
        if getattr(d, field) in events
    ]


def decide(
    params: DecisionParams,
    container: type[M],
    *,
    flow: str,
    at: datetime,
    title: str,
    waiting: Callable[[Session], Sequence[Application]],
    default: Callable[[int], BaseModel],
    items: Callable[[list[Any]], list[EventItem]],
    report: StageReport | None = None,
) -> tuple[StageReport, list[Any]]:
    """The decision block every decision flow shares: wait for the decisions of a unit (`decisions_of`:
    the parameters, a decisions file, or a form listing `waiting`), turn them into events (`items`), apply
    them through the one door (`fire_all`) and report them, after what `report` already holds. The flow
    adds its own steps and publishes."""
    decisions = decisions_of(params, container, title=title, waiting=waiting, default=default)
    report = report or StageReport(flow=flow)
    report.outcomes.extend(fire_all(items(decisions), params.actor, at))
    return report, decisions


def decision_description(session: Session, title: str, applications: Sequence[Application]) -> str:
    """The pause form's description (markdown): what waits, and for a stage reviewed by an expert panel the
    panel's result each decision will rely on — the result (and digest) its audit event records."""
    text = f"### {title}\n\n{markdown_table(describe(session, applications))}"
    results = panel_results(session, applications)
    if results:
        heading = "#### 专家评审结果 · Expert panel results (recorded with each decision)"
        text += f"\n\n{heading}\n\n{markdown_table(results)}"
    return text


def panel_results(session: Session, applications: Iterable[Application]) -> list[dict[str, Any]]:
    """One row per application whose current stage the season reviews by panel (programmes.reviews)."""
    from programmes.panels import STAGE_LABELS
    from programmes.reviews import RECOMMENDATION_LABELS, pending_result

    rows = []
    for application in applications:
        found = pending_result(session, application)
        if found is None:
            continue
        rule, result = found
        flag = " ⚠ 分歧较大 dispersed" if result.dispersed else ""
        rows.append({
            "id": application.id,
            "stage": f"{STAGE_LABELS.get(rule.stage, rule.stage)} {rule.stage}",
            "reviews": f"{result.submitted}/{result.expected or rule.reviewers}"
                       + ("" if result.concluded else " — not concluded: a decision is refused until it is"),
            "mean": result.mean, "median": result.median, "spread": f"{result.spread}{flag}",
            "recommendations": ", ".join(f"{RECOMMENDATION_LABELS.get(k, k)} {k} {n}"
                                         for k, n in result.recommendations.items()) or "—",
            "on-site items failed": ", ".join(f"{k} {n}" for k, n in result.items_failed.items()) or "—",
            "digest": result.as_dict()["digest"][:16],
        })  # fmt: skip
    return rows


def run_name(label: Callable[[dict[str, Any]], str]) -> Callable[[], str]:
    """A flow run named for what it does: `label(parameters)` and the day it acts on (e.g.
    "district-review sh.qingpu 2025-07-18"), instead of a random name."""

    def name() -> str:
        from prefect.runtime import flow_run

        raw = flow_run.parameters.get("params") or {}
        params = raw.model_dump() if isinstance(raw, BaseModel) else dict(raw)
        try:
            day = local_date(parse_instant(params["now"]) if params.get("now") else clock_from_env().now())
        except (ValueError, TypeError):
            day = None
        return f"{label(params)} {day.isoformat() if day else ''}".strip()

    return name


def plain(value: Any) -> Any:
    """A service report as plain JSON data (the run's result and log line)."""
    import json
    from dataclasses import asdict, is_dataclass

    if hasattr(value, "as_dict"):
        value = value.as_dict()
    elif is_dataclass(value) and not isinstance(value, type):
        value = asdict(value)
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))


def review_name(params: dict[str, Any]) -> str:
    """"district-review sh.qingpu": the unit's level names the review (city-review, province-review…)."""
    level: str = "local"
    with suppress(ReviewError, KeyError):
        level = get_season(params.get("season") or current_season()).unit(params["unit"]).level
    return f"{level}-review {params.get('unit', '')}"


def slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower())


def outcomes_of(rows: Iterable[Any], *, event: str, **fixed: Any) -> list[Outcome]:
    """A service function's plain results (dataclasses with Outcome's fields) as the flow's outcomes."""
    return [Outcome(event=event, **fixed, **asdict(row)) for row in rows]


def schedule_follow_up(deployment: str, parameters: dict[str, Any], *, when: datetime, key: str) -> str | None:
    """Schedule a later run of a deployment and return its id; the same key returns the run already
    scheduled (Prefect's idempotency key), so a re-run schedules nothing twice. Long waits (a notice
    period, a two-year cultivation) are scheduled runs, never a paused or sleeping one.

    Outside a deployment's world (no such deployment registered) it logs and returns None."""
    from prefect.client.schemas.objects import FlowRun
    from prefect.deployments import run_deployment
    from prefect.exceptions import ObjectNotFound

    try:
        # Called from sync code, run_deployment returns the FlowRun itself.
        run: FlowRun = run_deployment(  # type: ignore[assignment]
            deployment,
            parameters=parameters,
            scheduled_time=when,
            idempotency_key=key,
            timeout=0,
            as_subflow=False,
            tags=["follow-up"],
        )
    except ObjectNotFound:
        logger().warning("deployment %s is not registered; follow-up %s not scheduled", deployment, key)
        return None
    logger().info("follow-up %s scheduled for %s (flow run %s)", key, when.isoformat(), run.id)
    return str(run.id)


schedule = task(name="schedule-follow-up", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)(schedule_follow_up)


def schedule_per_day(
    deployment: str,
    by_day: dict[date, list[int]],
    *,
    key_prefix: str,
    parameters_for: Callable[[list[int]], dict[str, Any]],
    run_at: Callable[[date], datetime],
) -> dict[str, str | None]:
    """One follow-up run per day for the applications due that day (a notice closing, a cultivation
    ending); the key names the day and the ids, so a re-run finds the run already scheduled."""
    scheduled: dict[str, str | None] = {}
    for day, ids in sorted(by_day.items()):
        ids = sorted(ids)
        key = f"{key_prefix}:{day.isoformat()}:{','.join(map(str, ids))}"
        scheduled[day.isoformat()] = schedule(deployment, parameters_for(ids), when=run_at(day), key=key)
    return scheduled


def each(values: Iterable[int], event: str, **fields: Any) -> list[EventItem]:
    return [EventItem(application_id=v, event=event, **fields) for v in values]
