"""Who may fire an event: role and unit. Self-hosted Prefect has no roles, so this is the authority."""

from __future__ import annotations

from models.enums import MINISTRY_UNIT, SYSTEM_UNIT, Role
from models.errors import NotAuthorised
from models.tables import Actor, Application, Enterprise
from states.lifecycle import Step, Who


def allowed(who: Who, actor: Actor, application: Application, enterprise: Enterprise) -> bool:
    """One cell of the authorisation matrix."""
    chain = application.chain
    match who:
        case Who.APPLICANT:
            return actor.role == Role.ENTERPRISE and actor.unit == enterprise.credit_code
        case Who.HOLDER:
            level = application.review_level
            return actor.role == Role.LOCAL_OFFICER and 0 <= level < len(chain) and actor.unit == chain[level]
        case Who.RECOMMENDER:
            return actor.role == Role.LOCAL_OFFICER and bool(chain) and actor.unit == chain[-1]
        case Who.MINISTRY:
            return actor.role == Role.MINISTRY_OFFICER and actor.unit == MINISTRY_UNIT
        case Who.SYSTEM:
            return actor.role == Role.SYSTEM and actor.unit == SYSTEM_UNIT
    return False


def authorise(step: Step, actor: Actor, application: Application, enterprise: Enterprise) -> None:
    """Raise `NotAuthorised` unless one of the step's `who` cells admits the actor."""
    if any(allowed(who, actor, application, enterprise) for who in step.who):
        return
    wanted = " or ".join(w.value for w in step.who)
    raise NotAuthorised(
        f"{actor.role}@{actor.unit} may not '{step.event}' application {application.id}: "
        f"only the {wanted} may",
        rule="authorisation",
        source="role and unit of the actor (district officers act on their district)",
    )
