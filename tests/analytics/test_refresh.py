"""Collecting insights from the sandbox: on connect within one tick, upserted (a re-run changes
nothing), missing numbers stored as missing with a reason, failures kept to what they concern."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI

from meta_sandbox.testing import Sandbox
from socialsell.analytics import service
from socialsell.db import utcnow
from tests.analytics.helpers import (
    account_points,
    media_points,
    media_rows,
    refresh_now,
    refresh_state,
    tick_and_drain,
)
from tests.channels.conftest import Consent
from tests.helpers.factories import ApiUser
from tests.helpers.instagram import connect_shop


async def test_a_new_channel_is_refreshed_on_the_next_tick_then_daily_at_two(
    app: FastAPI,
    client: httpx.AsyncClient,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
) -> None:
    shop = await connect_shop(client, sandbox, consent, seller)
    sandbox.client.post(
        f"/_sandbox/instagram/accounts/{shop.ig_id}/media", json={"caption": "New mugs"}
    ).raise_for_status()
    sandbox.client.post(
        f"/_sandbox/instagram/accounts/{shop.ig_id}/media",
        json={"caption": "Reel", "media_product_type": "REELS"},
    ).raise_for_status()
    sandbox.advance(6 * 3600)  # the posts have a few hours of engagement

    assert await tick_and_drain(app) == 1

    points = await account_points(app, shop.channel_id)
    today = service.meta_day(utcnow())
    by_metric: dict[str, list[float | None]] = {}
    for p in points:
        by_metric.setdefault(p.metric, []).append(p.value)
    # The first refresh backfills 10 complete days of every account metric of the reference.
    for metric in service.ACCOUNT_METRICS:
        assert len(by_metric[metric]) == 10, metric
    assert all(v is not None and v > 0 for v in by_metric["reach"])
    assert all(v is not None for v in by_metric["total_interactions"])
    # New followers per day (time series) and the profile's count on today's row.
    assert len(by_metric[service.NEW_FOLLOWERS]) == 10
    followers = [p for p in points if p.metric == service.FOLLOWERS]
    assert [(p.day, p.value) for p in followers] == [(today, 1200.0)]
    assert {p.day for p in points if p.metric == "reach"} == {
        today - timedelta(days=i) for i in range(1, 11)
    }

    media = await media_rows(app, shop.channel_id)
    assert sorted(m.media_product_type or "" for m in media) == ["FEED", "REELS"]
    mpoints = await media_points(app)
    feed = next(m for m in media if m.media_product_type == "FEED")
    feed_metrics = {p.metric: p.value for p in mpoints if p.media_id == feed.id}
    assert set(feed_metrics) == set(service.MEDIA_METRICS["FEED"])
    assert feed_metrics["reach"] is not None
    assert feed_metrics["reach"] > 0

    # Scheduled for 02:00 in the workspace's timezone (plus the spread), not again now.
    state = await refresh_state(app, shop.channel_id)
    assert state is not None
    assert state.last_refreshed_at is not None
    local = state.next_refresh_at.astimezone(ZoneInfo("UTC"))
    assert local > utcnow()
    assert 2 <= local.hour <= 3
    assert state.backfill_days == 3
    assert await tick_and_drain(app) == 0


async def test_a_rerun_changes_nothing(
    app: FastAPI, client: httpx.AsyncClient, sandbox: Sandbox, consent: Consent, seller: ApiUser
) -> None:
    shop = await connect_shop(client, sandbox, consent, seller)
    await refresh_now(app, shop.channel_id, days=5)
    first = [
        (p.metric, p.day, p.value, p.missing_reason)
        for p in await account_points(app, shop.channel_id)
    ]
    await refresh_now(app, shop.channel_id, days=5)
    again = [
        (p.metric, p.day, p.value, p.missing_reason)
        for p in await account_points(app, shop.channel_id)
    ]
    assert again == first
    assert len(first) == 5 * len(service.ACCOUNT_METRICS) + 5 + 1


async def test_a_deprecated_metric_is_recorded_missing_and_the_rest_stored(
    app: FastAPI,
    client: httpx.AsyncClient,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shop = await connect_shop(client, sandbox, consent, seller)
    monkeypatch.setattr(service, "ACCOUNT_METRICS", (*service.ACCOUNT_METRICS, "impressions"))

    report = await refresh_now(app, shop.channel_id, days=3)

    assert report is not None
    assert report.stopped is None
    points = await account_points(app, shop.channel_id)
    impressions = [p for p in points if p.metric == "impressions"]
    assert len(impressions) == 3
    assert all(p.value is None for p in impressions)
    assert all("views" in (p.missing_reason or "") for p in impressions)
    reach = [p for p in points if p.metric == "reach"]
    assert len(reach) == 3
    assert all(p.value is not None for p in reach)


async def test_a_failing_call_leaves_the_other_days_stored(
    app: FastAPI, client: httpx.AsyncClient, sandbox: Sandbox, consent: Consent, seller: ApiUser
) -> None:
    shop = await connect_shop(client, sandbox, consent, seller)
    # The first insights call fails on every attempt (1 + 3 retries).
    sandbox.fault("transient", count=4, path_contains="/insights")

    report = await refresh_now(app, shop.channel_id, days=3)

    assert report is not None
    assert report.stopped is None
    points = await account_points(app, shop.channel_id)
    reach = sorted((p for p in points if p.metric == "reach"), key=lambda p: p.day)
    assert reach[0].value is None
    assert (reach[0].missing_reason or "").startswith("Instagram answered with an error")
    assert all(p.value is not None for p in reach[1:])
    followers = [p for p in points if p.metric == service.FOLLOWERS]
    assert followers[0].value == 1200.0

    # A later refresh fills the day in; a later failure never erases a stored number.
    await refresh_now(app, shop.channel_id, days=3)
    sandbox.fault("transient", count=4, path_contains="/insights")
    await refresh_now(app, shop.channel_id, days=3)
    reach = [p for p in await account_points(app, shop.channel_id) if p.metric == "reach"]
    assert all(p.value is not None and p.missing_reason is None for p in reach)


async def test_a_rate_limit_keeps_what_was_fetched_and_comes_back_later(
    app: FastAPI, client: httpx.AsyncClient, sandbox: Sandbox, consent: Consent, seller: ApiUser
) -> None:
    shop = await connect_shop(client, sandbox, consent, seller)
    sandbox.fault("rate_limit", count=1, path_contains="/me")

    report = await refresh_now(app, shop.channel_id, days=2)

    assert report is not None
    assert report.stopped is not None
    points = await account_points(app, shop.channel_id)
    assert len([p for p in points if p.metric == "reach" and p.value is not None]) == 2
    state = await refresh_state(app, shop.channel_id)
    assert state is not None
    assert state.last_error
    assert "rate limited" in state.last_error
    assert state.lease_until is None
    assert state.next_refresh_at > datetime.now(UTC)
    assert state.backfill_days == app.state.settings.analytics_backfill_days
