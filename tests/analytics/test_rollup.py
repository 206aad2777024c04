"""The workspace rollup (what the overview of every channel reads) against the channels' own
rows: the same figures on a fixed data set, missing numbers kept missing, a re-run changes
nothing, and the walked followers follow a new reading."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from socialsell import db
from socialsell.analytics import repository, service
from socialsell.analytics.models import ChannelFollowers, DailyRollup
from socialsell.analytics.repository import Point
from socialsell.channels.models import Channel, Platform
from tests.analytics.test_aggregation import END, START, TODAY, _days, _workspace_id, seed
from tests.helpers.factories import ApiUser

NOW = datetime(2026, 1, 15, 12, tzinfo=UTC)


async def _both(
    app: FastAPI, workspace_id: uuid.UUID, rng: service.DateRange
) -> tuple[service.Overview, service.Overview]:
    async with app.state.sessionmaker() as session:
        rolled = await service.compute_overview(
            session, workspace_id, rng, None, "engagement_rate", 10, from_rollup=True
        )
        raw = await service.compute_overview(
            session, workspace_id, rng, None, "engagement_rate", 10, from_rollup=False
        )
    return rolled, raw


async def _rollup(app: FastAPI, workspace_id: uuid.UUID) -> list[tuple[str, date, float | None, int, str | None]]:  # fmt: skip
    async with app.state.sessionmaker() as session:
        rows = await session.scalars(
            select(DailyRollup)
            .where(DailyRollup.workspace_id == workspace_id)
            .order_by(DailyRollup.metric, DailyRollup.day)
        )
        return [(r.metric, r.day, r.value, r.known, r.missing_reason) for r in rows]


async def _add_trickier_channel(app: FastAPI, workspace_id: uuid.UUID) -> uuid.UUID:
    """A third channel: two readings with a gap in new followers between them (the walk from
    the latest stops there), and views that nobody served on Jan 10."""
    async with db.unit_of_work(app.state.sessionmaker) as session:
        c = Channel(workspace_id=workspace_id, platform=Platform.instagram, external_id=f"c{uuid.uuid4().hex[:8]}", username="shop_c")  # fmt: skip
        session.add(c)
        await session.flush()
        points = [Point("reach", d, 30) for d in _days(date(2026, 1, 1), END)]
        points += [Point("total_interactions", d, 3) for d in _days(date(2026, 1, 3), END)]
        points += [Point("follower_count", d, 1) for d in _days(date(2026, 1, 2), END) if d != date(2026, 1, 11)]  # fmt: skip
        points += [Point("follower_count", date(2026, 1, 11), None, "not served")]
        points += [Point("followers", date(2026, 1, 9), 300), Point("followers", TODAY, 310)]
        await repository.upsert_account_points(session, c, points, NOW)
        for ch in (await session.scalars(select(Channel).where(Channel.workspace_id == workspace_id))).all():  # fmt: skip
            await repository.upsert_account_points(
                session, ch, [Point("views", date(2026, 1, 10), None, "not served")], NOW
            )
        return c.id


async def test_rollup_and_channel_rows_give_the_same_overview(
    app: FastAPI, client: httpx.AsyncClient, seller: ApiUser
) -> None:
    ids = await seed(app, seller)
    workspace_id = ids["workspace"]
    await _add_trickier_channel(app, workspace_id)
    ranges = [
        service.DateRange(START, END),
        service.DateRange(date(2026, 1, 2), date(2026, 1, 15)),
        service.DateRange(date(2026, 1, 10), date(2026, 1, 12)),
        service.DateRange(date(2025, 12, 1), date(2026, 1, 20)),
    ]
    for rng in ranges:
        rolled, raw = await _both(app, workspace_id, rng)
        assert rolled == raw, rng
    rolled, _ = await _both(app, workspace_id, service.DateRange(START, END))
    # Hand-checked: reach 700 (A) + 1400 (B) + 210 (C).
    assert {t.metric: t.value for t in rolled.totals}["reach"] == 2310
    # Views: nobody served Jan 10 -> missing in the series, never 0.
    assert rolled.series.views[2] is None
    # C's walk from its Jan 15 reading (310, 1 a day) stops at the unserved Jan 11 (307 on
    # Jan 11), so the workspace's followers are unknown before that except on C's own reading
    # of Jan 9.
    followers = rolled.series.followers
    assert followers[:4] == [None, 1465 + 300, None, 1479 + 307]
    assert followers[-1] == 1500 + 310
    # What a user sees through the API is the rollup path, and it says the same.
    body = (
        await client.get(
            f"/api/v1/analytics/overview?from={START}&to={END}", headers=seller.headers
        )
    ).json()
    assert body["series"]["followers"] == followers
    assert body["totals"] == [t.model_dump(mode="json") for t in rolled.totals]


async def test_missing_stays_missing_in_the_rollup_and_a_rerun_changes_nothing(
    app: FastAPI, seller: ApiUser
) -> None:
    ids = await seed(app, seller)
    workspace_id = ids["workspace"]
    await _add_trickier_channel(app, workspace_id)
    rows = {(m, d): (v, k, why) for m, d, v, k, why in await _rollup(app, workspace_id)}
    # Jan 14 interactions: A's 10 and C's 3 known, B's late: the sum of the known, B's reason.
    assert rows[("total_interactions", END)] == (13.0, 2, "late")
    # Jan 10 views: no channel had a number: NULL, not 0.
    assert rows[("views", date(2026, 1, 10))] == (None, 0, "not served")
    # The engagement pair counts only channels with both numbers.
    assert rows[(repository.PAIR_INTERACTIONS, END)] == (13.0, 2, None)
    assert rows[(repository.PAIR_REACH, END)] == (130.0, 2, None)

    before = await _rollup(app, workspace_id)
    async with db.unit_of_work(app.state.sessionmaker) as session:
        a = await session.get(Channel, ids["a"])
        assert a is not None
        # The same points again, and a failure that must not erase a stored number.
        await repository.upsert_account_points(
            session, a, [Point("reach", d, 100) for d in _days(START, END)], NOW
        )
        await repository.upsert_account_points(
            session, a, [Point("reach", START, None, "timeout")], NOW
        )
    assert await _rollup(app, workspace_id) == before


async def test_a_new_reading_moves_the_walked_followers(app: FastAPI, seller: ApiUser) -> None:
    workspace_id = await _workspace_id(app, seller)
    async with db.unit_of_work(app.state.sessionmaker) as session:
        c = Channel(workspace_id=workspace_id, platform=Platform.instagram, external_id=f"d{uuid.uuid4().hex[:8]}", username="shop_d")  # fmt: skip
        session.add(c)
        await session.flush()
        await repository.upsert_account_points(
            session,
            c,
            [Point("follower_count", d, 2) for d in _days(date(2026, 1, 1), date(2026, 1, 9))]
            + [Point("followers", date(2026, 1, 10), 100)],
            NOW,
        )
    rng = service.DateRange(date(2026, 1, 5), date(2026, 1, 12))
    rolled, raw = await _both(app, workspace_id, rng)
    assert rolled.series.followers == [92, 94, 96, 98, 100, 100, None, None]
    assert rolled == raw
    # The next day's refresh: a new reading, and Jan 10's new followers not served: the walk
    # from Jan 11 stops at once, so only the two readings (and the day before the latest) stay.
    async with db.unit_of_work(app.state.sessionmaker) as session:
        c2 = await session.get(Channel, c.id)
        assert c2 is not None
        await repository.upsert_account_points(
            session,
            c2,
            [
                Point("follower_count", date(2026, 1, 10), None, "late"),
                Point("followers", date(2026, 1, 11), 105),
            ],
            NOW + timedelta(days=1),
        )
    rolled, raw = await _both(app, workspace_id, rng)
    assert rolled.series.followers == [None, None, None, None, None, 100, 105, None]
    assert rolled == raw
    async with app.state.sessionmaker() as session:
        walked = (
            await session.scalars(
                select(ChannelFollowers.day).where(ChannelFollowers.channel_id == c.id)
            )
        ).all()
    assert sorted(walked) == [date(2026, 1, 10), date(2026, 1, 11)]
