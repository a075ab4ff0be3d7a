"""attachments: the files of an application's materials checklist, stored outside the database by SHA-256

Revision ID: 0012
Revises: 0009
"""

import sqlalchemy as sa
import sqlmodel
import sqlmodel.sql.sqltypes
from alembic import op

import models.types

revision = "0012"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attachment",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("application_id", sa.Integer(), sa.ForeignKey("application.id"), nullable=False),
        sa.Column("material_key", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("filename", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("media_type", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("uploaded_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("uploaded_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("application_id", "material_key", name="uq_attachment_material"),
    )
    op.create_index("ix_attachment_application_id", "attachment", ["application_id"])


def downgrade() -> None:
    op.drop_table("attachment")
