"""Who is acting at this terminal: the session token (FACTORY_REVIEW_TOKEN or the 0600 token file in the
user's config folder), and `--as` — accepted only on a replay database (issue #11 §4)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session

from models.errors import InvalidInput, NotAuthenticated, NotAuthorised, NotFound, ReplayOnly
from models.tables import Account, Actor, Application, Enterprise
from states.identity import TOKEN_ENV

OPERATOR_ROLES = frozenset({"admin", "system", "local_officer", "ministry_officer"})


def real_now() -> datetime:
    """Identity is established on the server clock, whatever instant a replay acts at."""
    return datetime.now(UTC)


def token_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "factory-review" / "token"


def save_token(token: str) -> Path:
    """Write the token readable by this user only (0600, in a 0700 folder)."""
    path = token_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # an existing file keeps its old mode through O_CREAT
        os.write(fd, (token + "\n").encode("ascii"))
    finally:
        os.close(fd)
    return path


def stored_token() -> str | None:
    """FACTORY_REVIEW_TOKEN (scripts, deployments), else the token file; None when signed out."""
    if token := os.environ.get(TOKEN_ENV, "").strip():
        return token
    try:
        text = token_path().read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text or None


def forget_token() -> None:
    token_path().unlink(missing_ok=True)


def current_account(session: Session) -> Account:
    """The signed-in account, or NotAuthenticated (one line saying how to sign in)."""
    from states.accounts import account_for_token

    token = stored_token()
    if token is None:
        raise NotAuthenticated(
            f"not signed in: `factory-review login EMAIL` (or set {TOKEN_ENV})", rule="authentication"
        )
    return account_for_token(session, token, at=real_now())


def acting_actor(session: Session, as_spec: str | None = None, *, replay_default: str | None = None) -> Actor:
    """The actor of a mutating command. Production: the signed-in account, and `--as` is refused.
    Replay: `--as`, else the signed-in account, else `replay_default` (e.g. the applicant of a file)."""
    from states.identity import token_actor
    from states.intake import parse_actor, resolve_actor
    from states.system import is_replay

    if as_spec is not None:
        parse_actor(as_spec)  # malformed (or empty) is refused before the database is read
    replay = is_replay(session)
    if as_spec is not None:
        if not replay:
            raise ReplayOnly(
                "--as works only on a replay database; sign in with `factory-review login EMAIL`",
                rule="replay-only",
            )
        return resolve_actor(session, as_spec)
    if replay and replay_default and stored_token() is None:
        return resolve_actor(session, replay_default)
    return token_actor(session, stored_token())


def check_reader(session: Session, application: Application, enterprise: Enterprise | None) -> None:
    """Production: the signed-in account must have the application in its scope; one outside it reads as
    unknown, to `show` and `history` as to the deciding commands (the web answers 404 alike), so its state
    is not disclosed. A replay database is open to whoever holds the file."""
    from states.scope import may_read
    from states.system import is_replay

    if is_replay(session):
        return
    if not may_read(current_account(session), application, enterprise):
        raise NotFound(f"application {application.id} does not exist", rule="not-found")


def readable_application(session: Session, application_id: int) -> tuple[Application, Enterprise]:
    """The application and its enterprise, when the signed-in account may read it (`check_reader`);
    `NotFound` otherwise, the same answer as for an id that does not exist."""
    from states.queries import application_and_enterprise

    application, enterprise = application_and_enterprise(session, application_id)
    check_reader(session, application, enterprise)
    return application, enterprise


def operator_actor(session: Session, system_default: Actor) -> Actor | None:
    """Sweeps and the outbox: on production an officer, administrator or service account must be signed
    in; on a replay the scheduler acts unless someone is signed in."""
    from states.system import is_replay

    if is_replay(session) and stored_token() is None:
        return system_default
    actor = acting_actor(session)
    if actor.role not in OPERATOR_ROLES:
        raise NotAuthorised(f"{actor.role}@{actor.unit} may not run the scheduler's work", rule="authorisation")
    return actor


def read_password(file: Path | None, *, prompt: str = "password", confirm: bool = False) -> str:
    """From a file (first line), else a hidden prompt: never from the command line."""
    import typer

    from states.passwords import read_password_text

    if file is None:
        return str(typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm))
    try:
        return read_password_text(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"--password-file: cannot read {file}: {exc.__class__.__name__}",
                           rule="input-file") from None  # fmt: skip
