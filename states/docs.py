"""The lifecycle as Markdown: per table, the Mermaid diagram and the rows (`factory-review diagram
--markdown > docs/lifecycle.md`; the demo writes the same for its season)."""

from __future__ import annotations

from states.lifecycle import STATE_LABELS, steps_for
from states.machine import mermaid


def lifecycle_markdown(keys: list[str], title: str = "Lifecycle") -> str:
    parts = [
        f"# {title}\n",
        "Generated from the transition tables (`states/lifecycle.py` for the national track, the season file's",
        "`tracks:` for a province's or a district's own call); do not edit by hand. Guards are named in",
        "`states/guards.py` and `programmes/rules.py`; each refusal names its rule and the seed clause.\n",
    ]
    for key in keys:
        parts.append(f"## {key}\n")
        parts.append("```mermaid\n" + mermaid(key).strip() + "\n```\n")
        parts.append("| event | label | from | to | who | guards | when | effects | source |")
        parts.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for s in steps_for(key):
            sources = ", ".join(f"{x.value} ({STATE_LABELS[x]})" for x in s.sources)
            parts.append(
                f"| `{s.event}` | {s.label} | {sources} | {s.dest.value} ({STATE_LABELS[s.dest]}) | "
                f"{', '.join(w.value for w in s.who)} | {', '.join(s.guards) or '—'} | {', '.join(s.when) or '—'} | "
                f"{', '.join(s.effects) or '—'} | {s.source} |"
            )
        parts.append("")
    return "\n".join(parts)
