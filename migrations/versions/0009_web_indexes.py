"""indexes the web inbox filters by: an enterprise's city and district (scope of a city or district officer)

Revision ID: 0009
Revises: 0003
"""

from alembic import op

revision = "0009"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_enterprise_city", "enterprise", ["city"])
    op.create_index("ix_enterprise_district", "enterprise", ["district"])


def downgrade() -> None:
    op.drop_index("ix_enterprise_district", table_name="enterprise")
    op.drop_index("ix_enterprise_city", table_name="enterprise")
