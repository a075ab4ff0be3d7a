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
    """Base of every refusal. `rule` is a stable identifier; `source` cites the seed clause.

    A subclass names its default rule (and its exit code, when not 1) in its class statement:
    `class QuotaExceeded(ReviewError, rule="quota")`."""

    default_rule = "review"
    exit_code = 1  # refused by a rule of the programme

    def __init_subclass__(cls, *, rule: str | None = None, exit_code: int | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if rule is not None:
            cls.default_rule = rule
        if exit_code is not None:
            cls.exit_code = exit_code

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


class InvalidInput(ReviewError, ValueError, rule="input", exit_code=2):
    """Malformed input: a bad credit code, a missing field, a date without a time zone."""


class NotFound(ReviewError, LookupError, rule="not-found", exit_code=2):
    """No such application, enterprise, panel, … (or none the reader may see)."""


class NotAuthorised(ReviewError, PermissionError, rule="authorisation"):
    """The actor's role or unit does not allow this event on this application."""


class NotAuthenticated(ReviewError, PermissionError, rule="authentication"):
    """No valid sign-in: unknown account, wrong password, expired or revoked token, no session at all."""


class AccountLocked(NotAuthenticated, rule="lock-out"):
    """Too many wrong passwords in a row: the account is locked for a while (OWASP ASVS V2.2.1)."""


class ReplayOnly(InvalidInput, rule="replay-only"):
    """`--now`, `FACTORY_REVIEW_NOW` or `--as` on a production database: only a replay may fix the clock."""


class TransitionRefused(ReviewError, rule="lifecycle"):
    """The event is not allowed from the application's current state (or a guard said no)."""


class ConcurrentUpdate(TransitionRefused, rule="concurrent-update"):
    """Another actor changed the application first; re-read and decide again."""


class DeadlinePassed(ReviewError, rule="deadline"):
    """The season's deadline for this step (and any extension of it) has passed."""


class QuotaExceeded(ReviewError, rule="quota"):
    """A unit recommends more applications than its quota allows."""


class QuotaUnknown(ReviewError, rule="quota-unknown"):
    """The season data has no rank or count to compute this unit's quota: we refuse, never guess."""


class MaterialsIncomplete(ReviewError, rule="materials"):
    """A required material, the pledge or a valid application file is missing."""


class NotEligible(ReviewError, rule="eligibility"):
    """The enterprise does not meet a condition of the call (jurisdiction, legal person, tier held, …)."""


class SeasonDataError(ReviewError, rule="season-data", exit_code=2):
    """A season file is malformed; the message names the file, the line and the field."""


class CalendarNotCovered(ReviewError, rule="calendar"):
    """A working-day period reaches past the years the official calendar covers."""


class AuditBroken(ReviewError, rule="audit", exit_code=3):
    """Audit verification found an edited, reordered, inserted or missing record."""


class SchemaUnknown(ReviewError, rule="schema-revision", exit_code=2):
    """The database is stamped with a schema revision this build does not have: a pre-release one (squashed
    into the 0012 baseline before the first release) or one from a newer build."""


class ServiceUnavailable(ReviewError, ConnectionError, rule="service-unavailable", exit_code=4):
    """An outside service (database, SMTP server, Prefect API) could not be reached."""


class DatabaseUnavailable(ServiceUnavailable, rule="database-unavailable"):
    """The database connection dropped (server restart, `pg_terminate_backend`, network, a closed SQLite
    handle). The transaction in flight was rolled back by the server; nothing of it was applied, unless the
    drop hit the COMMIT itself, when the caller re-reads before deciding again (`retry_on_disconnect`)."""
