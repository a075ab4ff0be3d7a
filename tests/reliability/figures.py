"""Figures the reliability tests record for the closing note; printed in pytest's terminal summary
(tests/conftest.py) and saved to out/reliability-report.txt."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Figures:
    sections: dict[str, list[str]] = field(default_factory=dict)
    examples: Counter[str] = field(default_factory=Counter)

    def record(self, title: str, line: str) -> None:
        """Add one line under a section title (e.g. "concurrency [postgresql]")."""
        self.sections.setdefault(title, []).append(line)
        print(f"[{title}] {line}")

    def example(self, prop: str) -> None:
        """Count one hypothesis example of a property."""
        self.examples[prop] += 1

    def as_data(self) -> dict[str, Any]:
        """What a pytest-xdist worker sends to the controller (plain, serialisable)."""
        return {"sections": self.sections, "examples": dict(self.examples)}

    def merge(self, data: dict[str, Any]) -> None:
        """Add a worker's figures (`as_data`) to these."""
        for title, lines in data["sections"].items():
            self.sections.setdefault(title, []).extend(lines)
        self.examples.update(data["examples"])

    def lines(self) -> list[str]:
        out: list[str] = []
        for title, lines in sorted(self.sections.items()):  # xdist workers finish in any order
            out.append(f"{title}:")
            out.extend(f"  {line}" for line in lines)
        if self.examples:
            out.append("hypothesis examples run per property:")
            width = max(len(p) for p in self.examples)
            out.extend(f"  {p:<{width}}  {n}" for p, n in sorted(self.examples.items()))
            out.append(f"  {'total':<{width}}  {sum(self.examples.values())}")
        return out


FIGURES = Figures()
