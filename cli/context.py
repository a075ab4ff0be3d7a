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
