"""whatsapp templates and the workspace's rates table

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 14:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import socialsell.db

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "whatsapp_templates",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("channel_id", sa.Uuid(), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("previous_category", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("rejected_reason", sa.String(length=64), nullable=True),
        sa.Column("status_detail", sa.Text(), nullable=True),
        sa.Column("quality_score", sa.String(length=16), nullable=True),
        sa.Column("components", sa.JSON(), nullable=False),
        sa.Column("parameter_format", sa.String(length=16), nullable=False),
        sa.Column("status_updated_at", socialsell.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("synced_at", socialsell.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", socialsell.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", socialsell.db.UTCDateTime(timezone=True), nullable=False),
        _fk("whatsapp_templates", "channel_id", "channels"),
        _fk("whatsapp_templates", "workspace_id", "workspaces"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_whatsapp_templates")),
        sa.UniqueConstraint(
            "channel_id",
            "name",
            "language",
            name=op.f("uq_whatsapp_templates_channel_id_name_language"),
        ),
    )
    with op.batch_alter_table("whatsapp_templates", schema=None) as batch_op:
        batch_op.create_index(
            "ix_whatsapp_templates_channel_external", ["channel_id", "external_id"], unique=False
        )
        batch_op.create_index(
            "ix_whatsapp_templates_workspace_channel",
            ["workspace_id", "channel_id"],
            unique=False,
        )

    op.create_table(
        "whatsapp_template_syncs",
        sa.Column("channel_id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("requested_at", socialsell.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("claimed_until", socialsell.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("synced_at", socialsell.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        _fk("whatsapp_template_syncs", "channel_id", "channels"),
        _fk("whatsapp_template_syncs", "workspace_id", "workspaces"),
        sa.PrimaryKeyConstraint("channel_id", name=op.f("pk_whatsapp_template_syncs")),
    )
    with op.batch_alter_table("whatsapp_template_syncs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_whatsapp_template_syncs_requested_at"), ["requested_at"], unique=False
        )

    op.create_table(
        "whatsapp_rates",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("market", sa.String(length=8), nullable=False),
        sa.Column("label", sa.String(length=80), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("marketing_micros", sa.Integer(), nullable=False),
        sa.Column("utility_micros", sa.Integer(), nullable=False),
        sa.Column("authentication_micros", sa.Integer(), nullable=False),
        sa.Column("service_micros", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", socialsell.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", socialsell.db.UTCDateTime(timezone=True), nullable=False),
        _fk("whatsapp_rates", "workspace_id", "workspaces"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_whatsapp_rates")),
        sa.UniqueConstraint(
            "workspace_id", "market", name=op.f("uq_whatsapp_rates_workspace_id_market")
        ),
    )


def downgrade() -> None:
    op.drop_table("whatsapp_rates")
    with op.batch_alter_table("whatsapp_template_syncs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_whatsapp_template_syncs_requested_at"))
    op.drop_table("whatsapp_template_syncs")
    with op.batch_alter_table("whatsapp_templates", schema=None) as batch_op:
        batch_op.drop_index("ix_whatsapp_templates_workspace_channel")
        batch_op.drop_index("ix_whatsapp_templates_channel_external")
    op.drop_table("whatsapp_templates")
