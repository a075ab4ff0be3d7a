"""expert panels: experts, panels, members, independent review assignments

Revision ID: 0010
Revises: 0002
"""

import sqlalchemy as sa
import sqlmodel
import sqlmodel.sql.sqltypes
from alembic import op

import models.types

revision = "0010"
down_revision = "0002"
branch_labels = None
depends_on = None

_S = sqlmodel.sql.sqltypes.AutoString
_T = models.types.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "expert",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", _S(length=100), nullable=False),
        sa.Column("email", _S(length=254), nullable=False),
        sa.Column("province", _S(length=40), nullable=False),
        sa.Column("employer", _S(length=200), nullable=False),
        sa.Column("employer_credit_code", _S(length=18), nullable=True),
        sa.Column("ties", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("created_at", _T(timezone=True), nullable=False),
    )
    for column in ("email", "province", "employer_credit_code", "account_id"):
        op.create_index(f"ix_expert_{column}", "expert", [column])
    op.create_table(
        "panel",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("season", _S(length=10), nullable=False),
        sa.Column("stage", _S(length=30), nullable=False),
        sa.Column("tier", _S(length=30), nullable=False),
        sa.Column("track", _S(length=20), nullable=False),
        sa.Column("organiser", _S(length=80), nullable=False),
        sa.Column("name", _S(length=200), nullable=False),
        sa.Column("created_by", _S(length=200), nullable=False),
        sa.Column("created_at", _T(timezone=True), nullable=False),
        sa.UniqueConstraint("season", "stage", "tier", "name", name="uq_panel_season_stage_tier_name"),
    )
    op.create_table(
        "panel_member",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("panel_id", sa.Integer(), sa.ForeignKey("panel.id"), nullable=False),
        sa.Column("expert_id", sa.Integer(), sa.ForeignKey("expert.id"), nullable=False),
        sa.UniqueConstraint("panel_id", "expert_id", name="uq_panel_member"),
    )
    op.create_index("ix_panel_member_panel_id", "panel_member", ["panel_id"])
    op.create_index("ix_panel_member_expert_id", "panel_member", ["expert_id"])
    op.create_table(
        "review_assignment",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("panel_id", sa.Integer(), sa.ForeignKey("panel.id"), nullable=False),
        sa.Column("application_id", sa.Integer(), sa.ForeignKey("application.id"), nullable=False),
        sa.Column("expert_id", sa.Integer(), sa.ForeignKey("expert.id"), nullable=False),
        sa.Column("assigned_by", _S(length=200), nullable=False),
        sa.Column("override_reason", _S(length=2000), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("status", _S(length=20), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("recommendation", _S(length=20), nullable=False),
        sa.Column("comments", _S(length=8000), nullable=False),
        sa.Column("assigned_at", _T(timezone=True), nullable=False),
        sa.Column("submitted_at", _T(timezone=True), nullable=True),
        sa.UniqueConstraint("panel_id", "application_id", "expert_id", name="uq_review_assignment"),
    )
    op.create_index("ix_review_assignment_panel_id", "review_assignment", ["panel_id"])
    op.create_index("ix_review_assignment_expert_id", "review_assignment", ["expert_id"])
    op.create_index("ix_review_assignment_app_panel", "review_assignment", ["application_id", "panel_id"])


def downgrade() -> None:
    for table in ("review_assignment", "panel_member", "panel", "expert"):
        op.drop_table(table)
