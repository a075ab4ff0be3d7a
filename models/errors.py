"""One error hierarchy for every refusal. Each names the rule it enforces and where the rule comes from.

A refused operation changes nothing: the one door raises before it commits, and rolls back otherwise.
The CLI prints `str(error)` as one line and exits with the error's `exit_code` (README, "Exit codes"):
0 done; 1 refused by a rule of the programme; 2 bad usage or bad input; 3 audit verification failed;
4 an outside service (database, SMTP, Prefect) unreachable. This module is the ground floor: it imports
nothing of the project.
"""

from __future__ import annotations

from typing import Any


class ReviewError(Exception):
    """Base of every refusal. `rule` is a stable identifier; `source` cites the seed clause."""

    default_rule = "review"
    exit_code = 1  # refused by a rule of the programme

    def __init__(self, message: str, *, rule: str | None = None, source: str = "", **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.rule = rule or self.default_rule
        self.source = source
        self.details = details

    def __str__(self) -> str:
        cited = f" [{self.rule}" + (f"; {self.source}" if self.source else "") + "]"
        return f"{self.message}{cited}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "error": type(self).__name__,
            "rule": self.rule,
            "source": self.source,
            "message": self.message,
            **{k: v for k, v in self.details.items() if isinstance(v, str | int | float | bool | None)},
        }


class InvalidInput(ReviewError, ValueError):
    """Malformed input: a bad credit code, a missing field, a date without a time zone."""

    default_rule = "input"
    exit_code = 2


class NotFound(ReviewError, LookupError):
    default_rule = "not-found"
    exit_code = 2


class NotAuthorised(ReviewError, PermissionError):
    """The actor's role or unit does not allow this event on this application."""

    default_rule = "authorisation"


class NotAuthenticated(ReviewError, PermissionError):
    """No valid sign-in: unknown account, wrong password, expired or revoked token, no session at all."""

    default_rule = "authentication"


class AccountLocked(NotAuthenticated):
    """Too many wrong passwords in a row: the account is locked for a while (OWASP ASVS V2.2.1)."""

    default_rule = "lock-out"


class ReplayOnly(InvalidInput):
    """`--now`, `FACTORY_REVIEW_NOW` or `--as` on a production database: only a replay may fix the clock."""

    default_rule = "replay-only"


class TransitionRefused(ReviewError):
    """The event is not allowed from the application's current state (or a guard said no)."""

    default_rule = "lifecycle"


class ConcurrentUpdate(TransitionRefused):
    """Another actor changed the application first; re-read and decide again."""

    default_rule = "concurrent-update"


class DeadlinePassed(ReviewError):
    default_rule = "deadline"


class QuotaExceeded(ReviewError):
    default_rule = "quota"


class QuotaUnknown(ReviewError):
    """The season data has no rank or count to compute this unit's quota: we refuse, never guess."""

    default_rule = "quota-unknown"


class MaterialsIncomplete(ReviewError):
    default_rule = "materials"


class NotEligible(ReviewError):
    default_rule = "eligibility"


class SeasonDataError(ReviewError):
    """A season file is malformed; the message names the file, the line and the field."""

    default_rule = "season-data"
    exit_code = 2


class CalendarNotCovered(ReviewError):
    """A working-day period reaches past the years the official calendar covers."""

    default_rule = "calendar"


class AuditBroken(ReviewError):
    """Audit verification found an edited, reordered, inserted or missing record."""

    default_rule = "audit"
    exit_code = 3


class ServiceUnavailable(ReviewError, ConnectionError):
    """An outside service (database, SMTP server, Prefect API) could not be reached."""

    default_rule = "service-unavailable"
    exit_code = 4


class DatabaseUnavailable(ServiceUnavailable):
    """The database connection dropped (server restart, `pg_terminate_backend`, network, a closed SQLite
    handle). The transaction in flight was rolled back by the server; nothing of it was applied, unless the
    drop hit the COMMIT itself, when the caller re-reads before deciding again (`retry_on_disconnect`)."""

    default_rule = "database-unavailable"
