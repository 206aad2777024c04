"""Analytics: collecting insights from Meta into daily snapshots, and the figures computed from
them (totals, engagement rate, follower growth, best posts, period-over-period change).

Definitions live here once (see docs/analytics.md):

- **engagement rate** = interactions / reach, over the days (and channels) where both are
  known; interactions is Meta's ``total_interactions``. A post's rate is its own
  ``total_interactions / reach``.
- **followers** on a day: the profile's ``followers_count`` read on that day, or, before the
  last reading, that reading minus the new followers (Meta's ``follower_count``) of the days
  after it. Unknown when a needed day has no number.
- **change** = (this period - previous period) / previous period, in percent; the previous
  period is the same number of days just before.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession

from socialsell import db
from socialsell.accounts.service import Principal
from socialsell.analytics import repository
from socialsell.analytics.cache import Cache
from socialsell.analytics.followers import follower_series
from socialsell.analytics.models import AnalyticsMedia
from socialsell.analytics.repository import DailyRow, MediaValues, Point
from socialsell.analytics.schemas import (
    ChannelAnalytics,
    ChannelSummary,
    EngagementSummary,
    FollowersSummary,
    MetricTotal,
    MissingMetric,
    Overview,
    PostAnalytics,
    PostPoint,
    PostRead,
    Series,
)
from socialsell.channels import service as channels
from socialsell.channels.errors import ChannelUnavailable
from socialsell.channels.models import Channel, ChannelStatus, Platform
from socialsell.core.crypto import SecretBox
from socialsell.core.errors import NotFound, ValidationFailed
from socialsell.meta import MetaClient
from socialsell.meta.errors import InvalidParameter, MetaError, RateLimited
from socialsell.meta.instagram import InstagramClient
from socialsell.meta.models import InsightMetric
from socialsell.settings import Settings

# Account metrics of reference section 4: period=day, metric_type=total_value.
ACCOUNT_METRICS: tuple[str, ...] = (
    "reach",
    "views",
    "total_interactions",
    "accounts_engaged",
    "likes",
    "comments",
    "saves",
    "shares",
    "replies",
    "reposts",
    "profile_links_taps",
    "follows_and_unfollows",
)
# New followers per day: time_series only, 30 days back at most, never today.
NEW_FOLLOWERS = "follower_count"
FOLLOWER_COUNT_DAYS = 29
# The profile's followers_count, stored on the day it was read.
FOLLOWERS = "followers"
# Media metrics per product type (period is always lifetime).
MEDIA_METRICS: dict[str, tuple[str, ...]] = {
    "FEED": (
        "reach",
        "views",
        "likes",
        "comments",
        "saved",
        "shares",
        "total_interactions",
        "follows",
        "profile_visits",
    ),
    "REELS": (
        "reach",
        "views",
        "likes",
        "comments",
        "saved",
        "shares",
        "total_interactions",
        "ig_reels_avg_watch_time",
    ),
    "STORY": ("reach", "views", "replies", "shares", "total_interactions", "follows"),
}
POST_SORTS = (
    "engagement_rate",
    "reach",
    "views",
    "total_interactions",
    "likes",
    "comments",
    "saved",
    "shares",
    "posted_at",
)
SUMMED = (
    "reach",
    "views",
    "total_interactions",
    "accounts_engaged",
    "likes",
    "comments",
    "saves",
    "shares",
    NEW_FOLLOWERS,
)
MAX_RANGE_DAYS = 731
REFRESH_LEASE = timedelta(minutes=15)
CLAIM_BATCH = 200

NO_DATA = "Instagram sent no number for this day (it can arrive up to 48 hours late)."
NOT_SERVED_OLD = "Instagram serves new followers for the last 30 days only."
NO_FOLLOWER_DATA = (
    "Instagram sent no number for this day (it can arrive up to 48 hours late, and new "
    "followers are only given from 100 followers on)."
)
PACIFIC = ZoneInfo("America/Los_Angeles")


def meta_day(moment: datetime) -> date:
    """Meta cuts days at midnight Pacific time."""
    return moment.astimezone(PACIFIC).date()


def day_window(day: date) -> tuple[datetime, datetime]:
    # 08:00 to 06:59:59 UTC the next day lies inside Meta's day whether Pacific time is UTC-7 or
    # UTC-8, so the total never spills into a neighbouring day.
    since = datetime.combine(day, time(8), UTC)
    return since, since + timedelta(hours=23, minutes=-1, seconds=59)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def next_daily_run(now: datetime, tz_name: str, hour: int, jitter_minutes: int) -> datetime:
    """The next ``hour`` o'clock in the workspace's timezone, plus a random spread."""
    zone = _zone(tz_name)
    local = now.astimezone(zone)
    candidate = datetime.combine(local.date(), time(hour), zone)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), time(hour), zone)
    spread = timedelta(seconds=random.uniform(0, jitter_minutes * 60))  # noqa: S311 - load spreading
    return candidate.astimezone(UTC) + spread


# --- collecting ----------------------------------------------------------------------------------


@dataclass
class RefreshReport:
    channel_id: uuid.UUID
    days: int = 0
    stored: int = 0
    missing: int = 0
    media: int = 0
    stopped: str | None = None
    errors: list[str] = field(default_factory=list)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _metric_value(item: InsightMetric) -> float | None:
    if item.total_value is not None and item.total_value.value is not None:
        return _number(item.total_value.value)
    if item.values:
        return _number(item.values[0].value)
    return None


class _Collector:
    """One refresh of one channel: every call through channels.call_meta (so a dead token marks
    the channel), each failure kept to the metrics and days it concerns."""

    def __init__(
        self, session: AsyncSession, meta: MetaClient, box: SecretBox, channel: Channel
    ) -> None:
        self.session = session
        self.meta = meta
        self.box = box
        self.channel = channel
        self.bad: dict[str, str] = {}  # metric -> Meta's refusal, learned during this refresh

    async def call(self, action: Callable[[InstagramClient], Awaitable[Any]]) -> Any:
        return await channels.call_meta(self.session, self.meta, self.box, self.channel, action)

    async def _insights(
        self,
        metrics: Sequence[str],
        fetch: Callable[
            [Sequence[str]], Callable[[InstagramClient], Awaitable[list[InsightMetric]]]
        ],
    ) -> tuple[dict[str, float | None], dict[str, str]]:
        """Values by metric, and reasons for those not served. One refused metric spoils
        Meta's whole batch, so on a refusal each metric is asked alone to keep the others."""
        reasons: dict[str, str] = {m: self.bad[m] for m in metrics if m in self.bad}
        wanted = [m for m in metrics if m not in self.bad]
        values: dict[str, float | None] = {}
        if not wanted:
            return values, reasons
        try:
            items = await self.call(fetch(wanted))
        except InvalidParameter as exc:
            if len(wanted) == 1:
                self.bad[wanted[0]] = exc.message
                reasons[wanted[0]] = exc.message
                return values, reasons
            for metric in wanted:
                one, why = await self._insights([metric], fetch)
                values.update(one)
                reasons.update(why)
            return values, reasons
        except (RateLimited, ChannelUnavailable):
            raise
        except MetaError as exc:
            reason = f"Instagram answered with an error: {exc.message}"
            return values, {**reasons, **dict.fromkeys(wanted, reason)}
        for item in items:
            if item.name in wanted:
                values[item.name] = _metric_value(item)
        return values, reasons

    async def account_day(self, day: date) -> list[Point]:
        since, until = day_window(day)

        def fetch(ms: Sequence[str]) -> Callable[[InstagramClient], Awaitable[list[InsightMetric]]]:
            return lambda c: c.get_account_insights(
                ms, period="day", metric_type="total_value", since=since, until=until
            )

        values, reasons = await self._insights(ACCOUNT_METRICS, fetch)
        return [
            Point(m, day, values.get(m), reasons.get(m, NO_DATA if values.get(m) is None else None))
            for m in ACCOUNT_METRICS
        ]

    async def new_followers(self, first: date, last: date, today: date) -> list[Point]:
        served_from = today - timedelta(days=FOLLOWER_COUNT_DAYS)
        points = [
            Point(NEW_FOLLOWERS, first + timedelta(days=i), None, NOT_SERVED_OLD)
            for i in range((min(last, served_from - timedelta(days=1)) - first).days + 1)
        ]
        start = max(first, served_from)
        if start > last:
            return points
        since, _ = day_window(start)
        _, until = day_window(last)
        try:
            items = await self.call(
                lambda c: c.get_account_insights(
                    [NEW_FOLLOWERS],
                    period="day",
                    metric_type="time_series",
                    since=since,
                    until=until,
                )
            )
        except (RateLimited, ChannelUnavailable):
            raise
        except MetaError as exc:
            reason = f"Instagram answered with an error: {exc.message}"
            items, failed = [], reason
        else:
            failed = NO_FOLLOWER_DATA
        got: dict[date, float | None] = {}
        for item in items:
            for value in item.values:
                if value.end_time is not None:
                    # end_time is the end of the day: the UTC date a day before is Meta's day.
                    got[(value.end_time - timedelta(days=1)).astimezone(UTC).date()] = _number(
                        value.value
                    )
        for i in range((last - start).days + 1):
            day = start + timedelta(days=i)
            value = got.get(day)
            points.append(Point(NEW_FOLLOWERS, day, value, None if value is not None else failed))
        return points

    async def media(
        self, settings: Settings, now: datetime, today: date
    ) -> list[tuple[AnalyticsMedia, list[Point]]]:
        page = await self.call(lambda c: c.list_media(limit=settings.analytics_media_limit))
        fresh_after = now - timedelta(days=settings.analytics_media_days)
        results = []
        for item in page.data:
            thumbnail = item.thumbnail_url or (
                item.media_url if item.media_type in {"IMAGE", "CAROUSEL_ALBUM"} else None
            )
            row = await repository.upsert_media(
                self.session,
                self.channel,
                {
                    "external_id": item.id,
                    "media_type": item.media_type,
                    "media_product_type": item.media_product_type,
                    "caption": (item.caption or "")[:2200] or None,
                    "permalink": item.permalink,
                    "thumbnail_url": thumbnail,
                    "posted_at": item.timestamp,
                },
                now,
            )
            if item.timestamp is not None and item.timestamp < fresh_after:
                continue
            product = (
                item.media_product_type if item.media_product_type in MEDIA_METRICS else "FEED"
            )
            metrics = MEDIA_METRICS[product]
            media_id = item.id

            def fetch(
                ms: Sequence[str], media_id: str = media_id
            ) -> Callable[[InstagramClient], Awaitable[list[InsightMetric]]]:
                return lambda c: c.get_media_insights(media_id, ms)

            # Refusals of one post (a story with too few viewers) say nothing about the next.
            self.bad = {}
            values, reasons = await self._insights(metrics, fetch)
            results.append(
                (
                    row,
                    [
                        Point(
                            m,
                            today,
                            values.get(m),
                            reasons.get(m, NO_DATA if values.get(m) is None else None),
                        )
                        for m in metrics
                    ],
                )
            )
        return results


async def refresh_channel(
    session: AsyncSession,
    meta: MetaClient,
    box: SecretBox,
    settings: Settings,
    cache: Cache,
    channel_id: uuid.UUID,
    *,
    days: int | None = None,
    now: datetime | None = None,
) -> RefreshReport | None:
    """Fetch and store a channel's insights for its due days; idempotent (upserts).

    Returns None when the channel is gone or not refreshable. A rate limit or a dead token
    stops the refresh but keeps what was fetched, and reschedules it.
    """
    now = now or db.utcnow()
    channel = await session.get(Channel, channel_id, populate_existing=True)
    if channel is None:
        return None
    state = await repository.ensure_refresh_state(
        session, channel, now, settings.analytics_backfill_days
    )
    if channel.platform != Platform.instagram or channel.status != ChannelStatus.active:
        state.lease_until = None
        state.last_error = "The channel is not connected."
        return None
    report = RefreshReport(channel.id)
    today = meta_day(now)
    last = today - timedelta(days=1)
    span = days or state.backfill_days
    first = last - timedelta(days=span - 1)
    report.days = span
    collector = _Collector(session, meta, box, channel)
    account: list[Point] = []
    media: list[tuple[AnalyticsMedia, list[Point]]] = []
    try:
        for i in range(span):
            account.extend(await collector.account_day(first + timedelta(days=i)))
        account.extend(await collector.new_followers(first, last, today))
        profile = await collector.call(lambda c: c.get_profile())
        followers = _number(profile.followers_count)
        account.append(
            Point(FOLLOWERS, today, followers, None if followers is not None else NO_DATA)
        )
        media = await collector.media(settings, now, today)
    except RateLimited as exc:
        report.stopped = f"rate limited for {int(exc.retry_after_seconds)} s"
        state.next_refresh_at = now + timedelta(seconds=max(exc.retry_after_seconds, 60))
    except ChannelUnavailable:
        report.stopped = "the channel's token no longer works"
    await repository.upsert_account_points(session, channel, account, now)
    for row, points in media:
        await repository.upsert_media_points(session, row, points, now)
    report.stored = sum(1 for p in account if p.value is not None) + sum(
        1 for _, ps in media for p in ps if p.value is not None
    )
    report.missing = sum(1 for p in account if p.value is None) + sum(
        1 for _, ps in media for p in ps if p.value is None
    )
    report.media = len(media)
    state.lease_until = None
    state.last_error = report.stopped
    if report.stopped is None:
        tz = await repository.workspace_timezone(session, channel.workspace_id)
        state.last_refreshed_at = now
        state.backfill_days = settings.analytics_daily_days
        state.next_refresh_at = next_daily_run(
            now, tz, settings.analytics_refresh_hour, settings.analytics_refresh_jitter_minutes
        )
    await session.flush()
    workspace_id = channel.workspace_id

    async def invalidate() -> None:
        await cache.invalidate(workspace_id)

    db.after_commit(session, invalidate)
    return report


async def stored_days(session: AsyncSession, channel_id: uuid.UUID) -> int:
    """Days with a stored reach number for a channel (the demo checks its history with it)."""
    return await repository.count_days(session, channel_id, "reach")


async def claim_due_channels(
    session: AsyncSession, settings: Settings, now: datetime
) -> Sequence[uuid.UUID]:
    """New channels get a schedule due now; then due channels are claimed with a lease."""
    await repository.add_missing_refresh_states(session, now, settings.analytics_backfill_days)
    return await repository.claim_due_refreshes(session, now, REFRESH_LEASE, CLAIM_BATCH)


async def get_refreshable_channel(
    session: AsyncSession, principal: Principal, channel_id: uuid.UUID
) -> Channel:
    channel = await repository.get_channel(session, principal.workspace_id, channel_id)
    if channel is None or channel.platform != Platform.instagram:
        raise NotFound("Channel not found.")
    if channel.status != ChannelStatus.active:
        raise ValidationFailed("Reconnect this channel before refreshing its numbers.")
    return channel


async def request_refresh(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    channel_id: uuid.UUID,
    now: datetime | None = None,
) -> bool:
    """Claim a channel for a refresh now (the caller kicks the job after commit). False when a
    refresh is already running."""
    now = now or db.utcnow()
    channel = await get_refreshable_channel(session, principal, channel_id)
    state = await repository.ensure_refresh_state(
        session, channel, now, settings.analytics_backfill_days
    )
    if state.lease_until is not None and state.lease_until > now:
        return False
    state.lease_until = now + REFRESH_LEASE
    await session.flush()
    return True


# --- computing -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DateRange:
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def previous(self) -> DateRange:
        return DateRange(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def each(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]


def resolve_range(
    start: date | None, end: date | None, *, days: int = 30, now: datetime | None = None
) -> DateRange:
    """The requested range, or the last ``days`` complete days."""
    last_complete = meta_day(now or db.utcnow()) - timedelta(days=1)
    end = end or (
        last_complete if start is None else min(last_complete, start + timedelta(days=days - 1))
    )
    start = start or end - timedelta(days=days - 1)
    if start > end:
        raise ValidationFailed("The start of the range must not be after its end.")
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise ValidationFailed(f"A range covers {MAX_RANGE_DAYS} days at most.")
    return DateRange(start, end)


def _pct(current: float | None, previous: float | None) -> float | None:
    if current is None or previous is None or previous == 0:
        return None
    return round((current - previous) / previous * 100, 1)


def _rate(interactions: float, reach: float) -> float | None:
    return round(interactions / reach, 6) if reach > 0 else None


def engagement_rate(rows: Sequence[DailyRow]) -> float | None:
    """Interactions / reach over the (channel, day) pairs where both are known."""
    ti: dict[tuple[uuid.UUID, date], float] = {}
    reach: dict[tuple[uuid.UUID, date], float] = {}
    for r in rows:
        if r.value is None:
            continue
        if r.metric == "total_interactions":
            ti[(r.channel_id, r.day)] = r.value
        elif r.metric == "reach":
            reach[(r.channel_id, r.day)] = r.value
    both = ti.keys() & reach.keys()
    if not both:
        return None
    return _rate(sum(ti[k] for k in both), sum(reach[k] for k in both))


def post_read(mv: MediaValues) -> PostRead:
    m = mv.media
    ti, reach = mv.values.get("total_interactions"), mv.values.get("reach")
    return PostRead(
        id=m.id,
        channel_id=m.channel_id,
        external_id=m.external_id,
        media_type=m.media_type,
        media_product_type=m.media_product_type,
        caption=m.caption,
        permalink=m.permalink,
        thumbnail_url=m.thumbnail_url,
        posted_at=m.posted_at,
        metrics=mv.values,
        missing=mv.reasons,
        engagement_rate=_rate(ti, reach) if ti is not None and reach is not None else None,
    )


def sort_posts(posts: list[PostRead], sort: str) -> list[PostRead]:
    if sort not in POST_SORTS:
        raise ValidationFailed(f"sort must be one of: {', '.join(POST_SORTS)}.")

    def key(p: PostRead) -> tuple[bool, float]:
        if sort == "posted_at":
            v = p.posted_at.timestamp() if p.posted_at else None
        elif sort == "engagement_rate":
            v = p.engagement_rate
        else:
            v = p.metrics.get(sort)
        return (v is not None, v or 0.0)

    return sorted(posts, key=key, reverse=True)


def _sort_value(mv: MediaValues, sort: str) -> tuple[bool, float]:
    """:func:`sort_posts`'s key, from the stored values (before a PostRead is built)."""
    if sort == "posted_at":
        v = mv.media.posted_at.timestamp() if mv.media.posted_at else None
    elif sort == "engagement_rate":
        ti, reach = mv.values.get("total_interactions"), mv.values.get("reach")
        v = _rate(ti, reach) if ti is not None and reach is not None else None
    else:
        v = mv.values.get(sort)
    return (v is not None, v or 0.0)


async def _best_posts(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    *,
    posted_from: datetime,
    posted_to: datetime,
    channel_ids: Sequence[uuid.UUID] | None,
    sort: str,
    top: int,
) -> list[PostRead]:
    """The period's posts ranked by ``sort`` (as :func:`sort_posts` ranks them), reading only
    the metrics the ranking needs for every post and all of them for the ``top`` shown."""
    if sort not in POST_SORTS:
        raise ValidationFailed(f"sort must be one of: {', '.join(POST_SORTS)}.")
    needed: tuple[str, ...] = {
        "posted_at": (),
        "engagement_rate": ("total_interactions", "reach"),
    }.get(sort, (sort,))
    candidates = await repository.media_with_latest(
        session,
        workspace_id,
        posted_from=posted_from,
        posted_to=posted_to,
        channel_ids=channel_ids,
        metrics=needed,
    )
    ranked = sorted(candidates, key=lambda mv: _sort_value(mv, sort), reverse=True)[:top]
    if not ranked:
        return []
    full = await repository.media_with_latest(
        session, workspace_id, media_ids=[mv.media.id for mv in ranked], limit=top
    )
    by_id = {mv.media.id: mv for mv in full}
    return [post_read(by_id[mv.media.id]) for mv in ranked if mv.media.id in by_id]


def _summary(
    channel: Channel, followers: float | None, states: dict[uuid.UUID, Any]
) -> ChannelSummary:
    state = states.get(channel.id)
    return ChannelSummary(
        id=channel.id,
        label=channel.label,
        status=str(channel.status),
        followers=followers,
        last_refreshed_at=state.last_refreshed_at if state else None,
        next_refresh_at=state.next_refresh_at if state else None,
        last_error=state.last_error if state else None,
    )


async def compute_overview(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    rng: DateRange,
    channel_id: uuid.UUID | None,
    sort: str,
    top: int,
    *,
    from_rollup: bool | None = None,
) -> Overview:
    """The overview, uncached. Without a channel filter the daily sums and the engagement pairs
    come from the workspace's rollup (a row per metric and day) unless ``from_rollup`` is
    False; with one, from the channel's own rows. Both give the same figures."""
    if from_rollup is None:
        from_rollup = channel_id is None
    chans = await repository.workspace_channels(session, workspace_id, channel_id)
    ids = [c.id for c in chans]
    scope = ids if channel_id else None
    prev = rng.previous
    days = rng.each()
    sums: list[tuple[str, date, float | None, int, str | None]] = []
    pairs: list[tuple[date, float, float]] = []
    if ids and from_rollup and channel_id is None:
        sums = await repository.rollup_sums(session, workspace_id, prev.start, rng.end, SUMMED)
        pairs = await repository.rollup_pairs(session, workspace_id, prev.start, rng.end)
    elif ids:
        sums = await repository.daily_sums(
            session, workspace_id, prev.start, rng.end, SUMMED, scope
        )
        pairs = await repository.engagement_pairs(session, workspace_id, prev.start, rng.end, scope)
    snapshots = (
        await repository.latest_account_values(session, workspace_id, FOLLOWERS, date.max, scope)
        if ids
        else {}
    )
    # Followers walk back from each channel's latest reading (which may lie after the range).
    anchor = max((d for d, _ in snapshots.values()), default=rng.end)
    walked: dict[date, tuple[float, int]] | None = None
    follower_rows: list[tuple[uuid.UUID, str, date, float]] = []
    if ids and from_rollup and channel_id is None:
        walked = await repository.rollup_followers(session, workspace_id, prev.start, rng.end)
    elif ids:
        follower_rows = await repository.known_values(
            session,
            workspace_id,
            prev.start,
            max(anchor, rng.end),
            (NEW_FOLLOWERS, FOLLOWERS),
            scope,
        )

    by_day: dict[str, dict[date, float]] = defaultdict(dict)
    totals_now: dict[str, float] = defaultdict(float)
    totals_before: dict[str, float] = defaultdict(float)
    counted: dict[str, int] = defaultdict(int)
    counted_before: dict[str, int] = defaultdict(int)
    reasons: dict[str, str] = {}
    for metric, day, total, known, reason in sums:
        if day >= rng.start:
            counted[metric] += known
            if known:
                by_day[metric][day] = float(total or 0)
                totals_now[metric] += float(total or 0)
            if reason and metric not in reasons:
                reasons[metric] = reason
        elif known:
            counted_before[metric] += known
            totals_before[metric] += float(total or 0)
    totals: list[MetricTotal] = []
    missing: dict[str, tuple[int, str]] = {}
    for metric in SUMMED:
        missing_days = max(0, len(ids) * rng.days - counted[metric]) if ids else 0
        total = totals_now[metric] if counted[metric] else None
        before = totals_before[metric] if counted_before[metric] else None
        totals.append(
            MetricTotal(
                metric=metric,
                value=total,
                previous=before,
                change_pct=_pct(total, before),
                missing_days=missing_days,
            )
        )
        if missing_days:
            missing[metric] = (missing_days, reasons.get(metric, NO_DATA))

    pair = {d: (t, r) for d, t, r in pairs}
    now_pairs = [pair[d] for d in days if d in pair]
    before_pairs = [v for d, v in pair.items() if d < rng.start]
    rate = _rate(sum(t for t, _ in now_pairs), sum(r for _, r in now_pairs)) if now_pairs else None
    rate_prev = (
        _rate(sum(t for t, _ in before_pairs), sum(r for _, r in before_pairs))
        if before_pairs
        else None
    )

    def series(metric: str) -> list[float | None]:
        return [by_day[metric].get(d) for d in days]

    # Followers: per channel, then summed where every channel is known that day.
    span = [prev.start + timedelta(days=i) for i in range((rng.end - prev.start).days + 1)]
    full_days = [*span, *[rng.end + timedelta(days=i + 1) for i in range((anchor - rng.end).days)]]
    snaps_of: dict[uuid.UUID, dict[date, float]] = defaultdict(dict)
    gains_of: dict[uuid.UUID, dict[date, float]] = defaultdict(dict)
    for cid, metric, day, value in follower_rows:
        (snaps_of if metric == FOLLOWERS else gains_of)[cid][day] = float(value)
    per_channel: list[list[float | None]] = []
    current_followers: float | None = None
    for cid in ids:
        if cid in snapshots:
            current_followers = (current_followers or 0) + snapshots[cid][1]
        if walked is None:
            snaps = snaps_of[cid]
            if cid in snapshots:
                snaps.setdefault(*snapshots[cid])
            per_channel.append(follower_series(full_days, snaps, gains_of[cid])[: len(span)])
    followers_span: list[float | None]
    if walked is not None:
        # The rollup holds the same walk per channel, summed: known when every channel was.
        followers_span = [
            walked[d][0] if d in walked and walked[d][1] == len(ids) else None for d in span
        ]
    else:
        followers_span = [
            None
            if not per_channel or any(v[i] is None for v in per_channel)
            else sum(v[i] or 0 for v in per_channel)
            for i in range(len(span))
        ]
    offset = prev.days
    followers_cur = followers_span[offset:]
    followers_prev = followers_span[:offset]

    def change(values: list[float | None]) -> float | None:
        if len(values) < 2 or values[0] is None or values[-1] is None:
            return None
        return values[-1] - values[0]

    posts = (
        await _best_posts(
            session,
            workspace_id,
            posted_from=datetime.combine(rng.start, time(), UTC),
            posted_to=datetime.combine(rng.end + timedelta(days=2), time(), UTC),
            channel_ids=ids if channel_id else None,
            sort=sort,
            top=top,
        )
        if ids and top > 0
        else []
    )
    states = await repository.refresh_states(session, workspace_id)
    days_with_data = len({d for values in by_day.values() for d in values})
    return Overview(
        start=rng.start,
        end=rng.end,
        previous_start=prev.start,
        previous_end=prev.end,
        channel_id=channel_id,
        channels=[_summary(c, snapshots.get(c.id, (None, None))[1], states) for c in chans],
        totals=totals,
        followers=FollowersSummary(
            current=current_followers,
            change=change(followers_cur),
            previous_change=change(followers_prev),
        ),
        engagement=EngagementSummary(
            rate=rate, previous=rate_prev, change_pct=_pct(rate, rate_prev)
        ),
        series=Series(
            days=days,
            followers=followers_cur,
            new_followers=series(NEW_FOLLOWERS),
            reach=series("reach"),
            views=series("views"),
            interactions=series("total_interactions"),
            engagement_rate=[_rate(*pair[d]) if d in pair else None for d in days],
        ),
        top_posts=posts,
        missing=[MissingMetric(metric=m, days=n, reason=why) for m, (n, why) in missing.items()],
        days_with_data=days_with_data,
        has_data=days_with_data > 0 or bool(posts),
    )


async def overview(
    session: AsyncSession,
    cache: Cache,
    principal: Principal,
    rng: DateRange,
    channel_id: uuid.UUID | None = None,
    *,
    sort: str = "engagement_rate",
    top: int = 10,
) -> Overview:
    if sort not in POST_SORTS:
        raise ValidationFailed(f"sort must be one of: {', '.join(POST_SORTS)}.")
    if (
        channel_id is not None
        and await repository.get_channel(session, principal.workspace_id, channel_id) is None
    ):
        raise NotFound("Channel not found.")
    # Connecting, disconnecting or losing a channel changes the figures without a refresh: the
    # channels and their statuses are part of the key, so such a change is never served stale.
    chans = await repository.workspace_channels(session, principal.workspace_id)
    signature = hashlib.sha256(
        ",".join(f"{c.id}:{c.status}:{c.label}" for c in chans).encode()
    ).hexdigest()[:16]
    key = f"overview:{rng.start}:{rng.end}:{channel_id}:{sort}:{top}:{signature}"
    cached = await cache.get(principal.workspace_id, key)
    if cached is not None:
        return Overview.model_validate(cached)
    result = await compute_overview(session, principal.workspace_id, rng, channel_id, sort, top)
    await cache.set(principal.workspace_id, key, result.model_dump(mode="json"))
    return result


async def channel_analytics(
    session: AsyncSession, cache: Cache, principal: Principal, channel_id: uuid.UUID, rng: DateRange
) -> ChannelAnalytics:
    result = await overview(session, cache, principal, rng, channel_id)
    if not result.channels:
        raise NotFound("Channel not found.")
    return ChannelAnalytics(channel=result.channels[0], overview=result)


async def post_analytics(
    session: AsyncSession, principal: Principal, media_id: uuid.UUID
) -> PostAnalytics:
    media = await repository.media_with_latest(
        session, principal.workspace_id, media_ids=[media_id], limit=1
    )
    if not media:
        raise NotFound("Post not found.")
    history: dict[str, list[PostPoint]] = defaultdict(list)
    for row in await repository.media_history(session, media_id):
        history[row.metric].append(
            PostPoint(day=row.day, value=row.value, missing_reason=row.missing_reason)
        )
    return PostAnalytics(post=post_read(media[0]), history=dict(history))


async def overview_channels(
    session: AsyncSession, principal: Principal
) -> list[tuple[uuid.UUID, str]]:
    """The channels a filter can pick: id and label."""
    return [
        (c.id, c.label)
        for c in await repository.workspace_channels(session, principal.workspace_id)
    ]


# --- exports -------------------------------------------------------------------------------------

EXPORT_METRICS: tuple[str, ...] = (*ACCOUNT_METRICS, NEW_FOLLOWERS, FOLLOWERS)


async def export_rows(
    session: AsyncSession, principal: Principal, rng: DateRange, channel_id: uuid.UUID | None
) -> tuple[list[str], list[list[Any]]]:
    """One row per channel and day: the header, then the rows (None where missing)."""
    chans = await repository.workspace_channels(session, principal.workspace_id, channel_id)
    if channel_id is not None and not chans:
        raise NotFound("Channel not found.")
    rows = (
        await repository.account_rows(
            session,
            principal.workspace_id,
            rng.start,
            rng.end,
            metrics=EXPORT_METRICS,
            channel_ids=[c.id for c in chans],
        )
        if chans
        else []
    )
    values: dict[tuple[uuid.UUID, date], dict[str, float | None]] = defaultdict(dict)
    for r in rows:
        values[(r.channel_id, r.day)][r.metric] = r.value
    header = ["date", "channel", "channel_id", *EXPORT_METRICS, "engagement_rate"]
    out: list[list[Any]] = []
    for day in rng.each():
        for c in chans:
            v = values.get((c.id, day), {})
            ti, reach = v.get("total_interactions"), v.get("reach")
            rate = _rate(ti, reach) if ti is not None and reach is not None else None
            # The username without its "@": a cell starting with "@" reads as a formula.
            name = c.username or c.name
            out.append(
                [day.isoformat(), name, str(c.id), *(v.get(m) for m in EXPORT_METRICS), rate]
            )
    return header, out
