"""A separate OS process for the crash tests (settings from the environment):

``python -m tests.publishing.proc tick``
    one tick of the publishing claimer with jobs in this process (embedded mode), then waits for
    the jobs: the SQLite setup's "worker".

On PostgreSQL + Redis the tests run the real ``socialsell worker`` instead.
"""

from __future__ import annotations

import asyncio
import sys

from socialsell import db
from socialsell.core.jobs import JobRuntime
from socialsell.core.tick import Tick
from socialsell.settings import Settings

CLAIMER = "publishing.due_posts"


async def tick_and_drain() -> None:
    settings = Settings()
    engine = db.create_engine(settings.db_url)
    runtime = JobRuntime(settings, db.create_sessionmaker(engine))
    await runtime.startup()
    try:
        await Tick(runtime, claimers=[CLAIMER], periodics=[]).run_once()
        await runtime.drain()
    finally:
        await runtime.shutdown()
        await engine.dispose()


if __name__ == "__main__":
    if sys.argv[1:] != ["tick"]:
        raise SystemExit("usage: python -m tests.publishing.proc tick")
    asyncio.run(tick_and_drain())
