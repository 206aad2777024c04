"""Fixtures of the jobs, tick and pub/sub tests: every test runs on both setups.

- ``sqlite-memory``: an SQLite file, the in-memory broker, jobs in this process (embedded mode);
- ``postgres-redis``: a PostgreSQL database and Redis Streams, jobs run by a worker (production).

Unlike the rest of the suite (one backend per run, from the migrations), these tests need both
setups in one run, because the point is that the same code behaves the same on each. The schema
is every product table plus the tests' own, from ``create_all``, in one database per
test session (and xdist worker). PostgreSQL or Redis unreachable is an error, never a skip.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest
from redis import Redis as SyncRedis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import socialsell.models  # noqa: F401 - registers every table on Base.metadata
from socialsell import db
from socialsell.core.jobs import JobRuntime, run_worker
from socialsell.settings import Settings
from tests.core.jobkit import TestBase

POSTGRES_URL = os.environ.get(
    "SOCIALSELL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432"
).rstrip("/")
REDIS_URL = os.environ.get("SOCIALSELL_TEST_REDIS_URL", "redis://127.0.0.1:6379").rstrip("/")
SETUPS = ["sqlite-memory", "postgres-redis"]

_T = TypeVar("_T")


def _run_async(coro: Awaitable[_T]) -> _T:
    # On a thread of its own: the test session's event loop is not running between tests, but
    # asyncio.run on this thread would replace it as the thread's current loop.
    async def wrapper() -> _T:
        return await coro

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, wrapper()).result()


async def _create_schema(url: str) -> None:
    engine = db.create_engine(url)
    try:
        async with engine.begin() as conn:
            # Every product table, not just the lease table: run_scheduler runs the periodic
            # tasks of every domain, and they must find their (empty) tables.
            await conn.run_sync(db.Base.metadata.create_all)
            await conn.run_sync(TestBase.metadata.create_all)
    finally:
        await engine.dispose()


async def _admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(f"{POSTGRES_URL}/postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('jobs') / 'jobs.db'}"
    _run_async(_create_schema(url))
    return url


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    name = f"socialsell_jobs_{worker}_{uuid.uuid4().hex[:8]}"
    _run_async(_admin(f'CREATE DATABASE "{name}"'))
    url = f"{POSTGRES_URL.replace('postgresql://', 'postgresql+asyncpg://', 1)}/{name}"
    try:
        _run_async(_create_schema(url))
        yield url
    finally:
        _run_async(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=SETUPS)
def jobs_settings(request: pytest.FixtureRequest) -> Iterator[Settings]:
    common: dict[str, Any] = {
        "env": "test",
        "log_level": "WARNING",
        "tick_seconds": 0.05,
        "job_retry_base_seconds": 0.1,
        "job_retry_max_seconds": 1.0,
    }
    if request.param == "sqlite-memory":
        yield Settings(database_url=request.getfixturevalue("sqlite_url"), redis_url=None, **common)
        return
    settings = Settings(
        database_url=request.getfixturevalue("postgres_url"),
        redis_url=f"{REDIS_URL}/0",
        # A stream of its own per test: parallel runs and earlier tests cannot interfere.
        jobs_queue_name=f"socialsell:test:jobs:{uuid.uuid4().hex}",
        **common,
    )
    yield settings
    # Whoever used it (runtimes, workers, schedulers) has stopped by now.
    redis = SyncRedis.from_url(settings.redis_url)
    try:
        redis.delete(settings.jobs_queue_name)
    finally:
        redis.close()


@pytest.fixture
async def sessionmaker(
    jobs_settings: Settings,
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = db.create_engine(jobs_settings.db_url)
    yield db.create_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
async def client_runtime(
    jobs_settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[JobRuntime]:
    """A runtime as the web process has it: with Redis it only sends."""
    runtime = JobRuntime(jobs_settings, sessionmaker)
    await runtime.startup()
    yield runtime
    await runtime.shutdown()


@pytest.fixture
async def runtime(jobs_settings: Settings, client_runtime: JobRuntime) -> AsyncIterator[JobRuntime]:
    """A runtime whose jobs get run: in this process in embedded mode, by a worker (on this
    event loop, to keep tests fast; the separate-process worker has its own test) with Redis."""
    if client_runtime.in_process:
        yield client_runtime
        return
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(jobs_settings, stop=stop, concurrency=8))
    yield client_runtime
    stop.set()
    await asyncio.wait_for(worker, timeout=60)
