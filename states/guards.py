"""Named guards and branch conditions.

A guard is `fn(ctx) -> None` that raises a typed `ReviewError` naming its rule and source; it has no
side effects other than appending reviewer warnings to `ctx.warnings`. A condition is a pure predicate
that selects between rows with the same event (e.g. `recommend` up the chain or to the ministry).

Guards that need season data (deadlines, eligibility, materials) live in `programmes.rules`; the
composition root (`programmes.wiring.assemble`) registers them, and fails loudly on a name nobody
registered. A condition `tier=<tier>` holds when the application is of that tier (season tables use it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from models.clock import local_date
from models.errors import InvalidInput, TransitionRefused
from models.tables import Actor, Application, Enterprise

if TYPE_CHECKING:
    from sqlmodel import Session

    from states.lifecycle import Step


@dataclass
class GuardContext:
    session: Session
    application: Application
    enterprise: Enterprise
    actor: Actor
    step: Step
    at: datetime
    reason: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    memo: dict[str, Any] = field(default_factory=dict)  # what several guards of one decision compute alike

    @property
    def holder_unit(self) -> str | None:
        chain = self.application.chain
        level = self.application.review_level
        return chain[level] if 0 <= level < len(chain) else None


Guard = Callable[[GuardContext], None]
Condition = Callable[[GuardContext], bool]

# Evidence: what a decision records beside the caller's data (e.g. the expert panel's result it relied on),
# computed by the door after the guards passed, inside the same transaction. Named on the lifecycle rows.
Evidence = Callable[[GuardContext], dict[str, Any]]

GUARDS: dict[str, Guard] = {}
CONDITIONS: dict[str, Condition] = {}
EVIDENCE: dict[str, Evidence] = {}


def guard(name: str) -> Callable[[Guard], Guard]:
    def register(fn: Guard) -> Guard:
        GUARDS[name] = fn
        return fn

    return register


def condition(name: str) -> Callable[[Condition], Condition]:
    def register(fn: Condition) -> Condition:
        CONDITIONS[name] = fn
        return fn

    return register


def register_guards(guards: dict[str, Guard], evidence: dict[str, Evidence] | None = None) -> None:
    """Add guards (and evidence a decision records) from a floor above; the composition root calls this."""
    GUARDS.update(guards)
    EVIDENCE.update(evidence or {})


def lookup_condition(name: str) -> Condition | None:
    """A registered condition, or the parametrised `tier=<tier>`; None if the name is unknown."""
    if name in CONDITIONS:
        return CONDITIONS[name]
    kind, _, value = name.partition("=")
    if kind == "tier" and value:
        return lambda ctx: ctx.application.tier == value
    return None


# ---- branch conditions -------------------------------------------------------------------------


@condition("has_next_level")
def _has_next_level(ctx: GuardContext) -> bool:
    return ctx.application.review_level + 1 < len(ctx.application.chain)


@condition("is_last_level")
def _is_last_level(ctx: GuardContext) -> bool:
    return ctx.application.review_level + 1 >= len(ctx.application.chain)


# ---- guards that need no season data -----------------------------------------------------------

MAX_REASON = 4000


@guard("reason_given")
def _reason_given(ctx: GuardContext) -> None:
    """Rejections, returns and objection decisions carry a reason the applicant can read."""
    if not ctx.reason.strip():
        raise InvalidInput(
            f"event '{ctx.step.event}' needs a reason (--reason)",
            rule="reason-required",
            source="design card: rejected (reason required)",
        )


@guard("pledge_given")
def _pledge_given(ctx: GuardContext) -> None:
    """251 §2(二)1: the applicant answers for truthfulness and keeps state and trade secrets out."""
    pledge = ctx.application.pledge or {}
    if not (pledge.get("truthful") and pledge.get("no_secrets") and str(pledge.get("signed_by", "")).strip()):
        from models.errors import MaterialsIncomplete

        raise MaterialsIncomplete(
            "the truthfulness pledge (真实性承诺书) must be confirmed, with no state or trade secrets, "
            "and signed by the legal representative",
            rule="truthfulness-pledge",
            source="251 §2(二)1, §3(二)1; 002_… 真实性承诺",
        )


@guard("notice_dates_given")
def _notice_dates_given(ctx: GuardContext) -> None:
    """The excellent list goes to an online public notice before recognition (2025: 09-04..09-11); without
    its dates `recognise` could never be decided, so the verification outcome must carry them."""
    from datetime import date

    try:
        opens = date.fromisoformat(str(ctx.data["notice_opens_on"]))
        closes = date.fromisoformat(str(ctx.data["notice_closes_on"]))
    except (KeyError, ValueError):
        raise InvalidInput("passing verification of an excellent application opens its public notice: give "
                           "notice_opens_on and notice_closes_on (YYYY-MM-DD)", rule="notice-dates",
                           source="251 §2(二)4 (评审认定、名单发布); domain.md §8 网上公示") from None
    if closes < opens:
        raise InvalidInput(f"the notice closes ({closes}) before it opens ({opens})", rule="notice-dates")


@guard("notice_open")
def _notice_open(ctx: GuardContext) -> None:
    closes = ctx.application.milestones.get("notice_closes_on")
    if closes and local_date(ctx.at).isoformat() > closes:
        raise TransitionRefused(
            f"the public notice closed on {closes}; objections are no longer received",
            rule="notice-period",
            source="公示期",
        )


@guard("objection_open")
def _objection_open(ctx: GuardContext) -> None:
    if ctx.application.open_objections <= 0:
        raise TransitionRefused(
            "there is no open objection to decide",
            rule="objection-open",
            source="公示期间有异议的项目…调查核实 (青浦 §5(二))",
        )


@guard("no_open_objections")
def _no_open_objections(ctx: GuardContext) -> None:
    if ctx.application.open_objections > 0:
        raise TransitionRefused(
            f"{ctx.application.open_objections} objection(s) still under investigation",
            rule="objections-resolved",
            source="公示无异议的项目…认定 (青浦 §5(二))",
        )


@guard("notice_period_over")
def _notice_period_over(ctx: GuardContext) -> None:
    closes = ctx.application.milestones.get("notice_closes_on")
    if not closes:
        raise TransitionRefused(
            "no public notice was opened for this application", rule="notice-period", source="公示"
        )
    if local_date(ctx.at).isoformat() <= closes:
        raise TransitionRefused(
            f"the public notice runs until {closes} (Asia/Shanghai)", rule="notice-period", source="公示期"
        )


@guard("cultivation_running")
def _cultivation_running(ctx: GuardContext) -> None:
    ends = ctx.application.cultivation_ends_on
    if ends is not None and local_date(ctx.at) > ends:
        raise TransitionRefused(
            f"the cultivation period ended on {ends.isoformat()}",
            rule="cultivation-period",
            source="251 §3(二)5 (培育期不超过2年)",
        )


@guard("cultivation_over")
def _cultivation_over(ctx: GuardContext) -> None:
    ends = ctx.application.cultivation_ends_on
    if ends is None or local_date(ctx.at) <= ends:
        raise TransitionRefused(
            f"the cultivation period has not ended (ends {ends.isoformat() if ends else 'unknown'})",
            rule="cultivation-period",
            source="251 §3(二)5 (培育期不超过2年)",
        )
