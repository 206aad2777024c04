"""The publisher under a burst: N posts (default 500) due in the same minute over C channels
(default 20), published to the Meta sandbox (real clock, containers processing for 2 s).

Measures, per post, lateness = the ``media_publish`` call (``publish_attempted_at``) minus the
scheduled time, p50/p99; duplicates (media published more than once for a post: must be 0); and
posts left unpublished (must be 0: 25 posts per channel is within Instagram's 100 per 24 h).

Two setups:
- ``embedded``: one ``socialsell serve`` process on SQLite, jobs and the tick in-process;
- ``production``: PostgreSQL + Redis, ``socialsell serve`` (serving the media files Meta fetches),
  one ``socialsell scheduler`` and ``--workers`` (default 2) ``socialsell worker`` processes.

The sandbox runs in this process (a thread), the product in its own processes, as deployed.
Channels, media and posts are written straight to the database (the API is not what is measured).

    .venv/bin/python bench/publish_bench.py --setup embedded
    .venv/bin/python bench/publish_bench.py --setup production [--workers 2]
        [--postgres postgresql://postgres@127.0.0.1:5432] [--redis redis://127.0.0.1:6379/14]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from meta_sandbox.testing import start_sandbox_server
from socialsell import db, migrations
from socialsell.accounts.models import Workspace
from socialsell.channels.models import Channel, ChannelStatus, Platform
from socialsell.channels.service import INSTAGRAM_SCOPES
from socialsell.core.crypto import SecretBox
from socialsell.core.storage import LocalStorage
from socialsell.publishing.models import MediaAsset, MediaKind, Post, PostItem, PostKind, PostStatus
from socialsell.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-secret-key-that-is-long-enough-0123456789"  # noqa: S105 - a throwaway database


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def jpeg(index: int) -> bytes:
    import io

    from PIL import Image

    img = Image.new("RGB", (1080, 1080), ((index * 37) % 256, 90, 160))
    buffer = io.BytesIO()
    img.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


async def recreate_pg(base: str, name: str) -> str:
    import asyncpg

    conn = await asyncpg.connect(f"{base}/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"{base.replace('postgresql://', 'postgresql+asyncpg://')}/{name}"


async def seed_channels(
    settings: Settings, accounts: list[dict[str, Any]]
) -> tuple[uuid.UUID, list[uuid.UUID], list[uuid.UUID]]:
    """A workspace, one channel per sandbox account, a few photos."""
    engine = db.create_engine(settings.db_url)
    box = SecretBox(settings.secret_box_keys())
    storage = LocalStorage(settings.data_dir / "media")
    try:
        async with db.unit_of_work(db.create_sessionmaker(engine)) as session:
            workspace = Workspace(id=uuid.uuid4(), name="Bench")
            session.add(workspace)
            channels = []
            for account in accounts:
                channel = Channel(
                    id=uuid.uuid4(),
                    workspace_id=workspace.id,
                    platform=Platform.instagram,
                    external_id=account["id"],
                    username=account["username"],
                    status=ChannelStatus.active,
                    scopes=list(INSTAGRAM_SCOPES),
                    token_encrypted=box.encrypt(account["access_token"]),
                )
                session.add(channel)
                channels.append(channel)
            photos = []
            for i in range(10):
                asset = MediaAsset(
                    id=uuid.uuid4(),
                    workspace_id=workspace.id,
                    kind=MediaKind.image,
                    content_type="image/jpeg",
                    storage_key=f"ws/{workspace.id}/media/{i}/original.jpg",
                    size_bytes=0,
                    sha256="-",
                    width=1080,
                    height=1080,
                    aspect_ratio=1.0,
                )
                data = jpeg(i)
                asset.size_bytes = len(data)
                await storage.put(asset.storage_key, data)
                session.add(asset)
                photos.append(asset)
        return workspace.id, [c.id for c in channels], [p.id for p in photos]
    finally:
        await engine.dispose()


async def seed_posts(
    settings: Settings,
    seeded: tuple[uuid.UUID, list[uuid.UUID], list[uuid.UUID]],
    posts: int,
    due_at: datetime,
) -> None:
    """The posts, due spread over one minute from ``due_at``, round-robin over the channels."""
    workspace_id, channels, photos = seeded
    engine = db.create_engine(settings.db_url)
    try:
        async with db.unit_of_work(db.create_sessionmaker(engine)) as session:
            for i in range(posts):
                session.add(
                    Post(
                        workspace_id=workspace_id,
                        channel_id=channels[i % len(channels)],
                        kind=PostKind.feed,
                        caption=f"Bench post {i} #socialsell",
                        status=PostStatus.scheduled,
                        scheduled_at=due_at + timedelta(seconds=60 * i / posts),
                        items=[PostItem(position=0, media_id=photos[i % len(photos)])],
                    )
                )
    finally:
        await engine.dispose()


def wait_quiet(sandbox_url: str, quiet: float = 5.0, timeout: float = 180.0) -> None:
    """Wait until the sandbox has seen no Graph call for ``quiet`` seconds: the other domains'
    first work on new channels (insights, inbox reconciliation) is over before the burst."""
    deadline = time.monotonic() + timeout
    last, still_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        count = len(httpx.get(f"{sandbox_url}/_sandbox/calls?limit=1000000").json()["data"])
        if count != last:
            last, still_since = count, time.monotonic()
        elif time.monotonic() - still_since >= quiet:
            return
        time.sleep(0.5)


async def progress(settings: Settings) -> dict[str, int]:
    engine = db.create_engine(settings.db_url)
    try:
        async with db.create_sessionmaker(engine)() as session:
            rows = await session.execute(select(Post.status, func.count()).group_by(Post.status))
            return {str(status): int(count) for status, count in rows.all()}
    finally:
        await engine.dispose()


async def results(settings: Settings) -> list[Post]:
    engine = db.create_engine(settings.db_url)
    try:
        async with db.create_sessionmaker(engine)() as session:
            return list((await session.scalars(select(Post))).all())
    finally:
        await engine.dispose()


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603 - our own interpreter and CLI
        [sys.executable, "-m", "socialsell.cli", *args],
        env=env,
        cwd=tempfile.gettempdir(),
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def wait_http(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def wait_logged(log: Path, marker: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and marker in log.read_text(errors="replace"):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{log.name} never said {marker}")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--setup", choices=["embedded", "production"], default="embedded")
    parser.add_argument("--posts", type=int, default=500)
    parser.add_argument("--channels", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--lead-seconds", type=float, default=10.0, help="seeding to first due")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--log-level", default="WARNING", help="of the product's processes")
    parser.add_argument(
        "--before",
        action="store_true",
        help="configure the product as before 2026-11-26 14:30 (containers polled in place for "
        "up to 20 s, holding a job slot; every due post claimed at once), for a before/after "
        "on the same machine and load",
    )
    parser.add_argument(
        "--max-in-flight", type=int, default=None, help="SOCIALSELL_PUBLISHING_MAX_IN_FLIGHT"
    )
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="socialsell-publish-bench-"))
    sandbox = start_sandbox_server(
        controlled_clock=False,
        container_processing_seconds=2.0,
        rate_limit_calls_per_hour=1_000_000,
        app_rate_limit_calls_per_hour=10_000_000,
        webhook_batch_window_seconds=0.2,
    )
    port = free_port()
    if args.setup == "production":
        database_url = asyncio.run(recreate_pg(args.postgres, "socialsell_publish_bench"))
        redis_url: str | None = args.redis
        import redis

        redis.Redis.from_url(args.redis).flushdb()
    else:
        database_url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
        redis_url = None
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIALSELL_")}
    env.update(
        {
            "PYTHONPATH": str(ROOT / "src"),
            "SOCIALSELL_DATABASE_URL": database_url,
            "SOCIALSELL_DATA_DIR": str(workdir / "data"),
            "SOCIALSELL_SECRET_KEY": SECRET,
            "SOCIALSELL_BASE_URL": f"http://127.0.0.1:{port}",
            "SOCIALSELL_META_GRAPH_URL": sandbox.url,
            "SOCIALSELL_META_OAUTH_URL": sandbox.url,
            "SOCIALSELL_META_AUTHORIZE_URL": sandbox.url,
            "SOCIALSELL_META_FACEBOOK_GRAPH_URL": sandbox.url,
            "SOCIALSELL_META_APP_ID": sandbox.settings.app_id,
            "SOCIALSELL_META_APP_SECRET": sandbox.settings.app_secret,
            "SOCIALSELL_TICK_SECONDS": "1",
            "SOCIALSELL_LOG_LEVEL": args.log_level,
        }
    )
    if redis_url:
        env["SOCIALSELL_REDIS_URL"] = redis_url
    if args.max_in_flight is not None:
        env["SOCIALSELL_PUBLISHING_MAX_IN_FLIGHT"] = str(args.max_in_flight)
    if args.before:
        env["SOCIALSELL_PUBLISHING_INLINE_POLL_SECONDS"] = "20"
        env["SOCIALSELL_PUBLISHING_MAX_IN_FLIGHT"] = "0"
    settings = Settings(
        database_url=database_url,
        data_dir=workdir / "data",
        secret_key=SECRET,
        redis_url=redis_url,
    )
    migrations.upgrade(database_url)

    with httpx.Client(base_url=sandbox.url, timeout=30) as sb:
        accounts = [
            sb.post("/_sandbox/instagram/accounts", json={"username": f"bench_{i}"}).json()
            for i in range(args.channels)
        ]
    seeded = asyncio.run(seed_channels(settings, accounts))
    # The product's processes start first (and have time to connect) so that their start-up,
    # slow on a busy machine, is not counted as lateness; then the posts are written, due soon.
    procs = [spawn(["serve", "--port", str(port)], env, workdir / "serve.log")]
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", timeout=300)
        if args.setup == "production":
            procs.append(spawn(["scheduler"], env, workdir / "scheduler.log"))
            procs += [
                spawn(["worker"], env, workdir / f"worker{i}.log") for i in range(args.workers)
            ]
            wait_logged(workdir / "scheduler.log", "tick_started")
            for i in range(args.workers):
                wait_logged(workdir / f"worker{i}.log", "worker_started")
        wait_quiet(sandbox.url)
        due_at = datetime.now(UTC) + timedelta(seconds=args.lead_seconds)
        asyncio.run(seed_posts(settings, seeded, args.posts, due_at))
        deadline = time.monotonic() + args.lead_seconds + args.timeout
        while time.monotonic() < deadline:
            counts = asyncio.run(progress(settings))
            done = counts.get("published", 0) + counts.get("failed", 0)
            print(f"  {datetime.now(UTC):%H:%M:%S} {dict(sorted(counts.items()))}", flush=True)
            if done >= args.posts:
                break
            time.sleep(2)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                proc.kill()

    posts = asyncio.run(results(settings))
    lateness = [
        (p.publish_attempted_at - p.scheduled_at).total_seconds()
        for p in posts
        if p.status == PostStatus.published and p.publish_attempted_at and p.scheduled_at
    ]
    with httpx.Client(base_url=sandbox.url, timeout=30) as sb:
        captions: collections.Counter[str] = collections.Counter()
        for account in accounts:
            feed = sb.get(f"/_sandbox/instagram/accounts/{account['id']}/published").json()
            captions.update(m["caption"] for m in feed["data"])
    sandbox.stop()
    duplicates = sum(n - 1 for n in captions.values() if n > 1)
    unpublished = sum(1 for p in posts if p.status != PostStatus.published)
    failures = collections.Counter(p.failure_code for p in posts if p.status == PostStatus.failed)

    print()
    print(
        f"setup: {args.setup}"
        + (f", {args.workers} workers" if redis_url else "")
        + (" (before: polling in place, no in-flight limit)" if args.before else "")
        + (f", max in flight {args.max_in_flight}" if args.max_in_flight is not None else "")
    )
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"machine: nproc={os.cpu_count()}, python {platform.python_version()}")
    print(f"posts: {args.posts} over {args.channels} channels, due within one minute")
    if lateness:
        print(
            f"lateness (media_publish - scheduled_at): p50 {statistics.median(lateness):.2f} s, "
            f"p99 {pct(lateness, 0.99):.2f} s, max {max(lateness):.2f} s"
        )
    print(f"published on the sandbox: {sum(captions.values())}, duplicates: {duplicates}")
    print(f"left unpublished: {unpublished}" + (f" (failed: {dict(failures)})" if failures else ""))
    print(f"logs: {workdir}")
    if duplicates or unpublished:
        sys.exit(1)
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
