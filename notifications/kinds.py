"""The notification kinds, declared once in `kinds.yaml`: when, to whom, which template, which outbox key.

policy = load_policy()
policy.kind("escalation").key_for(...)      # the outbox dedupe key (and the grouping of one message)
policy.reminders()                           # the kinds a sweep queues per application, in declaration order
policy.review_reminders()                    # the kinds a sweep queues per late expert review
"""

from __future__ import annotations

from datetime import date, datetime, time
from functools import cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict, Field

POLICY_PATH = Path(__file__).resolve().parent / "kinds.yaml"
Audience = Literal["applicant", "unit_officers", "officers_above", "reviewer"]


class Kind(BaseModel):
    """One kind of message. Reminder kinds say which applications (`states`), whose date (`unit`, `step`
    or the cultivation end) and which days (`offsets`/`after_days`); `to` names recipients.py's audiences."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str = Field(pattern=r"^[a-z_]+$")
    when: Literal["transition", "deadline", "cultivation", "review"]
    template: str = ""  # default: the kind's name
    key: str = Field(min_length=1)
    step: Literal["submit", "recommend"] | None = None
    states: tuple[str, ...] = ()
    below_top: bool = False
    unit: Literal["jurisdiction", "holder", "top"] = "holder"
    to: tuple[Audience, ...] = ()
    offsets: tuple[int, ...] = ()
    after_days: tuple[int, ...] = ()
    catch_up: Literal["all", "latest"] = "all"
    source: str = Field(min_length=1)

    @property
    def template_name(self) -> str:
        return self.template or self.kind

    def key_for(self, **fields: object) -> str:
        """The dedupe key from the declared pattern (emails compared lower-case)."""
        email = str(fields.pop("email", "")).strip().lower()
        return self.key.format(kind=self.kind, email=email, **fields)


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str = "Asia/Shanghai"
    send_at: time = time(9, 0)
    kinds: tuple[Kind, ...]

    def kind(self, name: str) -> Kind:
        found = next((k for k in self.kinds if k.kind == name), None)
        if found is None:
            raise KeyError(f"no notification kind {name!r} in {POLICY_PATH.name}")
        return found

    def rule(self, name: str) -> Kind | None:
        return next((k for k in self.kinds if k.kind == name), None)

    def reminders(self) -> tuple[Kind, ...]:
        """The kinds about an application's date (a deadline, the cultivation end)."""
        return tuple(k for k in self.kinds if k.when in ("deadline", "cultivation"))

    def review_reminders(self) -> tuple[Kind, ...]:
        """The kinds about an expert's review past its due day (programmes.reviews.late_reviews)."""
        return tuple(k for k in self.kinds if k.when == "review")

    def send_instant(self, day: date) -> datetime:
        """When a reminder for `day` becomes due."""
        return datetime.combine(day, self.send_at, ZoneInfo(self.timezone))


@cache
def load_policy(path: str | Path = POLICY_PATH) -> Policy:
    return Policy.model_validate(yaml.safe_load(Path(path).read_text(encoding="utf-8")))
