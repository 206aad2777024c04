"""Every query of analytics. Reads are scoped by workspace; the refresh (a job) writes by
channel id, after the service has loaded the channel."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, delete, func, insert, literal, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from socialsell.accounts.models import Workspace
from socialsell.analytics.followers import FOLLOWERS, NEW_FOLLOWERS, channel_followers
from socialsell.analytics.models import (
    AccountInsight,
    AnalyticsMedia,
    ChannelFollowers,
    DailyRollup,
    MediaInsight,
    RefreshState,
)
from socialsell.channels.models import Channel, ChannelStatus, Platform
from socialsell.settings import ConfigurationError

# Rows per INSERT: well under SQLite's bound-parameter limit (7 columns each).
UPSERT_CHUNK = 500
# The rollup's engagement pair: interactions and reach summed over the channels that have both
# on a day (names no Meta metric has).
PAIR_INTERACTIONS = "engagement.total_interactions"
PAIR_REACH = "engagement.reach"
# The rollup's followers: the channels' walked followers (ChannelFollowers) summed per day;
# ``known`` says how many channels had a number.
FOLLOWERS_WALKED = "followers.walked"


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
    """Store a channel's points, then bring the workspace's rollup (and the channel's walked
    followers) up to date for the days they cover, in the same transaction."""
    points = list(points)
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
    days = [p.day for p in points]
    if days:
        await refresh_rollup(session, channel.workspace_id, min(days), max(days))
    if any(p.metric in (FOLLOWERS, NEW_FOLLOWERS) for p in points):
        await refresh_channel_followers(session, channel.id, channel.workspace_id)


def _rollup_lock_key(workspace_id: uuid.UUID) -> int:
    # A signed 64-bit advisory lock key per workspace.
    return int.from_bytes(workspace_id.bytes[:8], "big", signed=True) ^ 0x0A7A1C5


async def _lock_rollup(session: AsyncSession, workspace_id: uuid.UUID) -> None:
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": _rollup_lock_key(workspace_id)}
        )


async def refresh_channel_followers(
    session: AsyncSession, channel_id: uuid.UUID, workspace_id: uuid.UUID
) -> None:
    """Rewrite a channel's walked followers where they changed, and the rollup's daily sums of
    those days. A new latest reading can change the walk far back (it restarts from there), so
    the whole series is recomputed; usually only the newest days differ."""
    stored = await session.execute(
        select(_ai.metric, _ai.day, _ai.value).where(
            _ai.channel_id == channel_id,
            _ai.metric.in_((FOLLOWERS, NEW_FOLLOWERS)),
            _ai.value.is_not(None),
        )
    )
    snapshots: dict[date, float] = {}
    gains: dict[date, float] = {}
    for metric, day, value in stored:
        (snapshots if metric == FOLLOWERS else gains)[day] = float(value)
    new = channel_followers(snapshots, gains)
    cf = ChannelFollowers.__table__.c
    old = {
        day: value
        for day, value in await session.execute(
            select(cf.day, cf.value).where(cf.channel_id == channel_id)
        )
    }
    changed = [d for d in old.keys() | new.keys() if old.get(d) != new.get(d)]
    if not changed:
        return
    first, last = min(changed), max(changed)
    await session.execute(
        delete(ChannelFollowers).where(cf.channel_id == channel_id, cf.day >= first, cf.day <= last)
    )
    rows = [
        {"channel_id": channel_id, "workspace_id": workspace_id, "day": d, "value": v}
        for d, v in new.items()
        if first <= d <= last
    ]
    for start in range(0, len(rows), UPSERT_CHUNK):
        await session.execute(insert(ChannelFollowers), rows[start : start + UPSERT_CHUNK])
    await _lock_rollup(session, workspace_id)
    r = DailyRollup.__table__.c
    await session.execute(
        delete(DailyRollup).where(
            r.workspace_id == workspace_id,
            r.metric == FOLLOWERS_WALKED,
            r.day >= first,
            r.day <= last,
        )
    )
    sums = (
        select(
            cf.workspace_id,
            literal(FOLLOWERS_WALKED, DailyRollup.metric.type),
            cf.day,
            func.sum(cf.value),
            func.count(cf.value),
            literal(None, DailyRollup.missing_reason.type),
        )
        .where(cf.workspace_id == workspace_id, cf.day >= first, cf.day <= last)
        .group_by(cf.workspace_id, cf.day)
    )
    await session.execute(
        insert(DailyRollup).from_select(
            ["workspace_id", "metric", "day", "value", "known", "missing_reason"], sums
        )
    )


async def refresh_rollup(
    session: AsyncSession, workspace_id: uuid.UUID, first: date, last: date
) -> None:
    """Recompute the workspace's rollup rows of the days ``first`` to ``last`` from the stored
    points of all its channels (so a re-run writes the same rows).

    Two refreshes of one workspace's channels may run at once: each recomputes under a
    per-workspace lock held to its commit, and (read committed) sees what the one before it
    committed, so the last writer of a day leaves that day's complete total. SQLite has one
    writer at a time anyway."""
    await _lock_rollup(session, workspace_id)
    r = DailyRollup.__table__.c
    await session.execute(
        delete(DailyRollup).where(
            r.workspace_id == workspace_id,
            r.day >= first,
            r.day <= last,
            r.metric != FOLLOWERS_WALKED,
        )
    )
    columns = ["workspace_id", "metric", "day", "value", "known", "missing_reason"]
    sums = (
        select(
            _ai.workspace_id,
            _ai.metric,
            _ai.day,
            func.sum(_ai.value),
            func.count(_ai.value),
            func.min(_ai.missing_reason),
        )
        .where(_ai.workspace_id == workspace_id, _ai.day >= first, _ai.day <= last)
        .group_by(_ai.workspace_id, _ai.metric, _ai.day)
    )
    await session.execute(insert(DailyRollup).from_select(columns, sums))
    reach = AccountInsight.__table__.alias("reach")
    ti = AccountInsight.__table__.alias("ti")
    for name, summed in ((PAIR_INTERACTIONS, ti.c.value), (PAIR_REACH, reach.c.value)):
        pairs = (
            select(
                reach.c.workspace_id,
                literal(name, DailyRollup.metric.type),
                reach.c.day,
                func.sum(summed),
                func.count(),
                literal(None, DailyRollup.missing_reason.type),
            )
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
                reach.c.day >= first,
                reach.c.day <= last,
                reach.c.value.is_not(None),
                ti.c.value.is_not(None),
            )
            .group_by(reach.c.workspace_id, reach.c.day)
        )
        await session.execute(insert(DailyRollup).from_select(columns, pairs))


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
        # The tick's schedule_missing_refreshes may insert the same row at the same moment (a
        # channel just connected): insert-or-keep, then read whichever won.
        await session.execute(
            _insert_for(session, RefreshState.__table__)
            .values(
                channel_id=channel.id,
                workspace_id=channel.workspace_id,
                next_refresh_at=now,
                backfill_days=backfill_days,
            )
            .on_conflict_do_nothing(index_elements=["channel_id"])
        )
        state = await get_refresh_state(session, channel.id)
        if state is None:  # pragma: no cover - just inserted or kept
            raise RuntimeError(f"no refresh state for channel {channel.id}")
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


async def rollup_sums(
    session: AsyncSession, workspace_id: uuid.UUID, start: date, end: date, metrics: Sequence[str]
) -> list[tuple[str, date, float | None, int, str | None]]:
    """:func:`daily_sums` over every channel of the workspace, read from the rollup."""
    r = DailyRollup.__table__.c
    stmt = select(r.metric, r.day, r.value, r.known, r.missing_reason).where(
        r.workspace_id == workspace_id, r.metric.in_(metrics), r.day >= start, r.day <= end
    )
    return [tuple(row) for row in await session.execute(stmt)]


async def rollup_pairs(
    session: AsyncSession, workspace_id: uuid.UUID, start: date, end: date
) -> list[tuple[date, float, float]]:
    """:func:`engagement_pairs` over every channel of the workspace, read from the rollup."""
    r = DailyRollup.__table__.c
    rows = await session.execute(
        select(r.metric, r.day, r.value).where(
            r.workspace_id == workspace_id,
            r.metric.in_((PAIR_INTERACTIONS, PAIR_REACH)),
            r.day >= start,
            r.day <= end,
            r.known > 0,
        )
    )
    got: dict[date, dict[str, float]] = {}
    for metric, day, value in rows:
        got.setdefault(day, {})[metric] = float(value)
    return [
        (day, v[PAIR_INTERACTIONS], v[PAIR_REACH])
        for day, v in got.items()
        if PAIR_INTERACTIONS in v and PAIR_REACH in v
    ]


async def rollup_followers(
    session: AsyncSession, workspace_id: uuid.UUID, start: date, end: date
) -> dict[date, tuple[float, int]]:
    """Per day: the channels' walked followers summed, and how many channels had a number."""
    r = DailyRollup.__table__.c
    rows = await session.execute(
        select(r.day, r.value, r.known).where(
            r.workspace_id == workspace_id,
            r.metric == FOLLOWERS_WALKED,
            r.day >= start,
            r.day <= end,
        )
    )
    return {day: (float(value or 0), int(known)) for day, value, known in rows}


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
    """Each channel's last known value of ``metric`` on or before a day (e.g. followers).

    Per channel, the latest day is found on the primary key (channel, metric, day) from the
    end: a few index pages per channel, however long the history."""
    ai = AccountInsight.__table__.alias("ai")
    latest = (
        select(func.max(ai.c.day))
        .where(
            ai.c.channel_id == Channel.id,
            ai.c.metric == metric,
            ai.c.day <= on_or_before,
            ai.c.value.is_not(None),
        )
        .correlate(Channel)
        .scalar_subquery()
    )
    stmt = (
        select(Channel.id, _ai.day, _ai.value)
        .join(
            AccountInsight.__table__,
            and_(_ai.channel_id == Channel.id, _ai.metric == metric, _ai.day == latest),
        )
        .where(Channel.workspace_id == workspace_id)
    )
    if channel_ids is not None:
        stmt = stmt.where(Channel.id.in_(channel_ids))
    rows = await session.execute(stmt)
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
    metrics: Sequence[str] | None = None,
) -> list[MediaValues]:
    """Posts with the latest reading of each of their metrics (or only of ``metrics``)."""
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
    if metrics is not None and not metrics:
        return [MediaValues(m, {}, {}) for m in media]
    # Each (post, metric)'s latest day, looked up on the primary key per row: a grouped join
    # misestimates and scans the whole table.
    mi = MediaInsight.__table__.alias("mi")
    latest = (
        select(func.max(mi.c.day))
        .where(mi.c.media_id == MediaInsight.media_id, mi.c.metric == MediaInsight.metric)
        .correlate(MediaInsight)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(
            MediaInsight.media_id,
            MediaInsight.metric,
            MediaInsight.value,
            MediaInsight.missing_reason,
        ).where(
            MediaInsight.media_id.in_(ids),
            MediaInsight.day == latest,
            *([MediaInsight.metric.in_(metrics)] if metrics is not None else []),
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
