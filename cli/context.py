"""What every command shares: the clock (--now / FACTORY_REVIEW_NOW), output mode, database access."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich.console import Console

from models.clock import Clock, clock_from_env

console = Console()
err_console = Console(stderr=True)


@dataclass
class CliState:
    now_text: str | None = None
    json: bool = False

    @property
    def clock(self) -> Clock:
        try:
            return clock_from_env(self.now_text)
        except ValueError as exc:
            from models.errors import InvalidInput

            raise InvalidInput(f"--now: {exc}", rule="clock") from None

    def now(self) -> datetime:
        return self.clock.now()


STATE = CliState()


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
