"""audit anchors: the signed root over every chain head, and the inventory it commits to

Revision ID: 0004
Revises: 0006
"""

import sqlalchemy as sa
import sqlmodel
import sqlmodel.sql.sqltypes
from alembic import op

import models.types

revision = "0004"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_anchor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("taken_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("root", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("subjects", sa.Integer(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("keyed", sa.Boolean(), nullable=False),
        sa.Column("signature", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("inventory", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_anchor", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_anchor_root"), ["root"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_anchor", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_anchor_root"))
    op.drop_table("audit_anchor")
