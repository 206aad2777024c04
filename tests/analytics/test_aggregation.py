"""The figures on a fixed data set, against numbers worked out by hand here."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from openpyxl import load_workbook
from sqlalchemy import select

from socialsell import db
from socialsell.accounts.models import Membership
from socialsell.analytics import repository
from socialsell.analytics.cache import build_cache
from socialsell.analytics.repository import Point
from socialsell.channels.models import Channel, Platform
from tests.helpers.factories import ApiUser, register
from tests.helpers.tenancy import assert_other_workspace_gets_404

START, END = date(2026, 1, 8), date(2026, 1, 14)  # the range; the previous one is Jan 1-7
TODAY = date(2026, 1, 15)
RANGE = f"from={START}&to={END}"


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


async def _workspace_id(app: FastAPI, user: ApiUser) -> uuid.UUID:
    async with app.state.sessionmaker() as session:
        ws = await session.scalar(
            select(Membership.workspace_id).where(Membership.user_id == uuid.UUID(user.user_id))
        )
        assert ws is not None
        return ws


async def seed(app: FastAPI, user: ApiUser) -> dict[str, uuid.UUID]:
    """Channel A: reach 100/day and 10 interactions/day (previous week 50 and 5), 1000
    followers read today, 5 new followers a day. Channel B: reach 200/day, 30 interactions/day
    but Jan 14 not served yet, 500 followers today, 2 new a day; no previous week."""
    workspace_id = await _workspace_id(app, user)
    now = datetime(2026, 1, 15, 12, tzinfo=UTC)
    async with db.unit_of_work(app.state.sessionmaker) as session:
        a = Channel(workspace_id=workspace_id, platform=Platform.instagram, external_id=f"a{uuid.uuid4().hex[:8]}", username="shop_a")  # fmt: skip
        b = Channel(workspace_id=workspace_id, platform=Platform.instagram, external_id=f"b{uuid.uuid4().hex[:8]}", username="shop_b")  # fmt: skip
        session.add_all([a, b])
        await session.flush()
        pa = [Point("reach", d, 100) for d in _days(START, END)]
        pa += [Point("total_interactions", d, 10) for d in _days(START, END)]
        pa += [Point("reach", d, 50) for d in _days(date(2026, 1, 1), date(2026, 1, 7))]
        pa += [Point("total_interactions", d, 5) for d in _days(date(2026, 1, 1), date(2026, 1, 7))]
        pa += [Point("follower_count", d, 5) for d in _days(START, END)]
        pa += [Point("followers", TODAY, 1000)]
        pb = [Point("reach", d, 200) for d in _days(START, END)]
        pb += [Point("total_interactions", d, 30) for d in _days(START, END - timedelta(days=1))]
        pb += [Point("total_interactions", END, None, "late")]
        pb += [Point("follower_count", d, 2) for d in _days(START, END)]
        pb += [Point("followers", TODAY, 500)]
        await repository.upsert_account_points(session, a, pa, now)
        await repository.upsert_account_points(session, b, pb, now)
        p1 = await repository.upsert_media(session, a, {"external_id": "m1", "caption": "Mugs", "media_product_type": "FEED", "posted_at": datetime(2026, 1, 9, 15, tzinfo=UTC)}, now)  # fmt: skip
        p2 = await repository.upsert_media(session, b, {"external_id": "m2", "caption": "Bags", "media_product_type": "FEED", "posted_at": datetime(2026, 1, 10, 15, tzinfo=UTC)}, now)  # fmt: skip
        await repository.upsert_media_points(session, p1, [Point("reach", TODAY, 100), Point("total_interactions", TODAY, 20)], now)  # fmt: skip
        await repository.upsert_media_points(session, p2, [Point("reach", TODAY, 400), Point("total_interactions", TODAY, 40), Point("saved", TODAY, None, "not served")], now)  # fmt: skip
        return {"a": a.id, "b": b.id, "p1": p1.id, "p2": p2.id, "workspace": workspace_id}


@pytest.fixture
async def seller(client: httpx.AsyncClient) -> ApiUser:
    return await register(client, name="Shop Owner")


async def test_overview_numbers(app: FastAPI, client: httpx.AsyncClient, seller: ApiUser) -> None:
    ids = await seed(app, seller)
    r = await client.get(f"/api/v1/analytics/overview?{RANGE}", headers=seller.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    totals = {t["metric"]: t for t in body["totals"]}
    # Reach: 7 x 100 + 7 x 200 = 2100; previous week 7 x 50 = 350; +500 %.
    assert totals["reach"]["value"] == 2100
    assert totals["reach"]["previous"] == 350
    assert totals["reach"]["change_pct"] == 500.0
    # Interactions: 70 + 6 x 30 = 250, with B's Jan 14 missing (never counted as 0).
    assert totals["total_interactions"]["value"] == 250
    assert totals["total_interactions"]["missing_days"] == 1
    assert totals["follower_count"]["value"] == 7 * 5 + 7 * 2
    # Engagement: interactions / reach where both are known: (70 + 180) / (700 + 1200).
    assert body["engagement"]["rate"] == pytest.approx(250 / 1900, abs=1e-6)
    assert body["engagement"]["previous"] == pytest.approx(35 / 350)
    assert body["engagement"]["change_pct"] == pytest.approx(31.6)
    # Followers walked back from today's readings: A 1000 - 5/day, B 500 - 2/day.
    assert body["followers"]["current"] == 1500
    assert body["series"]["followers"] == [1458, 1465, 1472, 1479, 1486, 1493, 1500]
    assert body["followers"]["change"] == 42
    series = body["series"]
    assert series["reach"] == [300] * 7
    assert series["interactions"] == [40] * 6 + [10]
    assert series["engagement_rate"][0] == pytest.approx(40 / 300, abs=1e-6)
    # Jan 14: only A has both numbers, so 10 / 100.
    assert series["engagement_rate"][-1] == pytest.approx(0.1)
    assert {m["metric"]: m["reason"] for m in body["missing"]}["total_interactions"] == "late"
    # Best posts by engagement rate: 20/100 beats 40/400; by reach the other way round.
    assert [p["id"] for p in body["top_posts"]] == [str(ids["p1"]), str(ids["p2"])]
    assert body["top_posts"][0]["engagement_rate"] == pytest.approx(0.2)
    by_reach = await client.get(
        f"/api/v1/analytics/overview?{RANGE}&sort=reach", headers=seller.headers
    )
    assert [p["id"] for p in by_reach.json()["top_posts"]] == [str(ids["p2"]), str(ids["p1"])]

    one = await client.get(
        f"/api/v1/analytics/overview?{RANGE}&channel={ids['a']}", headers=seller.headers
    )
    assert {t["metric"]: t["value"] for t in one.json()["totals"]}["reach"] == 700
    assert one.json()["engagement"]["rate"] == pytest.approx(0.1)


async def test_channel_and_post_routes_and_their_tenancy(
    app: FastAPI, client: httpx.AsyncClient, seller: ApiUser
) -> None:
    ids = await seed(app, seller)
    ch = await client.get(f"/api/v1/analytics/channels/{ids['b']}?{RANGE}", headers=seller.headers)
    assert ch.status_code == 200, ch.text
    assert ch.json()["channel"]["label"] == "@shop_b"
    assert ch.json()["overview"]["followers"]["current"] == 500
    post = await client.get(f"/api/v1/analytics/posts/{ids['p2']}", headers=seller.headers)
    assert post.status_code == 200, post.text
    assert post.json()["post"]["metrics"]["reach"] == 400
    assert post.json()["post"]["missing"] == {"saved": "not served"}
    assert post.json()["history"]["reach"] == [
        {"day": str(TODAY), "value": 400.0, "missing_reason": None}
    ]

    outsider = (await register(client, name="Outsider")).headers
    for method, path in (
        ("GET", f"/api/v1/analytics/channels/{ids['a']}"),
        ("GET", f"/api/v1/analytics/posts/{ids['p1']}"),
        ("POST", f"/api/v1/analytics/channels/{ids['a']}/refresh"),
        ("GET", f"/api/v1/analytics/overview?channel={ids['a']}"),
        ("GET", f"/api/v1/analytics/export.csv?channel={ids['a']}"),
    ):
        await assert_other_workspace_gets_404(client, method, path, outsider_headers=outsider)
    # An outsider's overview is their own, empty one.
    empty = await client.get(f"/api/v1/analytics/overview?{RANGE}", headers=outsider)
    assert empty.json()["has_data"] is False


async def test_exports(app: FastAPI, client: httpx.AsyncClient, seller: ApiUser) -> None:
    await seed(app, seller)
    r = await client.get(f"/api/v1/analytics/export.csv?{RANGE}", headers=seller.headers)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 7 * 2
    last_b = next(row for row in rows if row["date"] == str(END) and row["channel"] == "shop_b")
    assert last_b["reach"] == "200.0"
    assert last_b["total_interactions"] == ""  # missing stays empty, never 0
    x = await client.get(f"/api/v1/analytics/export.xlsx?{RANGE}", headers=seller.headers)
    assert x.status_code == 200
    sheet = load_workbook(io.BytesIO(x.content)).active
    assert sheet is not None
    values = list(sheet.values)
    assert values[0][:3] == ("date", "channel", "channel_id")
    assert len(values) == 1 + 14


async def test_bad_ranges_are_422(client: httpx.AsyncClient, seller: ApiUser) -> None:
    r = await client.get("/api/v1/analytics/overview?from=2026-02-01&to=2026-01-01", headers=seller.headers)  # fmt: skip
    assert r.status_code == 422
    r = await client.get("/api/v1/analytics/overview?from=2020-01-01&to=2026-01-01", headers=seller.headers)  # fmt: skip
    assert r.status_code == 422
    r = await client.get("/api/v1/analytics/overview?sort=nope", headers=seller.headers)
    assert r.status_code == 422


async def test_results_are_cached_until_invalidated(
    app: FastAPI, client: httpx.AsyncClient, seller: ApiUser
) -> None:
    ids = await seed(app, seller)
    url = f"/api/v1/analytics/overview?{RANGE}"
    first = (await client.get(url, headers=seller.headers)).json()
    async with db.unit_of_work(app.state.sessionmaker) as session:
        a = await session.get(Channel, ids["a"])
        assert a is not None
        await repository.upsert_account_points(
            session, a, [Point("reach", START, 1100)], datetime.now(UTC)
        )
    cached = (await client.get(url, headers=seller.headers)).json()
    assert cached["totals"] == first["totals"]
    await build_cache(app.state.settings).invalidate(ids["workspace"])
    fresh = (await client.get(url, headers=seller.headers)).json()
    assert {t["metric"]: t["value"] for t in fresh["totals"]}["reach"] == 3100
