"""baseline: the whole schema, each table once

Revision ID: 0012
Revises: (none)

The product had never been released when the pre-release revisions 0001–0012 (chain 0001 → 0002 → 0010 →
0011 → 0007 → 0005 → 0006 → 0004 → 0003 → 0009 → 0012; git history keeps them) were squashed into this
one. It keeps the head's revision id, 0012, so a database already stamped 0012 stays valid and
`upgrade head` leaves it as it is. A database at an older revision is pre-release: re-create it (Alembic
no longer knows its revision).

The schema is the chain's to the letter: the tables in the order the chain created them, each with its
columns in the chain's order (a column a later revision added comes last, where ALTER TABLE put it) and
its indexes right after it, every constraint and index under the chain's name. Checked against a
database migrated by the old chain: pg_dump --schema-only is identical; on SQLite every column,
constraint, index and foreign key is the same (PRAGMA table_xinfo, index_list, index_xinfo,
foreign_key_list), the stored CREATE TABLE text differs only in the white space ALTER TABLE left, and
three indexes the chain added late stand beside their tables in sqlite_master.

Left out, as it mattered only to rows a new database does not have: 0007's step that set every existing
application's remind_at to 2000-01-01, so that the next sweep looked at each.
"""

from datetime import date, datetime
from functools import partial
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

from models.types import UTCDateTime

revision = "0012"
down_revision: str | None = None
branch_labels = None
depends_on = None


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer(), primary_key=True)


def _text(name: str, length: int | None, *, nullable: bool = False) -> sa.Column[str]:
    """VARCHAR(length), or VARCHAR without a limit for `None`."""
    return sa.Column(name, AutoString(length=length), nullable=nullable)


def _int(name: str, *, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), nullable=nullable)


def _ref(name: str, table: str, *, nullable: bool = False) -> sa.Column[int]:
    """An integer foreign key to `table`.id."""
    return sa.Column(name, sa.Integer(), sa.ForeignKey(f"{table}.id"), nullable=nullable)


def _flag(name: str) -> sa.Column[bool]:
    return sa.Column(name, sa.Boolean(), nullable=False)


def _json(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.JSON(), nullable=nullable)


def _date(name: str, *, nullable: bool = False) -> sa.Column[date]:
    return sa.Column(name, sa.Date(), nullable=nullable)


def _instant(name: str, *, nullable: bool = False) -> sa.Column[datetime]:
    """A UTC instant (models.types.UTCDateTime)."""
    return sa.Column(name, UTCDateTime(timezone=True), nullable=nullable)


# The same kinds where NULL is allowed (every column above is NOT NULL).
_text_or_null = partial(_text, nullable=True)
_int_or_null = partial(_int, nullable=True)
_ref_or_null = partial(_ref, nullable=True)
_json_or_null = partial(_json, nullable=True)
_date_or_null = partial(_date, nullable=True)
_instant_or_null = partial(_instant, nullable=True)


def _indexes(table: str, *columns: str, unique: bool = False) -> None:
    """One index per column, named ix_<table>_<column> as the models name them."""
    for column in columns:
        op.create_index(f"ix_{table}_{column}", table, [column], unique=unique)


def upgrade() -> None:
    op.create_table(
        "actor",
        _id(),
        _text("name", 100),
        _text("email", 254),
        _text("role", 30),
        _text("unit", 80),
        sa.UniqueConstraint("role", "unit", "email", name="uq_actor_role_unit_email"),
    )
    _indexes("actor", "role", "unit")
    op.create_table(
        "audit_chain",
        _text("subject", 100),
        _text("head", 64),
        _int("count"),
        sa.PrimaryKeyConstraint("subject"),
    )
    op.create_table(
        "audit_event",
        _id(),
        _text("subject", 100),
        _int("seq"),
        _int_or_null("application_id"),
        _text("actor_name", 100),
        _text("actor_role", 30),
        _text("actor_unit", 80),
        _text("event", 60),
        _text_or_null("from_state", 40),
        _text_or_null("to_state", 40),
        _text("reason", 4000),
        _json("data"),
        _instant("at"),
        _text("prev_hash", 64),
        _text("hash", 64),
        # NULL on events written before the wall-clock instant was recorded (pre-release databases only).
        _instant_or_null("recorded_at"),
        sa.UniqueConstraint("subject", "seq", name="uq_audit_subject_seq"),
    )
    _indexes("audit_event", "application_id", "subject")
    op.create_table(
        "deadline_extension",
        _id(),
        _text("season", 10),
        _text("unit", 80),
        _text("step", 30),
        _date("until"),
        _text("granted_by", 200),
        _text("reason", 2000),
        _instant("granted_at"),
        sa.UniqueConstraint("season", "unit", "step", name="uq_extension_season_unit_step"),
    )
    op.create_table(
        "enterprise",
        _id(),
        _text("credit_code", 18),
        _text("name", 200),
        _text("province", 40),
        _text_or_null("city", 60),
        _text_or_null("district", 80),
        _text("industry", 60),
        _flag("is_branch"),
        _flag("above_designated_size"),
        _flag("clean_record_3y"),
        _flag("security_controllable"),
        _flag("has_smart_factory_org"),
        _flag("demonstration_unit"),
        _text_or_null("tax_district", 80),
        _json("recognitions"),
        _text("contact_name", 100),
        _text("contact_email", 254),
        _text("contact_phone", 40),
        _instant("created_at"),
        _text_or_null("soe_group", 80),
    )
    _indexes("enterprise", "credit_code", unique=True)
    _indexes("enterprise", "province", "city", "district")
    op.create_table(
        "outbox_message",
        _id(),
        _text("dedupe_key", 300),
        _text("kind", 60),
        _text("locale", 10),
        _text("recipient", 254),
        _text("recipient_name", 200),
        _text("subject", 500),
        _text("body_text", None),
        _text("body_html", None),
        _text("message_id", 200),
        _text("status", 20),
        _int("attempts"),
        _text("last_error", 2000),
        _int_or_null("application_id"),
        _date_or_null("deadline_on"),
        _int_or_null("offset_days"),
        _instant("created_at"),
        _instant_or_null("next_attempt_at"),
        _instant_or_null("attempted_at"),
        _instant_or_null("sent_at"),
        _json_or_null("context"),
        _text_or_null("claimed_by", 64),
        _instant_or_null("lease_until"),
        sa.UniqueConstraint("dedupe_key"),
    )
    _indexes("outbox_message", "application_id", "kind")
    op.create_index("ix_outbox_status_next", "outbox_message", ["status", "next_attempt_at"])
    op.create_table(
        "public_notice",
        _id(),
        _text("season", 10),
        _text("scope", 80),
        _date("opens_on"),
        _date("closes_on"),
        _text("opened_by", 200),
        _instant_or_null("closed_at"),
    )
    op.create_table(
        "recommendation_round",
        _id(),
        _text("season", 10),
        _text("unit", 80),
        _text("tier", 30),
        _json("ranked_application_ids"),
        _int("counted_against_quota"),
        _int_or_null("quota"),
        _text("submitted_by", 200),
        _instant("submitted_at"),
        sa.UniqueConstraint("season", "unit", "tier", name="uq_round_season_unit_tier"),
    )
    op.create_table(
        "application",
        _id(),
        _ref("enterprise_id", "enterprise"),
        _text("tier", 30),
        _text("track", 20),
        _text("season", 10),
        _text("state", 40),
        _int("version"),
        _text("title", 300),
        _json("content"),
        _text_or_null("content_sha256", 64),
        _json("pledge"),
        _json("chain"),
        _int("review_level"),
        _json("ranks"),
        _json("warnings"),
        _json("milestones"),
        _int("open_objections"),
        _date_or_null("cultivation_ends_on"),
        _text("audit_head", 64),
        _int("audit_count"),
        _instant("created_at"),
        _instant("updated_at"),
        _instant_or_null("submitted_at"),
        _instant_or_null("remind_at"),
        _text_or_null("rulebook_sha256", 64),
    )
    _indexes("application", "enterprise_id")
    op.create_index("ix_application_season_state", "application", ["season", "state"])
    _indexes("application", "state")
    op.create_index("ix_application_state_level", "application", ["state", "review_level"])
    _indexes("application", "remind_at")
    # Expert panels: experts, panels, their members, independent review assignments.
    op.create_table(
        "expert",
        _id(),
        _text("name", 100),
        _text("email", 254),
        _text("province", 40),
        _text("employer", 200),
        _text_or_null("employer_credit_code", 18),
        _json("ties"),
        _flag("active"),
        _int_or_null("account_id"),
        _instant("created_at"),
    )
    _indexes("expert", "email", "province", "employer_credit_code", "account_id")
    op.create_table(
        "panel",
        _id(),
        _text("season", 10),
        _text("stage", 30),
        _text("tier", 30),
        _text("track", 20),
        _text("organiser", 80),
        _text("name", 200),
        _text("created_by", 200),
        _instant("created_at"),
        sa.UniqueConstraint("season", "stage", "tier", "name", name="uq_panel_season_stage_tier_name"),
    )
    op.create_table(
        "panel_member",
        _id(),
        _ref("panel_id", "panel"),
        _ref("expert_id", "expert"),
        sa.UniqueConstraint("panel_id", "expert_id", name="uq_panel_member"),
    )
    _indexes("panel_member", "panel_id", "expert_id")
    op.create_table(
        "review_assignment",
        _id(),
        _ref("panel_id", "panel"),
        _ref("application_id", "application"),
        _ref("expert_id", "expert"),
        _text("assigned_by", 200),
        _text("override_reason", 2000),
        _date_or_null("due_on"),
        _text("status", 20),
        _json("scores"),
        _json("findings"),
        _text("recommendation", 20),
        _text("comments", 8000),
        _instant("assigned_at"),
        _instant_or_null("submitted_at"),
        sa.UniqueConstraint("panel_id", "application_id", "expert_id", name="uq_review_assignment"),
    )
    _indexes("review_assignment", "panel_id", "expert_id")
    op.create_index("ix_review_assignment_app_panel", "review_assignment", ["application_id", "panel_id"])
    # The paper-copy register: a paper copy's arrival and the hash printed on it.
    op.create_table(
        "paper_copy",
        _id(),
        _ref("application_id", "application"),
        _text("unit", 80),
        _text("printed_sha256", 64),
        _flag("matches"),
        _text("recorded_by", 200),
        _text("note", 2000),
        _instant("received_at"),
    )
    _indexes("paper_copy", "application_id")
    # Season statistics (value-added rank, excellent count) as versioned, audited data.
    op.create_table(
        "statistics_version",
        _id(),
        _text("season", 10),
        _int("version"),
        _json("values"),
        _text("sha256", 64),
        _text("file_name", 300),
        _text("loaded_by", 200),
        _instant("loaded_at"),
        sa.UniqueConstraint("season", "version", name="uq_statistics_season_version"),
    )
    _indexes("statistics_version", "season")
    # Audit anchors: the signed root over every chain head, and the inventory it commits to.
    op.create_table(
        "audit_anchor",
        _id(),
        _instant("taken_at"),
        _text("root", 64),
        _int("subjects"),
        _int("events"),
        _flag("keyed"),
        _text("signature", 64),
        _json("inventory"),
    )
    _indexes("audit_anchor", "root")
    # Accounts, their sessions, the database mode and the registered rulebooks.
    op.create_table(
        "account",
        _id(),
        _text("email", 254),
        _text("display_name", 100),
        _text("role", 30),
        _text("unit", 80),
        _ref_or_null("enterprise_id", "enterprise"),
        _text("password_hash", 200),
        _flag("active"),
        _flag("confirmed"),
        _flag("service"),
        _int_or_null("created_by"),
        _instant("created_at"),
        _int("failed_logins"),
        _instant_or_null("locked_until"),
    )
    _indexes("account", "email", unique=True)
    _indexes("account", "role", "unit")
    op.create_table(
        "account_session",
        _id(),
        _ref("account_id", "account"),
        _text("token_sha256", 64),
        _text("kind", 10),
        _instant("created_at"),
        _instant("expires_at"),
        _instant_or_null("revoked_at"),
        _instant_or_null("last_seen_at"),
    )
    _indexes("account_session", "account_id")
    _indexes("account_session", "token_sha256", unique=True)
    op.create_table(
        "system_state",
        _text("key", 40),
        _text("value", 200),
        _instant("set_at"),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "season_record",
        _text("name", 40),
        _text("sha256", 64),
        _text("text", None),
        _int_or_null("loaded_by"),
        _instant("loaded_at"),
        sa.PrimaryKeyConstraint("name"),
    )
    # Attachments: the files of an application's materials checklist, stored outside the database by SHA-256.
    op.create_table(
        "attachment",
        _id(),
        _ref("application_id", "application"),
        _text("material_key", 60),
        _text("filename", 200),
        _text("media_type", 100),
        _int("size"),
        _text("sha256", 64),
        _text("uploaded_by", 200),
        _instant("uploaded_at"),
        sa.UniqueConstraint("application_id", "material_key", name="uq_attachment_material"),
    )
    _indexes("attachment", "application_id")


def downgrade() -> None:
    """Drops every table, those that refer to others first (a table's indexes go with it)."""
    for table in (
        "attachment", "season_record", "system_state", "account_session", "account", "audit_anchor",
        "statistics_version", "paper_copy", "review_assignment", "panel_member", "panel", "expert",
        "application", "recommendation_round", "public_notice", "outbox_message", "enterprise",
        "deadline_extension", "audit_event", "audit_chain", "actor",
    ):  # fmt: skip
        op.drop_table(table)
