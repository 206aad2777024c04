"""analytics: a daily per-workspace rollup written by refresh

One row per workspace, metric and day: the sum of the channels' known numbers, how many had
one, and a reason for the others; plus the engagement pair (interactions and reach over the
channels that have both). Filled here from the stored snapshots, then kept by every write of
account points.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 14:00:00+00:00
"""

from collections.abc import Sequence
from datetime import date, timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INSERT = (
    "INSERT INTO analytics_daily_rollups (workspace_id, metric, day, value, known, missing_reason) "
)
_PAIR = (
    "FROM analytics_account_insights r JOIN analytics_account_insights t "
    "ON t.channel_id = r.channel_id AND t.day = r.day AND t.metric = 'total_interactions' "
    "WHERE r.metric = 'reach' AND r.value IS NOT NULL AND t.value IS NOT NULL "
    "GROUP BY r.workspace_id, r.day"
)
# What socialsell.analytics.repository.refresh_rollup writes, over every workspace and day at
# once (the pseudo-metric names are the repository's PAIR_* and FOLLOWERS_WALKED).
BACKFILL = (
    (
        _INSERT + "SELECT workspace_id, metric, day, SUM(value), COUNT(value), MIN(missing_reason) "
        "FROM analytics_account_insights GROUP BY workspace_id, metric, day"
    ),
    (
        _INSERT + "SELECT r.workspace_id, 'engagement.total_interactions', r.day, SUM(t.value), "
        "COUNT(*), NULL " + _PAIR
    ),
    (
        _INSERT
        + "SELECT r.workspace_id, 'engagement.reach', r.day, SUM(r.value), COUNT(*), NULL "
        + _PAIR
    ),
    (
        _INSERT + "SELECT workspace_id, 'followers.walked', day, SUM(value), COUNT(value), NULL "
        "FROM analytics_channel_followers GROUP BY workspace_id, day"
    ),
)


def _walk(snapshots: dict[date, float], gains: dict[date, float]) -> dict[date, float]:
    """socialsell.analytics.followers.channel_followers as of this revision (frozen here)."""
    if not snapshots:
        return {}
    anchor = max(snapshots)
    earliest = min(min(snapshots), min(gains, default=date.max)) - timedelta(days=1)
    known = dict(snapshots)
    value, day = snapshots[anchor], anchor
    while day > earliest:
        gained = gains.get(day)
        if gained is None and day != anchor:
            break
        value -= gained or 0
        day -= timedelta(days=1)
        known.setdefault(day, value)
        value = known[day]
    return known


def _backfill_followers() -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT channel_id, workspace_id, metric, day, value FROM analytics_account_insights "
            "WHERE metric IN ('followers', 'follower_count') AND value IS NOT NULL "
            "ORDER BY channel_id"
        )
    )
    insights = sa.table(
        "analytics_channel_followers",
        sa.column("channel_id", sa.Uuid()),
        sa.column("workspace_id", sa.Uuid()),
        sa.column("day", sa.Date()),
        sa.column("value", sa.Float()),
    )
    points: dict[tuple[object, object], tuple[dict[date, float], dict[date, float]]] = {}
    for channel_id, workspace_id, metric, day, value in rows:
        if isinstance(day, str):  # SQLite hands back text
            day = date.fromisoformat(day)
        snaps, gains = points.setdefault((channel_id, workspace_id), ({}, {}))
        (snaps if metric == "followers" else gains)[day] = float(value)
    for (channel_id, workspace_id), (snaps, gains) in points.items():
        walked = [
            {"channel_id": channel_id, "workspace_id": workspace_id, "day": d, "value": v}
            for d, v in _walk(snaps, gains).items()
        ]
        if walked:
            op.bulk_insert(insights, walked)


def upgrade() -> None:
    op.create_table(
        "analytics_daily_rollups",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("known", sa.Integer(), nullable=False),
        sa.Column("missing_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_analytics_daily_rollups_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id", "metric", "day", name=op.f("pk_analytics_daily_rollups")
        ),
    )
    op.create_table(
        "analytics_channel_followers",
        sa.Column("channel_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name=op.f("fk_analytics_channel_followers_channel_id_channels"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_analytics_channel_followers_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("channel_id", "day", name=op.f("pk_analytics_channel_followers")),
    )
    with op.batch_alter_table("analytics_channel_followers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_analytics_channel_followers_ws_day", ["workspace_id", "day"], unique=False
        )
    _backfill_followers()
    for statement in BACKFILL:
        op.execute(statement)


def downgrade() -> None:
    with op.batch_alter_table("analytics_channel_followers", schema=None) as batch_op:
        batch_op.drop_index("ix_analytics_channel_followers_ws_day")
    op.drop_table("analytics_channel_followers")
    op.drop_table("analytics_daily_rollups")
