"""reminder due-item index (application.remind_at) and unrendered outbox rows (outbox_message.context)

Revision ID: 0007
Revises: 0011
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import models.types

revision = "0007"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.add_column(sa.Column("remind_at", models.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_application_remind_at", ["remind_at"], unique=False)
    # Existing applications: look at each one at the next sweep (models.tables.RECHECK).
    application = sa.table("application", sa.column("remind_at", models.types.UTCDateTime(timezone=True)))
    op.execute(application.update().values(remind_at=datetime(2000, 1, 1, tzinfo=UTC)))
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("context", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_column("context")
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.drop_index("ix_application_remind_at")
        batch_op.drop_column("remind_at")
