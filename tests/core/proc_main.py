"""The separate OS processes of the jobs and tick tests. Settings come from the environment.

``python -m tests.core.proc_main worker``
    runs :func:`run_worker` until SIGTERM, like ``socialsell worker``.
``python -m tests.core.proc_main tick NAME``
    builds a runtime and a tick for the periodic task NAME, prints ``ready``, waits for a line on
    stdin (so that the test can start several at the same moment), runs one tick and prints its
    report as JSON.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys

import structlog

from socialsell import db
from socialsell.core.jobs import JobRuntime, run_worker
from socialsell.core.tick import Tick
from socialsell.settings import Settings
from tests.core import jobkit  # noqa: F401 - registers the test jobs, tables and periodic task


async def tick_once(periodic_name: str) -> None:
    settings = Settings()
    engine = db.create_engine(settings.db_url)
    runtime = JobRuntime(settings, db.create_sessionmaker(engine))
    await runtime.startup()
    try:
        tick = Tick(runtime, claimers=[], periodics=[periodic_name])
        print("ready", flush=True)  # noqa: T201 - the protocol with the test
        await asyncio.to_thread(sys.stdin.readline)
        report = await tick.run_once()
        print(json.dumps(dataclasses.asdict(report)), flush=True)  # noqa: T201
    finally:
        await runtime.shutdown()
        await engine.dispose()


def main(argv: list[str]) -> None:
    # Logs to stderr: stdout carries the protocol with the test.
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    if argv[0] == "worker":
        asyncio.run(run_worker(Settings()))
    elif argv[0] == "tick":
        asyncio.run(tick_once(argv[1]))
    else:
        raise SystemExit(f"unknown command {argv[0]!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
