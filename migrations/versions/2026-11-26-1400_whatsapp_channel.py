"""whatsapp channel: numbers, message pricing

A WhatsApp number is a channels row (its facts in ``details``) and its messages share the
inbox's tables; what WhatsApp adds is the pricing of each message, read from its statuses,
and an index for the monthly cost report. Message kinds are strings without a CHECK
constraint, so WhatsApp's new kinds need no change here.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 14:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import socialsell.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pricing_category", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("pricing_type", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("pricing_billable", sa.Boolean(), nullable=True))
        batch_op.add_column(
            sa.Column("priced_at", socialsell.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            "ix_messages_workspace_priced", ["workspace_id", "priced_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_workspace_priced")
        batch_op.drop_column("priced_at")
        batch_op.drop_column("pricing_billable")
        batch_op.drop_column("pricing_type")
        batch_op.drop_column("pricing_category")
