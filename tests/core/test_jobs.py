"""Jobs on both setups: sent only after commit, dropped on rollback, retried with backoff, and on
Redis run by a worker in another OS process."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from socialsell import db
from socialsell.core.jobs import (
    JobRuntime,
    UnknownJobError,
    backoff_seconds,
    load_job_modules,
    registered_jobs,
    run_worker,
)
from socialsell.settings import ConfigurationError, Settings
from tests.core.helpers import eventually, settle, spawn
from tests.core.jobkit import (
    Concurrency,
    WorkItem,
    chain,
    effects,
    flaky,
    hopeless,
    record,
    sleepy,
)


def new_token() -> str:
    return uuid.uuid4().hex


async def test_job_enqueued_in_a_unit_of_work_runs_only_after_the_commit(
    runtime: JobRuntime, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    token = new_token()
    async with db.unit_of_work(sessionmaker) as session:
        session.add(WorkItem(id=token, status="pending"))
        await session.flush()
        runtime.enqueue(session, record, token)
        # Time enough for a job sent now to have run: it must not have been sent.
        await asyncio.sleep(0.3)
        assert await effects(sessionmaker, token) == []

    [effect] = await eventually(lambda: effects(sessionmaker, token))
    assert effect.saw_row, "the job ran before the row it needs was committed"


async def test_job_enqueued_in_a_rolled_back_unit_of_work_never_runs(
    runtime: JobRuntime, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    token = new_token()

    async def failing_request() -> None:
        async with db.unit_of_work(sessionmaker) as session:
            session.add(WorkItem(id=token, status="pending"))
            runtime.enqueue(session, record, token)
            raise RuntimeError("request failed")

    with pytest.raises(RuntimeError, match="request failed"):
        await failing_request()

    await settle(runtime, sessionmaker)
    assert await effects(sessionmaker, token) == []


async def test_job_enqueued_by_a_job_runs_after_that_jobs_commit(
    runtime: JobRuntime, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    token = new_token()
    await runtime.kick(chain, token)

    [effect] = await eventually(lambda: effects(sessionmaker, token))
    assert effect.job == "jobtest.record"
    assert effect.saw_row


async def test_failing_job_is_retried_until_it_succeeds(
    runtime: JobRuntime, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    token = new_token()
    await runtime.kick("jobtest.flaky", token, 1)

    await eventually(lambda: effects(sessionmaker, token))
    await settle(runtime, sessionmaker)
    assert [a.attempt for a in await effects(sessionmaker, token)] == [1, 2]


async def test_failing_job_stops_after_max_attempts_with_growing_delays(
    runtime: JobRuntime,
    sessionmaker: async_sessionmaker[AsyncSession],
    jobs_settings: Settings,
) -> None:
    token = new_token()
    await runtime.kick(flaky, token, 99)

    async def three_attempts() -> bool:
        return len(await effects(sessionmaker, token)) >= 3

    await eventually(three_attempts)
    await settle(runtime, sessionmaker)
    await asyncio.sleep(4 * jobs_settings.job_retry_base_seconds)  # longer than a 4th delay
    attempts = await effects(sessionmaker, token)
    assert [a.attempt for a in attempts] == [1, 2, 3]
    assert registered_jobs()["jobtest.flaky"].max_attempts == 3

    # Delays of base * 2^(n-1), each jittered down to no less than half of itself.
    base = jobs_settings.job_retry_base_seconds
    first_gap = (attempts[1].at - attempts[0].at).total_seconds()
    second_gap = (attempts[2].at - attempts[1].at).total_seconds()
    assert first_gap >= 0.5 * base
    assert second_gap >= 0.5 * 2 * base


async def test_permanent_failure_is_not_retried(
    runtime: JobRuntime, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    token = new_token()
    await runtime.kick(hopeless, token)

    await eventually(lambda: effects(sessionmaker, token))
    await settle(runtime, sessionmaker)
    assert [a.attempt for a in await effects(sessionmaker, token)] == [1]


def test_backoff_doubles_up_to_the_cap() -> None:
    for attempt, full in [(1, 2.0), (2, 4.0), (3, 8.0), (10, 60.0)]:
        delay = backoff_seconds(attempt, base=2.0, cap=60.0)
        assert 0.5 * full <= delay <= full


async def test_kick_refuses_unknown_jobs_and_non_json_arguments(
    client_runtime: JobRuntime, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    with pytest.raises(UnknownJobError):
        await client_runtime.kick("jobtest.no_such_job")
    with pytest.raises(TypeError, match="JSON"):
        await client_runtime.kick(record, uuid.uuid4())
    # In a unit of work the mistake surfaces in the caller, before anything is committed.
    async with sessionmaker() as session:
        with pytest.raises(TypeError, match="JSON"):
            client_runtime.enqueue(session, record, object())
        assert db.pending_after_commit(session) == 0


def test_load_job_modules_skips_missing_modules_only() -> None:
    assert load_job_modules(["socialsell.no_such_domain.tasks", "json"]) == ["json"]
    # A module that exists but fails to import is a bug, not a domain without jobs.
    with pytest.raises(ModuleNotFoundError, match="socialsell_no_such_package"):
        load_job_modules(["tests.core.broken_tasks"])


@pytest.mark.parametrize("jobs_settings", ["sqlite-memory"], indirect=True)
async def test_in_process_jobs_run_at_most_worker_concurrency_at_once(
    jobs_settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    runtime = JobRuntime(jobs_settings.model_copy(update={"worker_concurrency": 2}), sessionmaker)
    await runtime.startup()
    Concurrency.peak = 0
    try:
        for _ in range(6):
            await runtime.kick(sleepy, 0.05)
        await runtime.drain()
    finally:
        await runtime.shutdown()
    assert Concurrency.peak == 2


@pytest.mark.parametrize("jobs_settings", ["postgres-redis"], indirect=True)
async def test_worker_in_another_process_runs_a_job_kicked_here(
    jobs_settings: Settings,
    client_runtime: JobRuntime,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    worker = spawn(jobs_settings, "worker")
    try:
        token = new_token()
        async with db.unit_of_work(sessionmaker) as session:
            session.add(WorkItem(id=token, status="pending"))
            client_runtime.enqueue(session, record, token)

        [effect] = await eventually(lambda: effects(sessionmaker, token))
        assert effect.saw_row
        assert effect.pid == worker.pid != os.getpid()
    finally:
        # SIGTERM is how process managers stop a worker: it finishes its jobs and exits cleanly.
        worker.send_signal(signal.SIGTERM)
        returncode = await asyncio.to_thread(worker.wait, 60)
    assert returncode == 0


async def test_worker_refuses_to_start_in_embedded_mode(
    jobs_settings: Settings,
) -> None:
    embedded = jobs_settings.model_copy(update={"embedded_jobs": True})
    with pytest.raises(ConfigurationError, match="embedded"):
        await run_worker(embedded)
