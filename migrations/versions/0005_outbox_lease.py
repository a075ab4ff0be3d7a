"""outbox rows carry a lease: the sender that claimed them and until when (several senders, each row once)

Revision ID: 0005
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

import models.types

revision = "0005"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rows already in `sending` keep NULL: a NULL lease counts as expired, so they become `uncertain`.
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("lease_until", models.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_column("lease_until")
        batch_op.drop_column("claimed_by")
