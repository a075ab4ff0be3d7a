"""The composition root: the one place that assembles the system. The CLI, the flows, the web app, the
benchmarks and the tests call `assemble()` before the first transition; nothing registers itself on import.

It plugs the programme's season-data guards into the guard registry, tells the lifecycle how a season
picks the table of a provincial or district application, registers the shipped seasons' tracks, and
refuses to start when a table names a guard, condition or effect nobody registered.
"""

from __future__ import annotations

from programmes import reviews, rules, tracks
from programmes.season import available_seasons, get_season
from states.guards import register_guards
from states.lifecycle import use_selector
from states.machine import missing_names

_ASSEMBLED: list[bool] = []


def assemble() -> None:
    """Assemble once per process (idempotent)."""
    if _ASSEMBLED:
        return
    register_guards(rules.GUARDS)
    register_guards(reviews.GUARDS, reviews.EVIDENCE)
    use_selector(tracks.select_table)
    for name in available_seasons():
        tracks.register_season(get_season(name))
    if missing := missing_names():
        raise RuntimeError(f"lifecycle tables name what nobody registered: {', '.join(missing)}")
    _ASSEMBLED.append(True)
