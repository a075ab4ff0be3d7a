"""Who acts, for every door (CLI, flows): a session token's account in production; on a replay database
the stated `role@unit` keeps working (issue #11 §4). Instants of identity are real (server clock)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session

from models.errors import NotAuthenticated, NotAuthorised
from models.tables import Actor

TOKEN_ENV = "FACTORY_REVIEW_TOKEN"


def token_actor(session: Session, token: str | None) -> Actor:
    """The actor of a session token; NotAuthenticated without one."""
    from states.accounts import account_for_token, actor_for

    if not token:
        raise NotAuthenticated(
            f"not signed in: `factory-review login EMAIL` (or set {TOKEN_ENV})", rule="authentication"
        )
    return actor_for(account_for_token(session, token, at=datetime.now(UTC)))


def flow_actor(session: Session, spec: str, token: str | None) -> Actor:
    """The actor of a flow run. Replay: `spec` (role@unit) as before. Production: the deployment's service
    account (FACTORY_REVIEW_TOKEN); a `spec` naming anyone else is refused, so a parameter can't borrow
    another unit's authority."""
    from states.intake import resolve_actor
    from states.system import is_replay

    if is_replay(session):
        return resolve_actor(session, spec)
    actor = token_actor(session, token)
    if spec and spec != f"{actor.role}@{actor.unit}":
        raise NotAuthorised(
            f"this run is signed in as {actor.role}@{actor.unit}; it cannot act as {spec}",
            rule="authentication",
            source=f"{TOKEN_ENV} (one service account per deployment)",
        )
    return actor
