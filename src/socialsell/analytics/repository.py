"""Every query of analytics. Reads are scoped by workspace; the refresh (a job) writes by
channel id, after the service has loaded the channel."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from socialsell.accounts.models import Workspace
from socialsell.analytics.models import AccountInsight, AnalyticsMedia, MediaInsight, RefreshState
from socialsell.channels.models import Channel, ChannelStatus, Platform
from socialsell.settings import ConfigurationError

# Rows per INSERT: well under SQLite's bound-parameter limit (7 columns each).
UPSERT_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Point:
    """One stored value: ``value`` None means missing, and ``reason`` says why."""

    metric: str
    day: date
    value: float | None
    reason: str | None = None


def _insert_for(session: AsyncSession, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise ConfigurationError(f"unsupported database {dialect!r}: use PostgreSQL or SQLite")


async def _upsert_points(
    session: AsyncSession,
    model: type[AccountInsight | MediaInsight],
    key_column: str,
    rows: list[dict[str, Any]],
) -> None:
    table = model.__table__
    for start in range(0, len(rows), UPSERT_CHUNK):
        stmt = _insert_for(session, table).values(rows[start : start + UPSERT_CHUNK])
        current = table.c
        excluded = stmt.excluded
        # A later failure must not erase a number stored earlier: a missing value only replaces
        # a missing one (with the newer reason); a real value always wins.
        stmt = stmt.on_conflict_do_update(
            index_elements=[key_column, "metric", "day"],
            set_={
                "value": func.coalesce(excluded.value, current.value),
                "missing_reason": case(
                    (excluded.value.is_not(None), literal(None)),
                    (current.value.is_not(None), literal(None)),
                    else_=excluded.missing_reason,
                ),
                "fetched_at": case(
                    (
                        and_(excluded.value.is_(None), current.value.is_not(None)),
                        current.fetched_at,
                    ),
                    else_=excluded.fetched_at,
                ),
            },
        )
        await session.execute(stmt)


async def upsert_account_points(
    session: AsyncSession, channel: Channel, points: Iterable[Point], fetched_at: datetime
) -> None:
    rows = [
        {
            "channel_id": channel.id,
            "workspace_id": channel.workspace_id,
            "metric": p.metric,
            "day": p.day,
            "value": p.value,
            "missing_reason": None if p.value is not None else p.reason,
            "fetched_at": fetched_at,
        }
        for p in points
    ]
    await _upsert_points(session, AccountInsight, "channel_id", rows)


async def upsert_media_points(
    session: AsyncSession, media: AnalyticsMedia, points: Iterable[Point], fetched_at: datetime
) -> None:
    rows = [
        {
            "media_id": media.id,
            "workspace_id": media.workspace_id,
            "metric": p.metric,
            "day": p.day,
            "value": p.value,
            "missing_reason": None if p.value is not None else p.reason,
            "fetched_at": fetched_at,
        }
        for p in points
    ]
    await _upsert_points(session, MediaInsight, "media_id", rows)


async def upsert_media(
    session: AsyncSession, channel: Channel, values: dict[str, Any], now: datetime
) -> AnalyticsMedia:
    """Insert or update a post by its Instagram id; return the stored row."""
    row = {
        "id": uuid.uuid4(),
        "workspace_id": channel.workspace_id,
        "channel_id": channel.id,
        "updated_at": now,
        **values,
    }
    stmt = _insert_for(session, AnalyticsMedia.__table__).values(row)
    stmt = stmt.on_conflict_do_update(
        index_elements=["channel_id", "external_id"],
        set_={k: stmt.excluded[k] for k in (*values.keys(), "updated_at") if k != "external_id"},
    )
    await session.execute(stmt)
    media = (
        await session.execute(
            select(AnalyticsMedia)
            .where(
                AnalyticsMedia.channel_id == channel.id,
                AnalyticsMedia.external_id == values["external_id"],
            )
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    return media


# --- the refresh schedule ------------------------------------------------------------------------


async def add_missing_refresh_states(
    session: AsyncSession, now: datetime, backfill_days: int
) -> int:
    """Give every active Instagram channel without a schedule one due now (a new connection)."""
    missing = (
        select(
            Channel.id,
            Channel.workspace_id,
            literal(now, RefreshState.next_refresh_at.type),
            literal(backfill_days),
        )
        .outerjoin(RefreshState, RefreshState.channel_id == Channel.id)
        .where(
            RefreshState.channel_id.is_(None),
            Channel.platform == Platform.instagram,
            Channel.status == ChannelStatus.active,
        )
    )
    stmt = (
        _insert_for(session, RefreshState.__table__)
        .from_select(["channel_id", "workspace_id", "next_refresh_at", "backfill_days"], missing)
        .on_conflict_do_nothing(index_elements=["channel_id"])
    )
    result = await session.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0)


async def claim_due_refreshes(
    session: AsyncSession, now: datetime, lease: timedelta, limit: int
) -> Sequence[uuid.UUID]:
    """Claim due channels with one UPDATE (safe with several ticks at once)."""
    due = (
        select(RefreshState.channel_id)
        .join(Channel, Channel.id == RefreshState.channel_id)
        .where(
            RefreshState.next_refresh_at <= now,
            or_(RefreshState.lease_until.is_(None), RefreshState.lease_until <= now),
            Channel.status == ChannelStatus.active,
        )
        .order_by(RefreshState.next_refresh_at)
        .limit(limit)
        .scalar_subquery()
    )
    result = await session.execute(
        update(RefreshState)
        .where(
            RefreshState.channel_id.in_(due),
            RefreshState.next_refresh_at <= now,
            or_(RefreshState.lease_until.is_(None), RefreshState.lease_until <= now),
        )
        .values(lease_until=now + lease)
        .returning(RefreshState.channel_id)
        .execution_options(synchronize_session=False)
    )
    return list(result.scalars().all())


async def get_refresh_state(session: AsyncSession, channel_id: uuid.UUID) -> RefreshState | None:
    return await session.get(RefreshState, channel_id, populate_existing=True)


async def ensure_refresh_state(
    session: AsyncSession, channel: Channel, now: datetime, backfill_days: int
) -> RefreshState:
    state = await get_refresh_state(session, channel.id)
    if state is None:
        state = RefreshState(
            channel_id=channel.id,
            workspace_id=channel.workspace_id,
            next_refresh_at=now,
            backfill_days=backfill_days,
        )
        session.add(state)
        await session.flush()
    return state


async def refresh_states(
    session: AsyncSession, workspace_id: uuid.UUID
) -> dict[uuid.UUID, RefreshState]:
    rows = await session.scalars(
        select(RefreshState).where(RefreshState.workspace_id == workspace_id)
    )
    return {r.channel_id: r for r in rows}


async def workspace_timezone(session: AsyncSession, workspace_id: uuid.UUID) -> str:
    tz = await session.scalar(select(Workspace.timezone).where(Workspace.id == workspace_id))
    return tz or "UTC"


async def count_days(session: AsyncSession, channel_id: uuid.UUID, metric: str) -> int:
    found = await session.scalar(
        select(func.count())
        .select_from(AccountInsight)
        .where(
            AccountInsight.channel_id == channel_id,
            AccountInsight.metric == metric,
            AccountInsight.value.is_not(None),
        )
    )
    return int(found or 0)


# --- reads ---------------------------------------------------------------------------------------


async def workspace_channels(
    session: AsyncSession, workspace_id: uuid.UUID, channel_id: uuid.UUID | None = None
) -> Sequence[Channel]:
    stmt = (
        select(Channel)
        .where(Channel.workspace_id == workspace_id, Channel.platform == Platform.instagram)
        .order_by(Channel.connected_at)
    )
    if channel_id is not None:
        stmt = stmt.where(Channel.id == channel_id)
    return (await session.scalars(stmt)).all()


async def get_channel(
    session: AsyncSession, workspace_id: uuid.UUID, channel_id: uuid.UUID
) -> Channel | None:
    return await session.scalar(
        select(Channel).where(Channel.id == channel_id, Channel.workspace_id == workspace_id)
    )


# Core (not ORM) selects for the aggregates: tens of thousands of rows are summed in the
# database, and the few rows that come back skip the ORM's per-row work.
_ai = AccountInsight.__table__.c


def _scope(stmt: Any, workspace_id: uuid.UUID, channel_ids: Sequence[uuid.UUID] | None) -> Any:
    stmt = stmt.where(_ai.workspace_id == workspace_id)
    if channel_ids is not None:
        stmt = stmt.where(_ai.channel_id.in_(channel_ids))
    return stmt


async def daily_sums(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    start: date,
    end: date,
    metrics: Sequence[str],
    channel_ids: Sequence[uuid.UUID] | None = None,
) -> list[tuple[str, date, float | None, int, str | None]]:
    """Per metric and day, over the channels: the sum of known values, how many channels had
    one, and a reason for the missing ones."""
    stmt = _scope(
        select(
            _ai.metric,
            _ai.day,
            func.sum(_ai.value),
            func.count(_ai.value),
            func.min(_ai.missing_reason),
        ).where(_ai.metric.in_(metrics), _ai.day >= start, _ai.day <= end),
        workspace_id,
        channel_ids,
    ).group_by(_ai.metric, _ai.day)
    return [tuple(r) for r in await session.execute(stmt)]


async def engagement_pairs(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    start: date,
    end: date,
    channel_ids: Sequence[uuid.UUID] | None = None,
) -> list[tuple[date, float, float]]:
    """Per day: interactions and reach summed over the channels that have both that day."""
    reach = AccountInsight.__table__.alias("reach")
    ti = AccountInsight.__table__.alias("ti")
    stmt = (
        select(reach.c.day, func.sum(ti.c.value), func.sum(reach.c.value))
        .join(
            ti,
            and_(
                ti.c.channel_id == reach.c.channel_id,
                ti.c.day == reach.c.day,
                ti.c.metric == "total_interactions",
            ),
        )
        .where(
            reach.c.workspace_id == workspace_id,
            reach.c.metric == "reach",
            reach.c.day >= start,
            reach.c.day <= end,
            reach.c.value.is_not(None),
            ti.c.value.is_not(None),
        )
        .group_by(reach.c.day)
    )
    if channel_ids is not None:
        stmt = stmt.where(reach.c.channel_id.in_(channel_ids))
    return [(d, float(t), float(r)) for d, t, r in await session.execute(stmt)]


async def known_values(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    start: date,
    end: date,
    metrics: Sequence[str],
    channel_ids: Sequence[uuid.UUID] | None = None,
) -> list[tuple[uuid.UUID, str, date, float]]:
    stmt = _scope(
        select(_ai.channel_id, _ai.metric, _ai.day, _ai.value).where(
            _ai.metric.in_(metrics), _ai.day >= start, _ai.day <= end, _ai.value.is_not(None)
        ),
        workspace_id,
        channel_ids,
    )
    return [tuple(r) for r in await session.execute(stmt)]


@dataclass(frozen=True, slots=True)
class DailyRow:
    channel_id: uuid.UUID
    metric: str
    day: date
    value: float | None
    reason: str | None


async def account_rows(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    start: date,
    end: date,
    *,
    metrics: Sequence[str],
    channel_ids: Sequence[uuid.UUID] | None = None,
) -> list[DailyRow]:
    """Stored points of the workspace's channels for ``metrics`` between ``start`` and ``end``
    (inclusive). One indexed range scan per metric on (workspace_id, metric, day)."""
    stmt = select(
        AccountInsight.channel_id,
        AccountInsight.metric,
        AccountInsight.day,
        AccountInsight.value,
        AccountInsight.missing_reason,
    ).where(
        AccountInsight.workspace_id == workspace_id,
        AccountInsight.metric.in_(metrics),
        AccountInsight.day >= start,
        AccountInsight.day <= end,
    )
    if channel_ids is not None:
        stmt = stmt.where(AccountInsight.channel_id.in_(channel_ids))
    rows = await session.execute(stmt)
    return [DailyRow(*r) for r in rows]


async def latest_account_values(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    metric: str,
    on_or_before: date,
    channel_ids: Sequence[uuid.UUID] | None = None,
) -> dict[uuid.UUID, tuple[date, float]]:
    """Each channel's last known value of ``metric`` on or before a day (e.g. followers)."""
    last = (
        select(AccountInsight.channel_id, func.max(AccountInsight.day).label("day"))
        .where(
            AccountInsight.workspace_id == workspace_id,
            AccountInsight.metric == metric,
            AccountInsight.day <= on_or_before,
            AccountInsight.value.is_not(None),
        )
        .group_by(AccountInsight.channel_id)
    )
    if channel_ids is not None:
        last = last.where(AccountInsight.channel_id.in_(channel_ids))
    sub = last.subquery()
    rows = await session.execute(
        select(AccountInsight.channel_id, AccountInsight.day, AccountInsight.value).join(
            sub,
            and_(
                AccountInsight.channel_id == sub.c.channel_id,
                AccountInsight.day == sub.c.day,
                AccountInsight.metric == metric,
            ),
        )
    )
    return {cid: (day, float(value)) for cid, day, value in rows if value is not None}


@dataclass(frozen=True, slots=True)
class MediaValues:
    media: AnalyticsMedia
    values: dict[str, float | None]
    reasons: dict[str, str]


async def media_with_latest(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    *,
    posted_from: datetime | None = None,
    posted_to: datetime | None = None,
    channel_ids: Sequence[uuid.UUID] | None = None,
    media_ids: Sequence[uuid.UUID] | None = None,
    limit: int = 200,
) -> list[MediaValues]:
    """Posts with the latest reading of each of their metrics."""
    stmt = (
        select(AnalyticsMedia)
        .where(AnalyticsMedia.workspace_id == workspace_id)
        .order_by(AnalyticsMedia.posted_at.desc())
        .limit(limit)
    )
    if posted_from is not None:
        stmt = stmt.where(AnalyticsMedia.posted_at >= posted_from)
    if posted_to is not None:
        stmt = stmt.where(AnalyticsMedia.posted_at < posted_to)
    if channel_ids is not None:
        stmt = stmt.where(AnalyticsMedia.channel_id.in_(channel_ids))
    if media_ids is not None:
        stmt = stmt.where(AnalyticsMedia.id.in_(media_ids))
    media = list((await session.scalars(stmt)).all())
    if not media:
        return []
    ids = [m.id for m in media]
    last = (
        select(MediaInsight.media_id, MediaInsight.metric, func.max(MediaInsight.day).label("day"))
        .where(MediaInsight.media_id.in_(ids))
        .group_by(MediaInsight.media_id, MediaInsight.metric)
        .subquery()
    )
    rows = await session.execute(
        select(
            MediaInsight.media_id,
            MediaInsight.metric,
            MediaInsight.value,
            MediaInsight.missing_reason,
        ).join(
            last,
            and_(
                MediaInsight.media_id == last.c.media_id,
                MediaInsight.metric == last.c.metric,
                MediaInsight.day == last.c.day,
            ),
        )
    )
    values: dict[uuid.UUID, dict[str, float | None]] = {i: {} for i in ids}
    reasons: dict[uuid.UUID, dict[str, str]] = {i: {} for i in ids}
    for media_id, metric, value, reason in rows:
        values[media_id][metric] = value
        if reason:
            reasons[media_id][metric] = reason
    return [MediaValues(m, values[m.id], reasons[m.id]) for m in media]


async def get_media(
    session: AsyncSession, workspace_id: uuid.UUID, media_id: uuid.UUID
) -> AnalyticsMedia | None:
    return await session.scalar(
        select(AnalyticsMedia).where(
            AnalyticsMedia.id == media_id, AnalyticsMedia.workspace_id == workspace_id
        )
    )


async def media_history(session: AsyncSession, media_id: uuid.UUID) -> list[MediaInsight]:
    rows = await session.scalars(
        select(MediaInsight)
        .where(MediaInsight.media_id == media_id)
        .order_by(MediaInsight.day, MediaInsight.metric)
    )
    return list(rows.all())
