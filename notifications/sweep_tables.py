"""A reminder sweep's temporary tables: per connection, emptied at each sweep, gone with the connection.

- `DUE_KEY`: the keys due now (unit, tier or cultivation end, track; deadline, offset, the message's fixed facts);
- `MESSAGE`: one staged message per outbox key, its applications aggregated as JSON;
- `UNIT_NAME`: the season's unit names, for the recipient unit's name in a message;
- `NEXT_INSTANT`: each signature's next reminder instant (notifications.due.advance).
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Date, Index, Integer, MetaData, String, Table, delete
from sqlalchemy.engine import Connection

from models.types import UTCDateTime

TEMP = MetaData()
DUE_KEY = Table(
    "sweep_due_key", TEMP,
    Column("id", Integer, primary_key=True), Column("kind", String(60)), Column("unit", String(80)),
    Column("tier", String(20), nullable=True), Column("track", String(20)), Column("dated", Date),
    Column("deadline_text", String(10)), Column("offset_days", Integer), Column("send_at", UTCDateTime()),
    Column("context", JSON), prefixes=["TEMPORARY"],
)  # fmt: skip
Index("ix_sweep_due_key", DUE_KEY.c.kind, DUE_KEY.c.unit, DUE_KEY.c.tier, DUE_KEY.c.track, DUE_KEY.c.dated)
MESSAGE = Table(
    "sweep_message", TEMP,
    Column("dedupe_key", String(300)), Column("kind", String(60)), Column("recipient", String(254)),
    Column("recipient_name", String(200)), Column("recipient_unit", String(80)), Column("key_id", Integer),
    Column("item_count", Integer), Column("first_id", Integer), Column("item_list", JSON), prefixes=["TEMPORARY"],
)  # fmt: skip
UNIT_NAME = Table(
    "sweep_unit_name", TEMP, Column("code", String(80), primary_key=True), Column("zh", String(200)),
    Column("en", String(200)), prefixes=["TEMPORARY"],
)  # fmt: skip
NEXT_INSTANT = Table(
    "sweep_next_instant", TEMP,
    Column("state", String(30)), Column("review_level", Integer), Column("tier", String(20)),
    Column("track", String(20)), Column("jurisdiction", String(80)), Column("cultivation_ends_on", Date),
    Column("holder", String(80)), Column("top", String(80)), Column("below_top", Boolean),
    Column("next_at", UTCDateTime()), prefixes=["TEMPORARY"],
)  # fmt: skip
# The columns an UPDATE matches with = (never NULL), so each application's signature is one index lookup.
Index("ix_sweep_next_instant", *(NEXT_INSTANT.c[n] for n in ("state", "review_level", "tier", "track", "jurisdiction")))


def emptied(connection: Connection, *tables: Table) -> None:
    """Create these temporary tables on this connection if needed, and empty them."""
    for table in tables:
        table.create(connection, checkfirst=True)
        connection.execute(delete(table))
