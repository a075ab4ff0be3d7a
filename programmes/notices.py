"""Opening a public notice (公示) for an application: which event, with which data, by its track.

National excellent: `pass_verification` with the notice's dates (251 §2(二)4). Qingpu: `pass_expert_review`
with a notice of the call's working days on the official calendar (QP §5(二) 公示期限为5个工作日).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from models.enums import Track
from models.errors import InvalidInput
from models.tables import Application
from programmes.season import get_season
from programmes.tracks import notice_milestone


def notice_step(application: Application, *, opens: date, closes: date | None,
                notice_id: str | None = None) -> tuple[str, dict[str, Any]]:  # fmt: skip
    """(event, data) that put the application on a public notice opening on `opens`."""
    if application.track == Track.DISTRICT:
        call = get_season(application.season).district_call(application.chain[0] if application.chain else "")
        data = notice_milestone(opens, call.notice_working_days if call else 5)
        computed = data["milestone"]["notice_closes_on"]
        if closes is not None and closes.isoformat() != computed:
            raise InvalidInput(
                f"a notice opened on {opens} closes on {computed} (working days on the official calendar), "
                f"not {closes}; leave --closes out",
                rule="notice-period",
                source="QP §5(二) (公示期限为5个工作日)",
            )
        return "pass_expert_review", data
    if closes is None:
        raise InvalidInput("a national public notice needs --closes (its last day)", rule="notice-dates",
                           source="251 §2(二)4")  # fmt: skip
    data = {"notice_opens_on": opens.isoformat(), "notice_closes_on": closes.isoformat()}
    if notice_id:
        data["notice_id"] = notice_id
    return "pass_verification", data


