"""What data each lifecycle event may carry: one pydantic schema per step of the lifecycle table.

A step's `data` schema (states/lifecycle.py) lists the only fields its event accepts, with their types;
who may fire the event is the step's `who`, so a field is also only writable by that role (an applicant's
`submit` carries no milestones). Anything else is refused before a guard runs (issue #15 item 4).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from models.errors import InvalidInput


class EventData(BaseModel):
    """What every event may carry: nothing but a flow run's idempotency key (flows/common)."""

    model_config = ConfigDict(extra="forbid")

    flow_key: str | None = Field(default=None, max_length=300)


class Ranked(EventData):
    """`recommend`: the application's place in the unit's priority order (251 §2(二)3, §3(二)3)."""

    rank: int | None = Field(default=None, ge=1)


class OnsiteMilestone(BaseModel):
    model_config = ConfigDict(extra="forbid")

    onsite_verified_on: date


class Verified(EventData):
    """`pass_verification` (national): the on-site date; for excellent, the public notice it opens
    (251 §2(二)4; the `notice_dates_given` guard requires the dates)."""

    notice_opens_on: date | None = None
    notice_closes_on: date | None = None
    notice_id: str | None = Field(default=None, max_length=100)
    milestone: OnsiteMilestone | None = None


class CultivationStart(EventData):
    """`start_cultivation`: the first day of the cultivation period (251 §3(二)5)."""

    started_on: date | None = None


class Checkpoint(EventData):
    """`record_checkpoint`: {"checkpoint <id>": date} entries (251 §3(二)5 专家委指导)."""

    milestone: dict[str, date] = Field(default_factory=dict)

    @field_validator("milestone")
    @classmethod
    def _checkpoint_keys(cls, value: dict[str, date]) -> dict[str, date]:
        if any(not k.startswith("checkpoint ") for k in value):
            raise ValueError("entries are named 'checkpoint <id>'")
        return value


class NoticeMilestone(BaseModel):
    model_config = ConfigDict(extra="forbid")

    notice_opens_on: date
    notice_closes_on: date
    notice_working_days: int | None = Field(default=None, ge=1, le=30)


class NoticeOpened(EventData):
    """Qingpu `pass_expert_review`: the public notice it opens (QP §5(二) 公示期限为5个工作日)."""

    milestone: NoticeMilestone


def checked_data(event: str, schema: type[EventData], data: dict[str, Any], *, source: str = "") -> dict[str, Any]:
    """The data as the schema normalises it (dates as YYYY-MM-DD, absent fields left out), or a one-line
    `InvalidInput` naming the field, what was wrong and what the event accepts."""
    try:
        parsed = schema.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "data"
        allowed = ", ".join(k for k in schema.model_fields if k != "flow_key") or "no data"
        why = "is not a field of this event" if first.get("type") == "extra_forbidden" else first.get("msg", "")
        raise InvalidInput(
            f"'{event}' data: {where} {why} (it accepts: {allowed})", rule="event-data", source=source
        ) from None
    return parsed.model_dump(mode="json", exclude_none=True)


SCHEMAS: dict[str, type[EventData]] = {
    cls.__name__: cls for cls in (EventData, Ranked, Verified, CultivationStart, Checkpoint, NoticeOpened)
}


def event_schema(name: str | None) -> type[EventData]:
    """The schema a season's track row names (`data: Ranked`); no name: the event accepts no data."""
    if name is None:
        return EventData
    try:
        return SCHEMAS[name]
    except KeyError:
        raise ValueError(f"unknown decision data schema {name!r}; one of {', '.join(sorted(SCHEMAS))}") from None
