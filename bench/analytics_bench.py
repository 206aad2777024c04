"""Analytics queries at scale on PostgreSQL: 50 channels of one workspace with two years of
daily snapshots (every account metric, new followers and the profile's followers: about 511,000
rows) and a post every three days per channel with its latest insights, then p50/p95 of the
overview (30, 90 and 365 days, every channel) and of one channel (30 and 90 days) through the
product's own service, with the cache off so every call queries the database.

    .venv/bin/python bench/analytics_bench.py [--channels 50] [--days 730] [--iterations 100]
        [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/postgres]

A fresh database is created next to the given URL and dropped at the end (``--keep`` keeps it).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

import asyncpg

from socialsell import migrations
from socialsell.accounts.service import Principal
from socialsell.analytics import service
from socialsell.analytics.cache import MemoryCache
from socialsell.db import create_engine, create_sessionmaker

METRICS = (*service.ACCOUNT_METRICS, service.NEW_FOLLOWERS)
ROLLUP_REVISION_BEFORE = "0008"
MEDIA_METRICS = service.MEDIA_METRICS["FEED"]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def create_database(base_url: str) -> str:
    root = base_url.replace("postgresql+asyncpg://", "postgresql://").rsplit("/", 1)[0]
    name = f"socialsell_analytics_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(f"{root}/postgres")
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"{root.replace('postgresql://', 'postgresql+asyncpg://')}/{name}"


async def drop_database(url: str) -> None:
    root, name = url.replace("postgresql+asyncpg://", "postgresql://").rsplit("/", 1)
    conn = await asyncpg.connect(f"{root}/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def load(url: str, channels: int, days: int) -> tuple[uuid.UUID, list[uuid.UUID], int]:
    rng = random.Random(42)
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    now = datetime.now(UTC)
    today = service.meta_day(now)
    rows = 0
    try:
        ws = uuid.uuid4()
        await conn.execute(
            "INSERT INTO workspaces (id, name, timezone, created_at, updated_at) "
            "VALUES ($1, 'Bench', 'UTC', $2, $2)",
            ws,
            now,
        )
        channel_ids = [uuid.uuid4() for _ in range(channels)]
        for i, cid in enumerate(channel_ids):
            await conn.execute(
                "INSERT INTO channels (id, workspace_id, platform, external_id, username, name, "
                "color, details, status, scopes, webhook_fields, api_usage, connected_at, "
                "created_at, updated_at) VALUES ($1, $2, 'instagram', $3, $4, 'Bench', "
                "'#7c3aed', '{}', 'active', '[]', '[]', '{}', $5, $5, $5)",
                cid,
                ws,
                f"1784140000{i:07d}",
                f"shop_{i}",
                now,
            )
        for cid in channel_ids:
            followers = rng.randint(500, 50_000)
            records: list[tuple[Any, ...]] = []
            for d in range(days, 0, -1):
                day = today - timedelta(days=d)
                gained = max(0, int(followers * 0.002 * rng.uniform(0.5, 1.5)))
                followers += gained
                for metric in METRICS:
                    value: float | None = float(int(followers * rng.uniform(0.001, 0.4)))
                    if metric == service.NEW_FOLLOWERS:
                        value = float(gained)
                    reason = None
                    if rng.random() < 0.01:  # a few late or missing numbers, as in life
                        value, reason = None, service.NO_DATA
                    records.append((cid, metric, day, ws, value, reason, now))
                records.append((cid, service.FOLLOWERS, day, ws, float(followers), None, now))
            records.append((cid, service.FOLLOWERS, today, ws, float(followers), None, now))
            await conn.copy_records_to_table(
                "analytics_account_insights",
                columns=[
                    "channel_id",
                    "metric",
                    "day",
                    "workspace_id",
                    "value",
                    "missing_reason",
                    "fetched_at",
                ],
                records=records,
            )
            rows += len(records)
            media: list[tuple[Any, ...]] = []
            points: list[tuple[Any, ...]] = []
            for d in range(days, 0, -3):
                mid = uuid.uuid4()
                posted = now - timedelta(days=d, hours=rng.randint(0, 23))
                media.append(
                    (
                        mid,
                        ws,
                        cid,
                        f"m{mid.hex[:16]}",
                        "IMAGE",
                        "FEED",
                        "A post",
                        None,
                        None,
                        posted,
                        now,
                    )
                )
                reading = service.meta_day(posted) + timedelta(days=1)
                for metric in MEDIA_METRICS:
                    points.append(
                        (mid, metric, reading, ws, float(rng.randint(0, 5000)), None, now)
                    )
            await conn.copy_records_to_table(
                "analytics_media",
                columns=[
                    "id",
                    "workspace_id",
                    "channel_id",
                    "external_id",
                    "media_type",
                    "media_product_type",
                    "caption",
                    "permalink",
                    "thumbnail_url",
                    "posted_at",
                    "updated_at",
                ],
                records=media,
            )
            await conn.copy_records_to_table(
                "analytics_media_insights",
                columns=[
                    "media_id",
                    "metric",
                    "day",
                    "workspace_id",
                    "value",
                    "missing_reason",
                    "fetched_at",
                ],
                records=points,
            )
            rows += len(points)
        # A table in steady state has been vacuumed (index-only scans need the visibility map).
        await conn.execute("VACUUM ANALYZE")
        return ws, channel_ids, rows
    finally:
        await conn.close()


async def vacuum(url: str) -> None:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


async def measure(
    name: str, fn: Callable[[], Awaitable[Any]], iterations: int, results: dict[str, Any]
) -> None:
    for _ in range(3):
        await fn()
    times = []
    for _ in range(iterations):
        started = time.perf_counter()
        await fn()
        times.append(time.perf_counter() - started)
    results[name] = {"p50_ms": pct(times, 0.5), "p95_ms": pct(times, 0.95), "n": iterations}


async def measure_pair(
    a: tuple[str, Callable[[], Awaitable[Any]]],
    b: tuple[str, Callable[[], Awaitable[Any]]],
    iterations: int,
    results: dict[str, Any],
) -> None:
    for _ in range(3):
        await a[1]()
        await b[1]()
    times: dict[str, list[float]] = {a[0]: [], b[0]: []}
    for _ in range(iterations):
        for name, fn in (a, b):
            started = time.perf_counter()
            await fn()
            times[name].append(time.perf_counter() - started)
    for name, values in times.items():
        results[name] = {"p50_ms": pct(values, 0.5), "p95_ms": pct(values, 0.95), "n": iterations}


async def run_queries(
    url: str, workspace_id: uuid.UUID, channel_ids: list[uuid.UUID], iterations: int
) -> dict[str, Any]:
    engine = create_engine(url)
    maker = create_sessionmaker(engine)
    cache = MemoryCache(0)  # off: every call runs the queries
    principal = cast(Principal, SimpleNamespace(workspace_id=workspace_id))
    rng = random.Random(7)
    results: dict[str, Any] = {}
    n = len(channel_ids)
    last = service.meta_day(datetime.now(UTC)) - timedelta(days=1)

    def rng_of(days: int) -> service.DateRange:
        return service.DateRange(last - timedelta(days=days - 1), last)

    try:
        for label, days in (("30 days", 30), ("90 days", 90), ("365 days", 365)):

            async def overview(days: int = days) -> None:
                async with maker() as session:
                    await service.overview(session, cache, principal, rng_of(days))

            async def per_channel_rows(days: int = days) -> None:
                async with maker() as session:
                    await service.compute_overview(
                        session,
                        workspace_id,
                        rng_of(days),
                        None,
                        "engagement_rate",
                        10,
                        from_rollup=False,
                    )

            # The same overview from the channels' own rows (the path before the rollup),
            # interleaved so that the machine's load hits both alike.
            await measure_pair(
                (f"overview, {n} channels, {label}", overview),
                (f"  same from channel rows, {label}", per_channel_rows),
                iterations,
                results,
            )
        for label, days in (("30 days", 30), ("90 days", 90)):

            async def channel(days: int = days) -> None:
                async with maker() as session:
                    await service.channel_analytics(
                        session, cache, principal, rng.choice(channel_ids), rng_of(days)
                    )

            await measure(f"one channel, {label}", channel, iterations, results)
    finally:
        await engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--channels", type=int, default=50)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument(
        "--database-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    )
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    url = asyncio.run(create_database(args.database_url))
    try:
        # Loaded under the schema before the rollup, which the rollup's migration then fills
        # (as on a deployment that upgrades); the refresh keeps it the same way afterwards.
        migrations.upgrade(url, ROLLUP_REVISION_BEFORE)
        started = time.perf_counter()
        workspace_id, channel_ids, rows = asyncio.run(load(url, args.channels, args.days))
        load_seconds = time.perf_counter() - started
        started = time.perf_counter()
        migrations.upgrade(url)
        asyncio.run(vacuum(url))
        rollup_seconds = time.perf_counter() - started
        results = asyncio.run(run_queries(url, workspace_id, channel_ids, args.iterations))
    finally:
        if not args.keep:
            asyncio.run(drop_database(url))
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        f"data: {args.channels} channels x {args.days} days, {rows:,} snapshot rows "
        f"(one workspace); loaded in {load_seconds:.0f} s, rollup migration {rollup_seconds:.1f} s; "
        f"{args.iterations} calls each"
    )
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"{'query':<40}{'p50 ms':>10}{'p95 ms':>10}")
    for name, r in results.items():
        print(f"{name:<40}{r['p50_ms']:>10.2f}{r['p95_ms']:>10.2f}")


if __name__ == "__main__":
    main()
