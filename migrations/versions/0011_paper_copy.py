"""paper-copy register: a paper copy's arrival and the hash printed on it

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
import sqlmodel
import sqlmodel.sql.sqltypes
from alembic import op

import models.types

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "paper_copy",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("application_id", sa.Integer(), sa.ForeignKey("application.id"), nullable=False),
        sa.Column("unit", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("printed_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("matches", sa.Boolean(), nullable=False),
        sa.Column("recorded_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("received_at", models.types.UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_paper_copy_application_id", "paper_copy", ["application_id"])


def downgrade() -> None:
    op.drop_table("paper_copy")
