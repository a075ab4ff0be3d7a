"""The default backend: the season's stages through the real Prefect flows of `flows/`, one run per unit batch.

Ranked rounds run `local_review`, the ministry's steps `ministry_review`, `onsite_verification`,
`public_notice`, `cultivation` and `acceptance`, the daily reminders `reminder_sweep`. Submissions and the
Tianjin and Qingpu tracks (one event per application, no stage flow of their own) use the one door
directly, as `DirectBackend` does. Prefect runs on a local server this backend starts and stops
(`flows.prefect_server`, its home in the output folder), waiting for it as long as the machine needs: Prefect's
own temporary server gives up after 20 s, less than a first start takes on a busy 2-core machine.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections import Counter, defaultdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from replay.calendar import DirectBackend, Item

# A flow's outcome names the rule only; the error type for the refusal counter, as the direct backend counts.
RULE_TYPES = {
    "quota": "QuotaExceeded",
    "quota-unknown": "QuotaUnknown",
    "deadline:recommend": "DeadlinePassed",
    "deadline:submit": "DeadlinePassed",
    "ranked": "TransitionRefused",
    "authorisation": "NotAuthorised",
}


def prefect_environment(home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_HOME", str(home.resolve()))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "CRITICAL")  # refusals go to refusals.jsonl, not the console
    os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "false")


class FlowBackend(DirectBackend):
    name = "prefect"

    def __init__(self, engine: Engine, mail_dir: Path, refusals: Counter[str], log: list[dict[str, Any]], *,
                 prefect_home: Path) -> None:  # fmt: skip
        prefect_environment(prefect_home)
        super().__init__(engine, mail_dir, refusals, log)
        self.runs: Counter[str] = Counter()
        from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

        from flows.prefect_server import deferred_prefect_api

        self._stack = contextlib.ExitStack()
        try:
            # The server starts now and is waited for at the first flow run: the caller registers the
            # season's enterprises meanwhile (the two together on 2 cores instead of one after the other).
            self._api = self._stack.enter_context(deferred_prefect_api(prefect_home, services=False))
            self._stack.enter_context(temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}))
        except BaseException:
            self._stack.close()
            raise
        # A refused batch fails its flow run (StageRefused), which Prefect logs with a traceback: the demo
        # counts it instead. Quiet Prefect's console loggers for the replay, put back on close().
        self._loggers = {name: logging.getLogger(name).level for name in ("prefect", "prefect.flow_runs",
                                                                           "prefect.task_runs", "flows")}  # fmt: skip
        for name in self._loggers:
            logging.getLogger(name).setLevel(logging.CRITICAL)

    def close(self) -> None:
        for name, level in self._loggers.items():
            logging.getLogger(name).setLevel(level)
        self._stack.close()

    def _run(self, flow: Any, params: Any, when: datetime, *, per_round: bool = False) -> Any:
        """Run one flow; count its refused outcomes (a ranked round's refusal once, as the direct backend)."""
        from flows.common import StageRefused

        self.runs[flow.name] += 1
        self._api()
        try:
            report = flow(params)
        except StageRefused as refused:
            report = refused.report
        seen: set[str] = set()
        for o in getattr(report, "refused", []):
            key = f"{RULE_TYPES.get(o.rule, 'Refused')}:{o.rule}"
            if per_round and o.event == "recommend":
                if key in seen:
                    continue
                seen.add(key)
            self.refusals[key] += 1
            self.log.append({"at": when.isoformat(), "what": o.event, "refusal": key, "message": o.message,
                             "application_id": o.application_id})  # fmt: skip
        return report

    def ranked(self, unit: str, tier: str, ranked: list[int], rejected: list[Item], when: datetime) -> str | None:
        from flows.local_review import LocalDecision, ReviewRoundParams, local_review

        decisions = [LocalDecision(application_id=i.application_id, decision="reject", reason=i.reason)
                     for i in rejected]  # fmt: skip
        decisions += [LocalDecision(application_id=i, decision="recommend") for i in ranked]
        params = ReviewRoundParams(actor=f"local_officer@{unit}", now=when.isoformat(), unit=unit, tier=tier,
                                   decisions=decisions)  # fmt: skip
        before = sum(self.refusals.values())
        report = self._run(local_review, params, when, per_round=True)
        if sum(self.refusals.values()) == before:
            return None
        rules = [o.rule for o in report.refused if o.event == "recommend"]
        return f"{RULE_TYPES.get(rules[0], 'Refused')}:{rules[0]}" if rules else "Refused"

    def fire(self, items: list[Item], when: datetime, *, stage: str) -> None:
        """Each stage through its flow (one run per tier or actor); other stages as the direct backend does."""
        if not items:
            return
        by_stage = {"ministry": self._ministry, "onsite": self._onsite, "public-notice": self._public_notice,
                    "cultivation": self._cultivation, "acceptance": self._acceptance}  # fmt: skip
        if stage not in by_stage:
            super().fire(items, when, stage=stage)
            return
        by_stage[stage](items, when, when.isoformat(), {i.event for i in items})

    def _ministry(self, items: list[Item], when: datetime, now: str, events: set[str]) -> None:
        from flows.ministry import MinistryReviewParams, PanelOutcome, ministry_review

        if events == {"open_ministry_review"}:  # the flow opens every recommended application of the tier
            for tier in sorted(set(self._tiers([i.application_id for i in items]).values())):
                self._run(ministry_review, MinistryReviewParams(actor=items[0].actor, now=now, tier=tier,
                                                                decisions=[]), when)  # fmt: skip
            return
        tiers = self._tiers([i.application_id for i in items])
        for tier in sorted(set(tiers.values())):
            decisions = [PanelOutcome(application_id=i.application_id,
                                      outcome="pass" if i.event == "pass_review" else "reject", reason=i.reason)
                         for i in items if tiers[i.application_id] == tier]  # fmt: skip
            self._run(ministry_review, MinistryReviewParams(actor=items[0].actor, now=now, tier=tier,
                                                            decisions=decisions), when)  # fmt: skip

    def _onsite(self, items: list[Item], when: datetime, now: str, events: set[str]) -> None:
        from flows.onsite import OnsiteParams, Visit, onsite_verification
        from flows.public_notice import NoticeWindow

        tiers = self._tiers([i.application_id for i in items])
        for tier in sorted(set(tiers.values())):
            visits = [Visit(application_id=i.application_id, outcome="pass", verified_on=when.date())
                      for i in items if tiers[i.application_id] == tier]  # fmt: skip
            window = NoticeWindow(opens_on=date(2025, 9, 4), working_days=5)
            self._run(onsite_verification, OnsiteParams(actor=items[0].actor, now=now, tier=tier, decisions=visits,
                                                        notice=window, schedule_close=False), when)  # fmt: skip

    def _public_notice(self, items: list[Item], when: datetime, now: str, events: set[str]) -> None:
        from flows.public_notice import Objection, PublicNoticeParams, public_notice

        if events == {"recognise"}:
            params = PublicNoticeParams(actor=items[0].actor, now=now, close=[i.application_id for i in items],
                                        schedule_close=False)  # fmt: skip
        else:
            action = {"raise_objection": "raise", "dismiss_objection": "dismiss", "uphold_objection": "uphold"}
            params = PublicNoticeParams(actor=items[0].actor, now=now, schedule_close=False, objections=[
                Objection(application_id=i.application_id, objection_id=f"2025-YY-{i.application_id:03d}",
                          action=action[i.event], reason=i.reason) for i in items])  # type: ignore[arg-type]  # fmt: skip
        self._run(public_notice, params, when)

    def _cultivation(self, items: list[Item], when: datetime, now: str, events: set[str]) -> None:
        from flows.cultivation import CultivationParams, cultivation

        ids = [i.application_id for i in items]
        if events == {"start_cultivation"}:
            growing = CultivationParams(actor=items[0].actor, now=now, start=ids, started_on=when.date(),
                                        schedule_expiry=False)  # fmt: skip
        else:
            growing = CultivationParams(actor="system@system", now=now, expire=ids, schedule_expiry=False)
        self._run(cultivation, growing, when)

    def _acceptance(self, items: list[Item], when: datetime, now: str, events: set[str]) -> None:
        from flows.acceptance import AcceptanceDecision, AcceptanceParams, acceptance

        if events == {"request_acceptance"}:  # the platform's feed of requests (one run), each as its enterprise
            ids = [i.application_id for i in items]
            self._run(acceptance, AcceptanceParams(actor="system@system", now=now, stage="request",
                                                   application_ids=ids), when)  # fmt: skip
            return
        stage_name = "preliminary_review" if events == {"pass_preliminary_review"} else "expert_acceptance"
        by_actor: dict[str, list[Item]] = defaultdict(list)
        for i in items:
            by_actor[i.actor].append(i)
        for actor, group in sorted(by_actor.items()):
            passed = [AcceptanceDecision(application_id=i.application_id, outcome="pass") for i in group]
            self._run(acceptance, AcceptanceParams(actor=actor, now=now, stage=stage_name,  # type: ignore[arg-type]
                                                   decisions=passed), when)  # fmt: skip

    def _tiers(self, ids: list[int]) -> dict[int, str]:
        from sqlmodel import Session

        from models.tables import Application

        with Session(self.engine) as session:
            return {i: session.get(Application, i).tier for i in ids}  # type: ignore[union-attr]

    def reminders(self, when: datetime) -> None:
        """The day's `reminder-sweep` run, on the days it has something to look at: on the others the
        scheduled run would probe the due-item index and queue nothing, and its flow run is what costs."""
        from sqlmodel import Session

        from flows.reminders import ReminderParams, reminder_sweep
        from notifications.reminders import sweep_has_work

        with Session(self.engine) as session:
            needed = sweep_has_work(session, now=when)
        if needed:
            self.runs["reminder-sweep"] += 1
            self._api()
            reminder_sweep(ReminderParams(now=when.isoformat(), send=False))
        self.send(when)
