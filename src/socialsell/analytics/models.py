"""Insight snapshots as time series, and each channel's refresh schedule.

One row per (channel, metric, day) and per (media, metric, day), upserted, so running a refresh
twice changes nothing. A metric Meta did not serve is a row with ``value`` NULL and a
``missing_reason``: "no data" is never stored as 0, which would read as a real bad day.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from socialsell.db import Base, IdMixin, utcnow


class AccountInsight(Base):
    """A channel's metric on one day (Meta's day, which ends at midnight Pacific time)."""

    __tablename__ = "analytics_account_insights"
    # The overview sums a workspace's channels over a date range, metric by metric.
    __table_args__ = (
        Index("ix_analytics_account_insights_ws_metric_day", "workspace_id", "metric", "day"),
    )

    channel_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True
    )
    metric: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    value: Mapped[float | None] = mapped_column(Float, default=None)
    missing_reason: Mapped[str | None] = mapped_column(Text, default=None)
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)


class DailyRollup(Base):
    """A workspace's daily total of one metric over its channels, kept by every write of
    account points (see ``repository.upsert_account_points``) so that the overview of every
    channel reads a row per metric and day instead of summing a row per channel.

    ``value`` is the sum of the channels' known numbers (NULL when none had one: missing stays
    missing, never 0), ``known`` how many channels had one, ``missing_reason`` one reason among
    those that had none. Two pseudo-metrics hold the engagement pair: interactions and reach
    summed over the channels that have both that day (``known`` counts those channels).
    """

    __tablename__ = "analytics_daily_rollups"

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    metric: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    value: Mapped[float | None] = mapped_column(Float, default=None)
    known: Mapped[int] = mapped_column(default=0)
    missing_reason: Mapped[str | None] = mapped_column(Text, default=None)


class ChannelFollowers(Base):
    """A channel's followers on a day as the overview defines them (walked back from its latest
    reading; see ``analytics.followers``), rewritten whenever its follower points change. Only
    known days have a row. The rollup's ``followers.walked`` rows sum them per day."""

    __tablename__ = "analytics_channel_followers"
    __table_args__ = (Index("ix_analytics_channel_followers_ws_day", "workspace_id", "day"),)

    channel_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    value: Mapped[float] = mapped_column(Float)


class AnalyticsMedia(IdMixin, Base):
    """A post of a channel as Instagram lists it (ours or not: insights cover every post)."""

    __tablename__ = "analytics_media"
    __table_args__ = (
        UniqueConstraint("channel_id", "external_id"),
        Index("ix_analytics_media_workspace_posted", "workspace_id", "posted_at"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    channel_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(64))
    media_type: Mapped[str | None] = mapped_column(String(32), default=None)
    media_product_type: Mapped[str | None] = mapped_column(String(32), default=None)
    caption: Mapped[str | None] = mapped_column(Text, default=None)
    permalink: Mapped[str | None] = mapped_column(Text, default=None)
    thumbnail_url: Mapped[str | None] = mapped_column(Text, default=None)
    posted_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class MediaInsight(Base):
    """A post's lifetime metric as read on one day (the series shows how it grew)."""

    __tablename__ = "analytics_media_insights"

    media_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("analytics_media.id", ondelete="CASCADE"), primary_key=True
    )
    metric: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    value: Mapped[float | None] = mapped_column(Float, default=None)
    missing_reason: Mapped[str | None] = mapped_column(Text, default=None)
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)


class RefreshState(Base):
    """When a channel's insights are next due. A channel without a row has never been
    refreshed: the tick's claimer creates its row due at once, which is how a new connection
    gets its first numbers within one tick."""

    __tablename__ = "analytics_refresh_states"
    __table_args__ = (Index("ix_analytics_refresh_states_due", "next_refresh_at"),)

    channel_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    next_refresh_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A claimed refresh holds the row until then; a lost job's lease expires and the next tick
    # claims the row again.
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    # How many past days the next refresh fetches: a backfill first, then the last few days
    # (Meta's data can lag 48 hours, so yesterday's numbers are fetched again).
    backfill_days: Mapped[int] = mapped_column(default=30)
    last_refreshed_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
