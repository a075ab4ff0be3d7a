"""accounts, sessions, the database mode and registered rulebooks (issue #11)

Revision ID: 0003
Revises: 0004
"""

import sqlalchemy as sa
import sqlmodel
import sqlmodel.sql.sqltypes
from alembic import op

import models.types

revision = "0003"
down_revision = "0004"
branch_labels = None
depends_on = None

_S = sqlmodel.sql.sqltypes.AutoString
_T = models.types.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", _S(length=254), nullable=False),
        sa.Column("display_name", _S(length=100), nullable=False),
        sa.Column("role", _S(length=30), nullable=False),
        sa.Column("unit", _S(length=80), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("password_hash", _S(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("service", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", _T(timezone=True), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", _T(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprise.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_account_email"), ["email"], unique=True)
        batch_op.create_index(batch_op.f("ix_account_role"), ["role"], unique=False)
        batch_op.create_index(batch_op.f("ix_account_unit"), ["unit"], unique=False)
    op.create_table(
        "account_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", _S(length=64), nullable=False),
        sa.Column("kind", _S(length=10), nullable=False),
        sa.Column("created_at", _T(timezone=True), nullable=False),
        sa.Column("expires_at", _T(timezone=True), nullable=False),
        sa.Column("revoked_at", _T(timezone=True), nullable=True),
        sa.Column("last_seen_at", _T(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("account_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_account_session_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_account_session_token_sha256"), ["token_sha256"], unique=True)
    op.create_table(
        "system_state",
        sa.Column("key", _S(length=40), nullable=False),
        sa.Column("value", _S(length=200), nullable=False),
        sa.Column("set_at", _T(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "season_record",
        sa.Column("name", _S(length=40), nullable=False),
        sa.Column("sha256", _S(length=64), nullable=False),
        sa.Column("text", _S(), nullable=False),
        sa.Column("loaded_by", sa.Integer(), nullable=True),
        sa.Column("loaded_at", _T(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rulebook_sha256", _S(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.drop_column("rulebook_sha256")
    op.drop_table("season_record")
    op.drop_table("system_state")
    op.drop_table("account_session")
    op.drop_table("account")
