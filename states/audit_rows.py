"""What an audited row looks like in its chain: the snapshot each event records of the row it changed.

Every event of an application (and the registration of an enterprise, and each change of an account)
carries `data["row"]`: the audited columns of the row right after the change. Replaying a chain
(states.audit_replay) ends at the last snapshot; `audit verify` compares it with the live row, so a
row edited without an event differs from its chain and is reported, naming the column.

Large JSON columns (content, pledge, warnings) are recorded by their SHA-256, like the frozen
`content_sha256` (251 §2(二)3), to keep events small.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from typing import Any

from models.clock import to_utc

# Not audited: the primary key is the subject; `version` is the optimistic lock's counter; the chain head
# and length are checked against the chain itself (states.audit); `remind_at` is the reminder sweep's
# due-item index, derived from the state and the season, not a fact of the record; an account's password
# hash and its sign-in throttle change on every sign-in (failures are audited on their own chain).
_SKIPPED = frozenset({"version", "audit_head", "audit_count", "remind_at", "password_hash", "failed_logins",
                      "locked_until"})  # fmt: skip
_DIGESTED = frozenset({"content", "pledge", "warnings"})


# What `json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)` builds on
# every call, built once: hashing a batch's events calls it tens of thousands of times.
_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, UTF-8 kept (what the content hash and chain hash use)."""
    return _CANONICAL(value)


def content_digest(content: Any) -> str:
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()


# Values a JSON round trip gives back equal (exact types: a StrEnum or an IntEnum still goes through it).
_AS_IS = frozenset({str, int, float, bool, type(None)})


class _NotPlain(Exception):
    pass


def _plain_copy(value: Any) -> Any:
    """What a JSON round trip of plain JSON (lists, dicts keyed by str, `_AS_IS` leaves) gives back, without
    the round trip: a copy, keys sorted; anything else raises `_NotPlain`."""
    kind = type(value)
    if kind in _AS_IS:
        return value
    # Leaves tested inline: a call per leaf was most of a registration's snapshot (its recognitions).
    if kind is list:
        return [item if type(item) in _AS_IS else _plain_copy(item) for item in value]
    if kind is dict and all(type(key) is str for key in value):
        return {key: item if type(item := value[key]) in _AS_IS else _plain_copy(item) for key in sorted(value)}
    raise _NotPlain


def _plain(value: Any) -> Any:
    if type(value) in _AS_IS:  # most columns: a snapshot of a batch's rows takes half a million of them
        return value
    if isinstance(value, datetime):
        return to_utc(value).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    # A StrEnum or IntEnum (an application's state and track): the text or number a JSON round trip gives
    # back, without the exception and the round trip a bulk batch paid twice per draft.
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):  # bool is exact (above): it has no subclasses
        return int.__int__(value)
    try:
        return _plain_copy(value)
    except _NotPlain:
        # A JSON round trip: what the event's JSON column gives back (tuples become lists, keys strings).
        return json.loads(canonical_json(value))


@cache
def audited_columns(table: Any) -> tuple[str, ...]:
    return tuple(c.name for c in table.__table__.columns if c.name not in _SKIPPED)


def snapshot(record: Any) -> dict[str, Any]:
    """The audited columns of a row, as its chain records them (digests for the large JSON ones), and its
    table: one chain may record several rows (a unit's rounds and extensions)."""
    table: Any = type(record)  # a table class: hashable, which mypy doubts of type[Any]
    return snapshot_of(table, {name: getattr(record, name) for name in audited_columns(table)})


def snapshot_of(table: Any, values: Mapping[str, Any]) -> dict[str, Any]:
    """`snapshot` of the row of `table` whose columns are `values` (every audited column): `states.bulk`
    takes it from the row it inserts, with no ORM object built per row."""
    row: dict[str, Any] = {"_table": table.__tablename__}
    for name in audited_columns(table):
        value = values[name]
        if name in _DIGESTED:
            row[name] = "sha256:" + content_digest(value)
        else:  # most columns are plain already: no call for them (a bulk batch snapshots ~100,000 columns)
            row[name] = value if type(value) in _AS_IS else _plain(value)
    return row


def row_key(row: dict[str, Any]) -> tuple[str, Any]:
    return str(row.get("_table")), row.get("id")


def differences(recorded: dict[str, Any], live: dict[str, Any]) -> list[str]:
    """The columns whose live value is not the one the chain recorded, in column order."""
    return [name for name in live if name in recorded and recorded[name] != live[name]]
