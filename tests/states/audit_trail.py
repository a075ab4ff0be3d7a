"""A small but complete audit trail for the audit tests: applications in many states, an edit, an
objection, cultivation dates, a unit's deadline extensions and ranked round, all through the real service
functions. (The ranked round moves the submitted application on to the next level.)"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session

from models.enums import Role
from models.tables import Application, Enterprise
from programmes.recommendation import grant_extension, held_applications, submit_ranked_recommendation
from states.accounts import create_first_admin, grant_account
from states.intake import update_content
from states.lifecycle import State
from tests import factories as f

STATES = (State.DRAFT, State.SUBMITTED, State.LOCAL_REVIEW, State.RETURNED, State.PUBLIC_NOTICE,
          State.RECOGNISED, State.IN_CULTIVATION)  # fmt: skip


def build_trail(session: Session) -> dict[str, Any]:
    """Build the trail; returns the ids the tests pick from."""
    ids = [f.application(session, state).id for state in STATES]
    draft = session.get(Application, ids[0])
    assert draft is not None
    enterprise = session.get(Enterprise, draft.enterprise_id)
    assert enterprise is not None
    update_content(session, draft.id, content={**draft.content, "title": "修改后的项目名称"}, pledge=None,  # type: ignore[arg-type]
                   actor=f.applicant(session, enterprise), at=f.at("2025-06-25"))  # fmt: skip
    f.fire(session, ids[STATES.index(State.PUBLIC_NOTICE)], "raise_objection")
    grant_extension(session, unit="sh.qingpu", step="submit", until=date(2025, 9, 15), actor=f.admin(session, "sh"),
                    reason="系统故障顺延", at=f.at("2025-07-10"))  # fmt: skip
    grant_extension(session, unit="sh.qingpu", step="recommend", until=date(2025, 9, 20),
                    actor=f.admin(session, "sh"), reason="同上", at=f.at("2025-07-10"))  # fmt: skip
    held = [a.id for a in held_applications(session, unit="sh.qingpu", tier="excellent", season="2025")]
    submit_ranked_recommendation(session, unit="sh.qingpu", tier="excellent", ranked_application_ids=held,  # type: ignore[arg-type]
                                 actor=f.officer(session, "sh.qingpu"), at=f.at("2025-07-06"))  # fmt: skip
    admin = create_first_admin(session, email="admin@miit.example.cn", password="campaign-pass-1",
                               at=f.at("2025-06-20"))  # fmt: skip
    grant_account(session, by=admin, email="officer@sh.example.cn", password="campaign-pass-2",
                  role=Role.LOCAL_OFFICER, unit="sh", at=f.at("2025-06-21"))  # fmt: skip
    return {"applications": ids}
