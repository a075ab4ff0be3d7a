"""What an event records beyond the row: the frozen submission and the diff of an edit.

Submission (251 §2(二)3, 纸质版须与线上一致): the SHA-256 of the frozen content and of the rulebook (the
season data the guards applied), so the chain alone proves what was submitted under which rules.
An edit records a JSON diff of what changed, so an auditor reads the change, not just a new hash.
"""

from __future__ import annotations

from typing import Any

_MISSING = object()


def rulebook_sha256(season: str) -> str:
    """SHA-256 of the registered rulebook the guards applied: a shipped season file or one an administrator
    loaded with `season load` (kept in the database, not on disk; issue #11 §6)."""
    from programmes.season import get_season

    return get_season(season).sha256


def submission_facts(content_sha256: str | None, season: str) -> dict[str, Any]:
    return {"content_sha256": content_sha256, "rulebook_sha256": rulebook_sha256(season), "season": season}


def json_diff(before: Any, after: Any, path: str = "") -> list[dict[str, Any]]:
    """The changes from `before` to `after` as [{"op": add|remove|replace, "path": "/a/0", ...}]
    (JSON-Patch-like paths; dicts are compared key by key, anything else as a whole)."""
    if isinstance(before, dict) and isinstance(after, dict):
        changes: list[dict[str, Any]] = []
        for key in sorted(set(before) | set(after), key=str):
            old, new = before.get(key, _MISSING), after.get(key, _MISSING)
            where = f"{path}/{key}"
            if old is _MISSING:
                changes.append({"op": "add", "path": where, "value": new})
            elif new is _MISSING:
                changes.append({"op": "remove", "path": where, "old": old})
            else:
                changes.extend(json_diff(old, new, where))
        return changes
    return [] if before == after else [{"op": "replace", "path": path or "/", "old": before, "value": after}]
