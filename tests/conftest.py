"""Test fixtures shared by the whole suite.

The suite runs against one backend per run, chosen by ``SOCIALSELL_TEST_BACKEND``:
- ``sqlite`` (default): an SQLite file per xdist worker, in-memory jobs, limits and pub/sub;
- ``postgres``: a PostgreSQL database per xdist worker and Redis (a database number per worker).
An unreachable server is an error that stops the run, never a skip.

The schema comes from the Alembic migrations. Each test starts on empty tables: rows are deleted
after every test (rather than rolled back) because jobs, the tick, live servers and worker
processes use connections of their own, and they must see committed data like in production.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from redis.asyncio import Redis

from socialsell import migrations
from socialsell.app import create_app
from socialsell.db import Base, create_engine
from socialsell.settings import Settings

pytest_plugins = ["meta_sandbox.testing"]

BACKEND = os.environ.get("SOCIALSELL_TEST_BACKEND", "sqlite")
POSTGRES_URL = os.environ.get(
    "SOCIALSELL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432"
)
REDIS_URL = os.environ.get("SOCIALSELL_TEST_REDIS_URL", "redis://127.0.0.1:6379")
TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"
# Two suites on one machine (two checkouts, or a suite beside a benchmark) each take a slot so
# that neither drops the other's databases nor flushes its Redis database.
TEST_SLOT = int(os.environ.get("SOCIALSELL_TEST_SLOT", "0"))


def _worker_index(config: pytest.Config) -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(worker.removeprefix("gw") or 0)


def _require(condition: bool, what: str) -> None:
    if not condition:
        pytest.exit(f"{what} is not reachable; the {BACKEND} suite cannot run.", returncode=3)


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Backend:
    """Where this worker's data lives, and how to empty it between tests."""

    def __init__(self, database_url: str, redis_url: str | None) -> None:
        self.database_url = database_url
        self.redis_url = redis_url

    async def clean(self) -> None:
        engine = create_engine(self.database_url)
        try:
            async with engine.begin() as conn:
                for table in reversed(Base.metadata.sorted_tables):
                    await conn.execute(table.delete())
        finally:
            await engine.dispose()
        if self.redis_url:
            redis = Redis.from_url(self.redis_url)
            try:
                await redis.flushdb()
            finally:
                await redis.aclose()


@pytest.fixture(scope="session")
def backend(
    tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> Iterator[Backend]:
    index = _worker_index(pytestconfig)
    if BACKEND == "postgres":
        host_port = POSTGRES_URL.rsplit("@", 1)[-1]
        host, _, port = host_port.partition(":")
        _require(_port_open(host, int(port or 5432)), f"PostgreSQL at {host_port}")
        rhost, _, rport = REDIS_URL.removeprefix("redis://").split("/")[0].partition(":")
        _require(_port_open(rhost, int(rport or 6379)), f"Redis at {REDIS_URL}")
        name = f"socialsell_test_{index}" if TEST_SLOT == 0 else f"socialsell_t{TEST_SLOT}_{index}"
        asyncio.run(_recreate_pg_database(name))
        database_url = f"{POSTGRES_URL.replace('postgresql://', 'postgresql+asyncpg://')}/{name}"
        redis_url: str | None = f"{REDIS_URL.rstrip('/')}/{1 + (TEST_SLOT * 3 + index) % 15}"
    elif BACKEND == "sqlite":
        path = tmp_path_factory.mktemp("db") / "socialsell.db"
        database_url = f"sqlite+aiosqlite:///{path}"
        redis_url = None
    else:
        raise pytest.UsageError(
            f"SOCIALSELL_TEST_BACKEND must be sqlite or postgres, not {BACKEND}"
        )
    migrations.upgrade(database_url)
    return Backend(database_url, redis_url)


async def _recreate_pg_database(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(f"{POSTGRES_URL}/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


@pytest.fixture
async def settings(backend: Backend, tmp_path: Path) -> AsyncIterator[Settings]:
    yield Settings(
        env="test",
        data_dir=tmp_path / "data",
        database_url=backend.database_url,
        redis_url=backend.redis_url,
        secret_key=TEST_SECRET,
        log_level="WARNING",
        base_url="http://testserver",
        # Tests drive the tick themselves (Tick.run_once) so that nothing runs behind their back,
        # and run jobs in this process (drained with JobRuntime.drain) even when Redis holds the
        # limits and pub/sub; tests/core proves the Redis worker path in separate processes.
        embedded_tick=False,
        embedded_jobs=True,
    )
    await backend.clean()


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


class LiveServer:
    def __init__(self, app: FastAPI, port: int) -> None:
        self.app = app
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the live server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    """The app served by uvicorn on a free port, in a thread with its own event loop."""
    port = free_port()
    live_settings = settings.model_copy(update={"base_url": f"http://127.0.0.1:{port}"})
    server = LiveServer(create_app(live_settings), port)
    server.start()
    yield server
    server.stop()


def pytest_report_header(config: pytest.Config) -> str:
    return f"socialsell test backend: {BACKEND}"
