"""season statistics (2024 value-added rank, excellent count) as versioned, audited data; an enterprise's
central-SOE group beside its location

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

import models.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "statistics_version",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("season", sa.String(length=10), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("file_name", sa.String(length=300), nullable=False),
        sa.Column("loaded_by", sa.String(length=200), nullable=False),
        sa.Column("loaded_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("season", "version", name="uq_statistics_season_version"),
    )
    op.create_index("ix_statistics_version_season", "statistics_version", ["season"])
    with op.batch_alter_table("enterprise", schema=None) as batch_op:
        batch_op.add_column(sa.Column("soe_group", sa.String(length=80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("enterprise", schema=None) as batch_op:
        batch_op.drop_column("soe_group")
    op.drop_index("ix_statistics_version_season", table_name="statistics_version")
    op.drop_table("statistics_version")
