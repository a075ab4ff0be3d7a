"""Figures the reliability tests record for the closing note; printed in pytest's terminal summary
(tests/conftest.py) and saved to out/reliability-report.txt."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


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

    def lines(self) -> list[str]:
        out: list[str] = []
        for title, lines in self.sections.items():
            out.append(f"{title}:")
            out.extend(f"  {line}" for line in lines)
        if self.examples:
            out.append("hypothesis examples run per property:")
            width = max(len(p) for p in self.examples)
            out.extend(f"  {p:<{width}}  {n}" for p, n in sorted(self.examples.items()))
            out.append(f"  {'total':<{width}}  {sum(self.examples.values())}")
        return out


FIGURES = Figures()
