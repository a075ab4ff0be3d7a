"""The 2025 season's calendar, replayed day by day from 2025-06-30 to the end of the leading tier's cultivation.

Every step is a real action through the one door (`states.service.transition`) or a unit's ranked round
(`programmes.recommendation.submit_ranked_recommendation`); a `Backend` decides how: `DirectBackend` calls
them in-process (`--fast`), `replay.flows_backend.FlowBackend` runs the stage flows of `flows/`.
Each refused step is counted as `ErrorType:rule` — refusals are part of the season (late submitters,
ineligible files, quotas), not failures of the replay.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from models.errors import QuotaExceeded, ReviewError
from models.tables import Application, Enterprise
from programmes.recommendation import held_applications, quota_for, submit_ranked_recommendation
from programmes.season import get_season
from programmes.statistics import with_statistics
from programmes.tracks import notice_milestone
from replay.panels import DemoPanels
from replay.synthetic import MINISTRY_ACTOR, SEASON, Season2025, Spec, at
from states.bulk import Decision, transition_many
from states.intake import resolve_actor

NOTICE = {"notice_opens_on": "2025-09-04", "notice_closes_on": "2025-09-11", "notice_id": "miit-excellent-2025"}
REMINDER_DAYS = (date(2025, 7, 1), date(2025, 8, 31))
SEASON_END = at("2027-11-26", 9)  # the day after the leading tier's cultivation expires: the last mail
OVER_QUOTA_REASON = "超出推荐名额，按推荐顺序未予推荐 (over the unit's quota; ranked below the cut)"


@dataclass
class Item:
    application_id: int
    event: str
    actor: str  # role@unit
    reason: str = ""
    data: dict[str, Any] = field(default_factory=dict)


def count(refusals: Counter[str], error: ReviewError) -> str:
    key = f"{type(error).__name__}:{error.rule}"
    refusals[key] += 1
    return key


class DirectBackend:
    """Direct service calls (`--fast`)."""

    name = "direct"

    def __init__(self, engine: Engine, mail_dir: Path, refusals: Counter[str], log: list[dict[str, Any]]) -> None:
        self.engine = engine
        self.mail_dir = mail_dir
        self.refusals = refusals
        self.log = log
        self._actors: dict[str, Any] = {}

    def refused(self, when: datetime, what: str, error: ReviewError, **fields: Any) -> None:
        key = count(self.refusals, error)
        self.log.append({"at": when.isoformat(), "what": what, "refusal": key, "message": error.message, **fields})

    def _actor(self, session: Session, spec: str) -> Any:
        if spec not in self._actors:
            actor = resolve_actor(session, spec)
            session.expunge(actor) if actor in session else None
            self._actors[spec] = actor
        return self._actors[spec]

    def fire(self, items: list[Item], when: datetime, *, stage: str) -> None:
        """The stage's events at one instant through the bulk door (`states.bulk.transition_many`): each
        guarded, audited and chained as `transition` does it, one commit per batch of 500."""
        with Session(self.engine) as session:
            decisions = [Decision(item.application_id, item.event, self._actor(session, item.actor),
                                  reason=item.reason, data=dict(item.data)) for item in items]  # fmt: skip
            report = transition_many(session, decisions, at=when)
        for refusal in report.refused:
            item = items[refusal.index]
            self.refused(when, item.event, refusal.error, application_id=item.application_id)

    def ranked(self, unit: str, tier: str, ranked: list[int], rejected: list[Item], when: datetime) -> str | None:
        """Reject the ones below the cut, then forward the ranked list in one round; the refusal key or None."""
        self.fire(rejected, when, stage="local-review")
        with Session(self.engine) as session:
            try:
                submit_ranked_recommendation(session, unit=unit, tier=tier, ranked_application_ids=ranked,
                                             actor=self._actor(session, f"local_officer@{unit}"), at=when)  # fmt: skip
                return None
            except ReviewError as error:
                self.refused(when, f"ranked_recommendation {unit} {tier}", error, unit=unit, tier=tier)
                return f"{type(error).__name__}:{error.rule}"

    def reminders(self, when: datetime) -> None:
        from notifications.reminders import sweep

        with Session(self.engine) as session:
            sweep(session, now=when)
        self.send(when + timedelta(minutes=5))

    def send(self, when: datetime) -> None:
        from notifications.sender import EmlFolderTransport, send_pending

        send_pending(self.engine, transport=EmlFolderTransport(self.mail_dir), now=when)

    def close(self) -> None:
        """Nothing to release for direct calls."""


# ---- the calendar ------------------------------------------------------------------------------------------


class Replay:
    """Runs the season's steps in date order against a backend."""

    def __init__(self, engine: Engine, season: Season2025, backend: Any, *, tick: Callable[[str], None] | None = None,
                 reminder_days: tuple[date, date] = REMINDER_DAYS) -> None:  # fmt: skip
        self.reminder_days = reminder_days
        self.engine = engine
        self.season = season
        self.backend = backend
        self.s = get_season(SEASON)
        self.tick = tick or (lambda _label: None)
        self.panels = DemoPanels(engine, seed=len(season.specs))

    # queries -------------------------------------------------------------------------------------------------

    def _rows(self, states: Iterable[str], *, track: str = "national", tiers: Iterable[str] | None = None) -> list[Any]:
        with Session(self.engine) as session:
            query = select(Application).where(
                Application.state.in_(list(states)),  # type: ignore[attr-defined]
                Application.track == track,  # type: ignore[arg-type]
            )
            if tiers is not None:
                query = query.where(Application.tier.in_(list(tiers)))  # type: ignore[attr-defined]
            rows = session.scalars(query.order_by(col(Application.id))).all()
            for row in rows:
                session.expunge(row)
            return list(rows)

    def spec(self, application_id: int) -> Spec:
        return self.season.applications[application_id]

    def applicants(self, application_ids: Iterable[int]) -> dict[int, str]:
        """Who acts for each application's enterprise (`enterprise@credit code`), in one query."""
        with Session(self.engine) as session:
            rows = session.execute(
                select(col(Application.id), col(Enterprise.credit_code))
                .join(Enterprise, col(Enterprise.id) == col(Application.enterprise_id))
                .where(col(Application.id).in_(list(application_ids)))
            )
            return {ident: f"enterprise@{code}" for ident, code in rows}

    # steps ---------------------------------------------------------------------------------------------------

    def submissions(self, day: date) -> None:
        ids = [app_id for app_id, spec in sorted(self.season.applications.items()) if spec.submit_day == day]
        applicants = self.applicants(ids)
        items = [Item(app_id, "submit", applicants[app_id]) for app_id in ids]
        if items:
            self.backend.fire(items, at(day, 10), stage="intake")

    def rounds_on(self) -> dict[date, list[tuple[int, str, str]]]:
        """(chain position, unit, tier) of every national ranked round, on its unit's recommendation deadline."""
        out: dict[date, set[tuple[int, str, str]]] = {}
        with Session(self.engine) as session:
            apps = session.scalars(select(Application).where(Application.track == "national")).all()  # type: ignore[arg-type]
            for app in apps:
                for position, unit in enumerate(app.chain):
                    deadline = self.s.deadline_for(unit, "recommend", app.tier, "national")
                    if deadline is not None:
                        out.setdefault(deadline.on, set()).add((position, unit, app.tier))
        return {day: sorted(rounds) for day, rounds in out.items()}

    def ranked_round(self, unit: str, tier: str, when: datetime) -> None:
        with Session(self.engine) as session:
            held = [a.id for a in held_applications(session, unit=unit, tier=tier, season=SEASON) if a.id]
            top = {
                a.id: a.review_level == len(a.chain) - 1
                for a in session.scalars(select(Application).where(col(Application.id).in_(held)))
            }
        if not held:
            return
        ranked = sorted(held, key=lambda i: self.spec(i).n)
        refusal = self.backend.ranked(unit, tier, ranked, [], when)
        # Refused over the quota: the unit rejects the ones below the cut (with the reason) and resubmits.
        if refusal is None or not refusal.startswith(QuotaExceeded.__name__):
            return
        try:
            with Session(self.engine) as session:
                quota = quota_for(with_statistics(session, self.s), unit, tier, top_of_chain=all(top.values()))
        except ReviewError:
            return
        if quota.limit is None or len(ranked) <= quota.limit:
            return
        keep, cut = ranked[: quota.limit], ranked[quota.limit :]
        rejected = [Item(i, "reject", f"local_officer@{unit}", reason=OVER_QUOTA_REASON) for i in cut]
        self.backend.ranked(unit, tier, keep, rejected, when + timedelta(minutes=30))

    def tianjin_district(self, when: datetime) -> None:
        rows = self._rows(["submitted"], track="provincial")
        items = [Item(a.id, "recommend", f"local_officer@{a.chain[a.review_level]}") for a in rows]
        self.backend.fire(items, when, stage="local-review")

    def tianjin_city(self, when: datetime) -> None:
        rows = self._rows(["local_review"], track="provincial")
        items = [Item(a.id, "file" if a.tier == "basic" else "open_expert_review", "local_officer@tj") for a in rows]
        self.backend.fire(items, when, stage="provincial")

    def tianjin_designate(self, when: datetime) -> None:
        rows = self._rows(["expert_review"], track="provincial")
        self.backend.fire([Item(a.id, "designate", "local_officer@tj") for a in rows], when, stage="provincial")

    def ministry_open(self, when: datetime) -> None:
        rows = self._rows(["recommended"])
        self.backend.fire([Item(a.id, "open_ministry_review", MINISTRY_ACTOR) for a in rows], when, stage="ministry")

    def ministry_pass(self, when: datetime) -> None:
        leading = [a.id for a in self._rows(["ministry_review"], tiers=["leading"])]
        weak = {i for i in leading if self.spec(i).fate == "reject_review"}
        self.panels.run("material_review", "leading", leading, when, weak=weak)
        items = []
        for a in self._rows(["ministry_review"]):
            if self.spec(a.id).fate == "reject_review":
                items.append(Item(a.id, "reject", MINISTRY_ACTOR, reason="材料评审未通过：场景建设成效不足"))
            else:
                items.append(Item(a.id, "pass_review", MINISTRY_ACTOR))
        self.backend.fire(items, when, stage="ministry")

    def onsite(self, when: datetime) -> None:
        leading = [a.id for a in self._rows(["onsite_verification"], tiers=["leading"])]
        self.panels.run("onsite_verification", "leading", leading, when, weak=set())
        items = [
            Item(a.id, "pass_verification", MINISTRY_ACTOR, data=dict(NOTICE) if a.tier == "excellent" else {})
            for a in self._rows(["onsite_verification"])
        ]
        self.backend.fire(items, when, stage="onsite")

    def objections(self, event: str, reason: str, when: datetime) -> None:
        items = [
            Item(a.id, event, MINISTRY_ACTOR, reason=reason)
            for a in self._rows(["public_notice"])
            if self.spec(a.id).fate == "objection"
        ]
        self.backend.fire(items, when, stage="public-notice")

    def recognise(self, when: datetime) -> None:
        items = [Item(a.id, "recognise", MINISTRY_ACTOR) for a in self._rows(["public_notice"])]
        self.backend.fire(items, when, stage="public-notice")

    def start_cultivation(self, when: datetime) -> None:
        items = [
            Item(a.id, "start_cultivation", MINISTRY_ACTOR, data={"started_on": when.date().isoformat()})
            for a in self._rows(["cultivation_object"])
        ]
        self.backend.fire(items, when, stage="cultivation")

    def acceptance(self, event: str, when: datetime) -> None:
        source = {"request_acceptance": "in_cultivation", "pass_preliminary_review": "acceptance_requested",
                  "accept": "expert_acceptance"}[event]  # fmt: skip
        if event == "accept":
            ready = [a.id for a in self._rows([source], tiers=["leading"]) if self.spec(a.id).fate == "accept"]
            self.panels.run("acceptance", "leading", ready, when, weak=set())
        rows = [a for a in self._rows([source]) if self.spec(a.id).fate == "accept"]
        applicants = self.applicants(a.id for a in rows) if event == "request_acceptance" else {}
        actors = {"pass_preliminary_review": lambda a: f"local_officer@{a.chain[-1]}",
                  "request_acceptance": lambda a: applicants[a.id], "accept": lambda a: MINISTRY_ACTOR}  # fmt: skip
        items = [Item(a.id, event, actors[event](a)) for a in rows]
        self.backend.fire(items, when, stage="acceptance")

    def expire(self, when: datetime) -> None:
        rows = self._rows(["in_cultivation", "acceptance_requested"])
        items = [Item(a.id, "expire", "system@scheduler") for a in rows]
        self.backend.fire(items, when, stage="cultivation")

    def qingpu(self, step: str, when: datetime) -> None:
        source = {"pass_first_check": "submitted", "pass_expert_review": "expert_review", "designate": "public_notice"}
        data = notice_milestone(when.date()) if step == "pass_expert_review" else {}
        items = [Item(a.id, step, "local_officer@sh.qingpu", data=dict(data))
                 for a in self._rows([source[step]], track="district")]  # fmt: skip
        self.backend.fire(items, when, stage="qingpu")

    # the whole season ----------------------------------------------------------------------------------------

    def schedule(self) -> list[tuple[datetime, str, Callable[[], None]]]:
        steps: list[tuple[datetime, str, Callable[[], None]]] = []

        def add(when: datetime, label: str, fn: Callable[[], None]) -> None:
            steps.append((when, label, fn))

        days = sorted({s.submit_day for s in self.season.applications.values() if s.submit_day})
        for day in days:
            add(at(day, 10), f"{day} submissions", partial(self.submissions, day))
        for day, rounds in self.rounds_on().items():
            for position, unit, tier in rounds:
                when = at(day, 15 + position)
                label = f"{day} ranked round {unit} {tier}"
                add(when, label, partial(self.ranked_round, unit, tier, when))
        add(at("2025-07-20", 14), "Tianjin district review", lambda: self.tianjin_district(at("2025-07-20", 14)))
        add(at("2025-08-15", 10), "Tianjin city filing and review", lambda: self.tianjin_city(at("2025-08-15", 10)))
        add(at("2025-08-29", 10), "Tianjin advanced designation", lambda: self.tianjin_designate(at("2025-08-29", 10)))
        add(at("2025-08-05", 10), "ministry review opens", lambda: self.ministry_open(at("2025-08-05", 10)))
        add(at("2025-08-20", 10), "ministry panel", lambda: self.ministry_pass(at("2025-08-20", 10)))
        add(at("2025-09-01", 10), "on-site verification", lambda: self.onsite(at("2025-09-01", 10)))
        add(
            at("2025-09-06", 10),
            "objection raised",
            lambda: self.objections("raise_objection", "群众来信反映投资额存疑", at("2025-09-06", 10)),
        )
        add(
            at("2025-09-08", 10),
            "objection dismissed",
            lambda: self.objections("dismiss_objection", "经核实投资额属实", at("2025-09-08", 10)),
        )
        add(at("2025-09-10", 10), "Qingpu first check", lambda: self.qingpu("pass_first_check", at("2025-09-10", 10)))
        add(at("2025-09-12", 10), "excellent recognised", lambda: self.recognise(at("2025-09-12", 10)))
        add(at("2025-09-26", 10), "Qingpu notice", lambda: self.qingpu("pass_expert_review", at("2025-09-26", 10)))
        add(at("2025-10-11", 10), "Qingpu designation", lambda: self.qingpu("designate", at("2025-10-11", 10)))
        add(at("2025-11-24", 10), "leading cultivation starts", lambda: self.start_cultivation(at("2025-11-24", 10)))
        add(
            at("2026-10-08", 10),
            "acceptance requested",
            lambda: self.acceptance("request_acceptance", at("2026-10-08", 10)),
        )
        add(
            at("2026-10-20", 10),
            "preliminary review",
            lambda: self.acceptance("pass_preliminary_review", at("2026-10-20", 10)),
        )
        add(at("2026-12-01", 10), "expert acceptance", lambda: self.acceptance("accept", at("2026-12-01", 10)))
        add(at("2027-11-25", 10), "cultivation expires", lambda: self.expire(at("2027-11-25", 10)))
        day = self.reminder_days[0]
        while day <= self.reminder_days[1]:
            add(at(day, 9), f"{day} reminders", partial(self.backend.reminders, at(day, 9)))
            day += timedelta(days=1)
        steps.sort(key=lambda s: (s[0], s[1]))
        return steps

    def steps(self, until: datetime | None = None) -> list[tuple[datetime, str, Callable[[], None]]]:
        """The schedule's steps before `until` (every step when None)."""
        return [s for s in self.schedule() if until is None or s[0] < until]

    def run(self, until: datetime | None = None) -> datetime:
        """Run every step before `until` (all of them when None); returns the instant the replay stopped at,
        the clock a replay database keeps afterwards (`cli.demo`)."""
        steps = self.steps(until)
        last_day = None
        for when, label, fn in steps:
            fn()
            if when.date() > self.reminder_days[1] and when.date() != last_day:
                self.backend.send(when + timedelta(hours=1))  # the day's mail after the reminder weeks
            last_day = when.date()
            self.tick(label)
        stop = until or SEASON_END
        self.backend.send(stop)
        return stop
