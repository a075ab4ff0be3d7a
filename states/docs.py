"""Generate docs/lifecycle.md from the transition tables (a test keeps the committed copy current)."""

from __future__ import annotations

from pathlib import Path

from models.enums import TRACK_LABELS, Track
from states.lifecycle import STATE_LABELS, TABLES
from states.machine import mermaid

DOC = Path(__file__).resolve().parent.parent / "docs" / "lifecycle.md"


def lifecycle_markdown() -> str:
    parts = [
        "# Lifecycle\n",
        "Generated from `states/lifecycle.py` (and the tracks registered by `programmes/tracks.py`) by",
        "`python -m states.docs`; do not edit by hand. Guards are named in `states/guards.py` and",
        "`programmes/rules.py`; each refusal names its rule and the seed clause.\n",
    ]
    for track in Track:
        steps = TABLES.get(track)
        if not steps:
            continue
        parts.append(f"## {track.value} track ({TRACK_LABELS[track]})\n")
        parts.append("```mermaid\n" + mermaid(track).strip() + "\n```\n")
        parts.append("| event | label | from | to | who | guards | when | source |")
        parts.append("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for s in steps:
            sources = ", ".join(f"{x.value} ({STATE_LABELS[x]})" for x in s.sources)
            parts.append(
                f"| `{s.event}` | {s.label} | {sources} | {s.dest.value} ({STATE_LABELS[s.dest]}) | "
                f"{', '.join(w.value for w in s.who)} | {', '.join(s.guards) or '—'} | {', '.join(s.when) or '—'} | "
                f"{s.source} |"
            )
        parts.append("")
    return "\n".join(parts)


def write() -> Path:
    import contextlib
    import importlib

    with contextlib.suppress(ModuleNotFoundError):
        importlib.import_module("programmes.tracks")
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(lifecycle_markdown(), encoding="utf-8")
    return DOC


if __name__ == "__main__":
    print(write())
