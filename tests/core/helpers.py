"""Helpers of the jobs, tick and pub/sub tests (the fixtures are in conftest.py)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from socialsell import db
from socialsell.core.jobs import JobRuntime
from socialsell.settings import Settings
from tests.core.jobkit import effects, record

REPO_ROOT = Path(__file__).resolve().parents[2]

_T = TypeVar("_T")

# What a worker or tick subprocess needs to join the test's database, stream and timings.
SPAWNED_SETTINGS = (
    "env",
    "database_url",
    "redis_url",
    "jobs_queue_name",
    "job_retry_base_seconds",
    "job_retry_max_seconds",
    "tick_seconds",
    "log_level",
)


async def eventually(
    check: Callable[[], Awaitable[_T]], *, within: float = 30.0, interval: float = 0.02
) -> _T:
    """Poll ``check`` until it returns something truthy (which is returned)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not true within {within}s: last result {result!r}")
        await asyncio.sleep(interval)


async def settle(runtime: JobRuntime, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Wait until every job kicked so far has had its chance to run."""
    if runtime.in_process:
        await runtime.drain()
        return
    # A doorbell rung after all the others, and then some slack for those still running.
    token = f"sentinel-{uuid.uuid4().hex}"
    await runtime.kick(record, token)
    await eventually(lambda: effects(sessionmaker, token))
    await asyncio.sleep(0.3)


def spawn(settings: Settings, *args: str) -> subprocess.Popen[str]:
    """Start ``python -m tests.core.proc_main *args`` with ``settings`` in its environment."""
    # Only the test's settings: none inherited from this environment, and (by running in the
    # temp directory) none from a developer's .env file.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIALSELL_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    for name in SPAWNED_SETTINGS:
        value = getattr(settings, name)
        if value is not None:
            env[f"SOCIALSELL_{name.upper()}"] = str(value)
    return subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "tests.core.proc_main", *args],
        cwd=tempfile.gettempdir(),
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


async def reset_lease(sessionmaker: async_sessionmaker[AsyncSession], name: str) -> None:
    async with db.unit_of_work(sessionmaker) as session:
        await session.execute(text("DELETE FROM scheduler_leases WHERE name = :n"), {"n": name})
        await session.execute(text("DELETE FROM jobtest_effects WHERE job = :n"), {"n": name})
