"""What every command shares: the clock (--now / FACTORY_REVIEW_NOW), output mode, database access."""

from __future__ import annotations

import json
import sys
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.console import Console

if TYPE_CHECKING:
    from sqlmodel import Session

console = Console()
err_console = Console(stderr=True)


@dataclass
class CliState:
    now_text: str | None = None
    json: bool = False
    _at: tuple[str | None, datetime] | None = None

    def now(self) -> datetime:
        """The instant this command acts at, fixed for the command. Production databases take the server
        clock and refuse `--now`/FACTORY_REVIEW_NOW (exit 2); replay databases take them (states.system).
        It reads the database mode in a read-only session of its own (no write lock on SQLite)."""
        if self._at is None or self._at[0] != self.now_text:
            from models.database import read_session
            from states.system import clock_for, parse_requested

            parse_requested(self.now_text)  # a malformed instant is refused before the database is opened
            with read_session() as session:  # safe inside a command's own open session
                self._at = (self.now_text, clock_for(session, requested=self.now_text).now())
        return self._at[1]


STATE = CliState()


def db_session() -> AbstractContextManager[Session]:
    """A unit of work on the configured database; imported late, so `--help` never loads the ORM."""
    from models.database import session_scope

    return session_scope()


def emit_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n")


GLOBAL_FLAGS = ("--json",)
GLOBAL_OPTIONS = ("--now",)  # take a value


def hoist_global_options(argv: list[str]) -> list[str]:
    """Move `--now VALUE` and `--json` to the front, so every command accepts them in the same place:
    before or after the command's name (`factory-review history 3 --json --now 2025-07-10`)."""
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(argv):
        token = argv[i]
        if token == "--":
            rest += argv[i:]
            break
        if token in GLOBAL_FLAGS or (token.split("=", 1)[0] in GLOBAL_OPTIONS and "=" in token):
            front.append(token)
        elif token in GLOBAL_OPTIONS and i + 1 < len(argv):
            front += [token, argv[i + 1]]
            i += 1
        else:
            rest.append(token)
        i += 1
    return front + rest
