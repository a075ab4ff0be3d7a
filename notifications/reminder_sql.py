"""A sweep's reminders as set-based SQL: Python computes the few hundred due keys, the database does the rest.

1. `stage(...)`: the due keys (unit, tier, track or cultivation end; deadline, offset, the message's fixed
   facts) go into a temporary table; then one INSERT … SELECT per (kind, audience) joins the waiting
   applications to their keys and recipients and groups them into one staged row per outbox key, the
   applications aggregated as JSON (`sweep_message`). Nothing is read into Python row by row.
2. `queue_staged(...)`: one INSERT … SELECT … ON CONFLICT (dedupe_key) DO NOTHING moves the staged rows
   into the outbox as `queued` (a key another sweep queued wins); the sender renders them at send time.
3. `planned(...)`: what a plan reads instead (no outbox writes).

The dedupe key is the kind's declared pattern (kinds.yaml) built in SQL, emails compared lower-case as in
`Kind.key_for`. A sweep's messages are the same as one built row by row: same keys, recipients and context.
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from functools import reduce
from typing import Any

from sqlalchemy import JSON, String, and_, case, cast, distinct, func, insert, literal, select, true
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col

from models.clock import local_date
from models.enums import MINISTRY_UNIT, TIER_LABELS
from models.tables import Actor, Application, Enterprise, OutboxMessage
from models.types import UTCDateTime
from notifications import facts, recipients
from notifications.kinds import Kind, Policy
from notifications.sweep_tables import DUE_KEY, MESSAGE, UNIT_NAME, emptied


def reset(session: Session, season: Any) -> None:
    """Create the temporary tables on this connection if needed, empty them, and load the unit names."""
    connection = session.connection()
    emptied(connection, DUE_KEY, MESSAGE, UNIT_NAME)
    codes = [MINISTRY_UNIT, *(u.code for u in season.units)]
    names = [facts.unit_names(season, code) for code in codes]
    rows = [{"code": c, "zh": zh, "en": en} for c, (zh, en) in zip(codes, names, strict=True)]
    connection.execute(insert(UNIT_NAME), rows)


# ---- the due keys --------------------------------------------------------------------------------------


def key_row(rule: Kind, policy: Policy, season: Any, *, unit: str, tier: str | None, track: str, dated: date,
            offset: int, source: str, now: datetime, memo: dict[tuple[Any, ...], Any]) -> dict[str, Any]:  # fmt: skip
    """One due key: which applications (unit, tier or cultivation date, track) and the message's fixed facts."""
    today, reminder_day = local_date(now), dated - timedelta(days=offset)
    if (unit, track, source) not in memo:
        memo[(unit, track, source)] = facts.common(season, unit, track, source)
    overdue = facts.unit_names(season, unit) if rule.kind == "escalation" else ("", "")
    context = {
        "deadline": dated.isoformat(),
        "days_left": max(0, (dated - max(today, reminder_day)).days),
        "days_overdue": max(1, (max(today, reminder_day) - dated).days),
        "source": source,
        "overdue_unit_zh": overdue[0],
        "overdue_unit_en": overdue[1],
        **memo[(unit, track, source)],
        "template": rule.template_name,  # rendered at send time, maybe by another process
    }
    return {"kind": rule.kind, "unit": unit, "tier": tier, "track": track, "dated": dated,
            "deadline_text": dated.isoformat(), "offset_days": offset,
            "send_at": policy.send_instant(reminder_day), "context": context}  # fmt: skip


def add_keys(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.connection().execute(insert(DUE_KEY), rows)


# ---- grouping ------------------------------------------------------------------------------------------


def _key_expression(rule: Kind, fields: dict[str, ColumnElement[Any]]) -> ColumnElement[Any]:
    """The kind's declared key pattern as SQL string concatenation."""
    parts: list[ColumnElement[Any]] = []
    for text, name, _spec, _conversion in string.Formatter().parse(rule.key):
        if text:
            parts.append(literal(text, String))
        if name is not None:
            if name not in fields:
                raise ValueError(f"kinds.yaml: the key of {rule.kind} names {{{name}}}, which a sweep can't fill")
            parts.append(func.coalesce(cast(fields[name], String), ""))
    return reduce(lambda a, b: a.concat(b), parts)


def _waiting(dialect: str, rule: Kind, audience: str, *, season: str, due: ColumnElement[bool] | None) -> Any:
    """One row per (outbox key, application): the applications `rule` concerns under a due key, with the
    recipient `audience` names (DISTINCT: two officer accounts sharing an address list it once)."""
    unit = recipients.unit_column(dialect, rule.unit)
    email, name, recipient_unit, on = recipients.audience_columns(dialect, audience, unit)
    key = _key_expression(rule, {"kind": literal(rule.kind), "deadline": DUE_KEY.c.deadline_text,
                                 "offset": DUE_KEY.c.offset_days, "recipient_unit": recipient_unit, "unit": unit,
                                 "email": func.lower(func.trim(email))})  # fmt: skip
    dated = (
        DUE_KEY.c.dated == col(Application.cultivation_ends_on)
        if rule.when == "cultivation"
        else DUE_KEY.c.tier == col(Application.tier)
    )
    on_key = and_(DUE_KEY.c.kind == rule.kind, DUE_KEY.c.unit == unit, DUE_KEY.c.track == col(Application.track), dated)
    query = (
        select(key.label("dedupe_key"), email.label("email"), name.label("name"),
               recipient_unit.label("recipient_unit"), DUE_KEY.c.id.label("key_id"),
               col(Application.id).label("application_id"), col(Application.title).label("title"),
               col(Application.tier).label("tier"), col(Enterprise.name).label("enterprise_name"))
        .select_from(Application)
        .join(Enterprise, col(Enterprise.id) == col(Application.enterprise_id))
        .join(DUE_KEY, on_key)
        .where(col(Application.season) == season, col(Application.state).in_(rule.states),
               func.coalesce(email, "") != "")
    )  # fmt: skip
    if on is not None:
        query = query.join(Actor, on).distinct()
    if rule.below_top:
        query = query.where(recipients.below_top())
    if due is not None:
        query = query.where(due)
    return query.subquery("waiting")


def _items(dialect: str, rows: Any) -> ColumnElement[Any]:
    """The group's applications as a JSON array (in application order where the database can say so; the
    templates sort them anyway)."""
    fields = ("application_id", rows.c.application_id, "title", rows.c.title, "tier", rows.c.tier,
              "tier_label", case(TIER_LABELS, value=rows.c.tier, else_=rows.c.tier),
              "enterprise_name", rows.c.enterprise_name)  # fmt: skip
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import aggregate_order_by

        return func.json_agg(aggregate_order_by(func.json_build_object(*fields), rows.c.application_id))
    return func.json_group_array(func.json_object(*fields))


def stage(session: Session, rule: Kind, audience: str, *, season: str, due: ColumnElement[bool] | None) -> None:
    """Group `rule`'s waiting applications for `audience` into one staged row per outbox key."""
    dialect = session.get_bind().dialect.name
    rows = _waiting(dialect, rule, audience, season=season, due=due)
    grouped = select(
        rows.c.dedupe_key, literal(rule.kind), func.min(rows.c.email), func.min(rows.c.name),
        func.min(rows.c.recipient_unit), func.min(rows.c.key_id), func.count(), func.min(rows.c.application_id),
        _items(dialect, rows),
    ).group_by(rows.c.dedupe_key)  # fmt: skip
    columns = ["dedupe_key", "kind", "recipient", "recipient_name", "recipient_unit", "key_id", "item_count",
               "first_id", "item_list"]  # fmt: skip
    session.connection().execute(insert(MESSAGE).from_select(columns, grouped))


# ---- into the outbox -----------------------------------------------------------------------------------


def _context(dialect: str, name: Any) -> ColumnElement[Any]:
    """The key's fixed facts merged with the group's own: its applications, their count, the recipient unit's names."""
    own: tuple[Any, ...] = ("items", MESSAGE.c.item_list, "count", MESSAGE.c.item_count,
           "unit_zh", func.coalesce(name.c.zh, MESSAGE.c.recipient_unit),
           "unit_en", func.coalesce(name.c.en, MESSAGE.c.recipient_unit))  # fmt: skip
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import JSONB

        merged = cast(DUE_KEY.c.context, JSONB).op("||")(func.jsonb_build_object(*own))
        return cast(merged, JSON)
    own = ("items", func.json(MESSAGE.c.item_list), *own[2:])  # keep the array an array, not a string
    return func.json_patch(DUE_KEY.c.context, func.json_object(*own))


def _staged(dialect: str) -> Any:
    """The staged messages with their keys' facts, in the order the sender should meet them."""
    name = UNIT_NAME.alias("recipient_names")
    return (
        select(MESSAGE.c.dedupe_key, MESSAGE.c.kind, MESSAGE.c.recipient, MESSAGE.c.recipient_name,
               MESSAGE.c.recipient_unit, MESSAGE.c.item_count, MESSAGE.c.first_id, MESSAGE.c.item_list, DUE_KEY.c.unit,
               DUE_KEY.c.dated, DUE_KEY.c.offset_days, DUE_KEY.c.send_at, _context(dialect, name).label("context"))
        .join(DUE_KEY, DUE_KEY.c.id == MESSAGE.c.key_id)
        .outerjoin(name, name.c.code == MESSAGE.c.recipient_unit)
    )  # fmt: skip


def _in_order(staged: Any) -> tuple[Any, ...]:
    """Earliest date first, then the longest notice, kind, recipient unit, unit and address."""
    c = staged.c
    return c.dated, c.offset_days.desc(), c.kind, c.recipient_unit, c.unit, c.recipient


def queue_staged(session: Session, *, at: datetime) -> tuple[int, list[str]]:
    """Queue every staged message whose key isn't in the outbox yet; returns (staged keys, kinds queued).

    The rows wait as `queued` with their context; `outbox.render_queued` renders them, checks the address
    and fixes the Message-ID when the sender picks them up.
    """
    dialect = session.get_bind().dialect.name
    staged = _staged(dialect).subquery("staged")
    single = case((staged.c.item_count == 1, staged.c.first_id), else_=None)
    values = select(
        staged.c.dedupe_key, staged.c.kind, literal("zh-CN"), staged.c.recipient, staged.c.recipient_name,
        literal(""), literal(""), literal(""), staged.c.context, literal(""), literal("queued"), literal(0),
        literal(""), single, staged.c.dated, staged.c.offset_days, literal(at, UTCDateTime()), staged.c.send_at,
    ).where(true()).order_by(*_in_order(staged))  # fmt: skip  (SQLite: an upsert's SELECT needs a WHERE)
    columns = ["dedupe_key", "kind", "locale", "recipient", "recipient_name", "subject", "body_text", "body_html",
               "context", "message_id", "status", "attempts", "last_error", "application_id", "deadline_on",
               "offset_days", "created_at", "next_attempt_at"]  # fmt: skip
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert  # type: ignore[assignment]
    statement = (
        dialect_insert(table).from_select(columns, values)
        .on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(table.c.kind)
    )  # fmt: skip
    kinds = list(session.connection().execute(statement).scalars())
    total = session.connection().execute(select(func.count(distinct(MESSAGE.c.dedupe_key)))).scalar_one()
    return int(total), kinds


def planned(session: Session) -> Iterator[Any]:
    """The staged messages as a plan reads them, each with whether its key is already in the outbox."""
    staged = _staged(session.get_bind().dialect.name).subquery("staged")
    known = select(col(OutboxMessage.dedupe_key)).where(col(OutboxMessage.dedupe_key) == staged.c.dedupe_key)
    query = select(staged, known.exists().label("queued")).order_by(*_in_order(staged))
    yield from session.connection().execute(query)
