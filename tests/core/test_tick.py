"""The scheduler tick on both setups: periodic tasks run once per interval however many ticks
race (in one process or several), claimers run on every tick and find work whose doorbell was
lost, and one failing claimer stops nothing."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from socialsell import db
from socialsell.core.jobs import JobRuntime
from socialsell.core.models import SchedulerLease
from socialsell.core.tick import RETRY_FAILED_AFTER, Tick, jobs_lifespan, run_scheduler
from socialsell.settings import Settings
from tests.core.helpers import eventually, reset_lease, spawn
from tests.core.jobkit import (
    FAILING_DAILY,
    HOURLY,
    WorkItem,
    count_effects,
    effects,
    record,
)


async def test_periodic_task_runs_once_when_two_ticks_race(
    runtime: JobRuntime, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await reset_lease(sessionmaker, HOURLY)
    ticks = [Tick(runtime, claimers=[], periodics=[HOURLY]) for _ in range(2)]

    reports = await asyncio.gather(*(tick.run_once() for tick in ticks))
    assert sorted(len(r.periodic_ran) for r in reports) == [0, 1]
    assert await count_effects(sessionmaker, HOURLY) == 1

    # Within the hour, no tick runs it again.
    await asyncio.gather(*(tick.run_once() for tick in ticks))
    assert await count_effects(sessionmaker, HOURLY) == 1
    async with sessionmaker() as session:
        lease = await session.get_one(SchedulerLease, HOURLY)
    assert lease.locked_until is None, "the lock is released once the run is over"
    assert lease.next_run_at - lease.last_started_at == timedelta(hours=1)


async def test_periodic_task_runs_again_once_its_interval_has_passed(
    runtime: JobRuntime, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await reset_lease(sessionmaker, HOURLY)
    tick = Tick(runtime, claimers=[], periodics=[HOURLY])
    await tick.run_once()

    async with db.unit_of_work(sessionmaker) as session:  # an hour goes by
        await session.execute(
            update(SchedulerLease)
            .where(SchedulerLease.name == HOURLY)
            .values(next_run_at=db.utcnow() - timedelta(seconds=1))
        )
    report = await tick.run_once()
    assert report.periodic_ran == [HOURLY]
    assert await count_effects(sessionmaker, HOURLY) == 2


async def test_failed_periodic_run_is_tried_again_soon_not_next_interval(
    runtime: JobRuntime, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await reset_lease(sessionmaker, FAILING_DAILY)
    report = await Tick(runtime, claimers=[], periodics=[FAILING_DAILY]).run_once()
    assert report.failed == [FAILING_DAILY]

    async with sessionmaker() as session:
        lease = await session.get_one(SchedulerLease, FAILING_DAILY)
    assert lease.locked_until is None
    assert lease.last_finished_at is not None
    assert lease.next_run_at - lease.last_finished_at == RETRY_FAILED_AFTER


async def test_periodic_task_runs_once_when_two_processes_race(
    runtime: JobRuntime,
    jobs_settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """This test's process and another one tick at the same moment."""
    await reset_lease(sessionmaker, HOURLY)
    here = Tick(runtime, claimers=[], periodics=[HOURLY])
    other = spawn(jobs_settings, "tick", HOURLY)
    try:
        assert other.stdin is not None
        assert other.stdout is not None
        assert await asyncio.to_thread(other.stdout.readline) == "ready\n"
        other.stdin.write("go\n")
        other.stdin.flush()
        report_here = await here.run_once()
        stdout, _ = await asyncio.to_thread(other.communicate, None, 60)
    finally:
        if other.poll() is None:
            other.kill()
    assert other.returncode == 0
    report_there = json.loads(stdout)
    assert report_there["failed"] == []
    assert sorted([report_here.periodic_ran, report_there["periodic_ran"]]) == [[], [HOURLY]]
    assert await count_effects(sessionmaker, HOURLY) == 1


async def test_claimer_runs_on_every_tick(
    runtime: JobRuntime, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    before = await count_effects(sessionmaker, "jobtest.count_ticks")
    tick = Tick(runtime, claimers=["jobtest.count_ticks"], periodics=[])

    reports = [await tick.run_once() for _ in range(3)]
    assert [r.claimed for r in reports] == [{"jobtest.count_ticks": 1}] * 3
    assert await count_effects(sessionmaker, "jobtest.count_ticks") == before + 3


async def test_a_failing_claimer_does_not_stop_the_others(
    runtime: JobRuntime, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await reset_lease(sessionmaker, HOURLY)
    tick = Tick(runtime, claimers=["jobtest.broken", "jobtest.count_ticks"], periodics=[HOURLY])

    report = await tick.run_once()
    assert report.failed == ["jobtest.broken"]
    assert report.claimed == {"jobtest.count_ticks": 1}
    assert report.periodic_ran == [HOURLY]


async def test_tick_finds_work_whose_doorbell_was_lost(
    runtime: JobRuntime, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    never_kicked, kick_lost = uuid.uuid4().hex, uuid.uuid4().hex
    async with db.unit_of_work(sessionmaker) as session:
        # Committed, but the process died before its job was sent (or Redis lost the message).
        session.add(WorkItem(id=never_kicked, status="pending"))
        # Claimed by an earlier tick whose job never ran; the claim has expired.
        session.add(
            WorkItem(
                id=kick_lost,
                status="queued",
                claimed_until=db.utcnow() - timedelta(seconds=1),
            )
        )

    report = await Tick(runtime, claimers=["jobtest.pending_items"], periodics=[]).run_once()
    assert report.claimed["jobtest.pending_items"] >= 2

    async def both_done() -> bool:
        async with sessionmaker() as session:
            rows = await session.scalars(
                select(WorkItem.status).where(WorkItem.id.in_([never_kicked, kick_lost]))
            )
            return list(rows) == ["done", "done"]

    await eventually(both_done)


async def test_run_forever_ticks_until_stopped(
    runtime: JobRuntime, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    before = await count_effects(sessionmaker, "jobtest.count_ticks")
    stop = asyncio.Event()
    tick = Tick(runtime, claimers=["jobtest.count_ticks", "jobtest.broken"], periodics=[])
    running = asyncio.create_task(tick.run_forever(stop))

    async def ticked_three_times() -> bool:
        return await count_effects(sessionmaker, "jobtest.count_ticks") >= before + 3

    await eventually(ticked_three_times)
    stop.set()
    await asyncio.wait_for(running, timeout=30)


async def test_run_scheduler_runs_the_registered_claimers_until_stopped(
    jobs_settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    before = await count_effects(sessionmaker, "jobtest.count_ticks")
    stop = asyncio.Event()
    scheduler = asyncio.create_task(run_scheduler(jobs_settings, stop=stop))

    async def ticked() -> bool:
        return await count_effects(sessionmaker, "jobtest.count_ticks") > before

    await eventually(ticked)
    stop.set()
    await asyncio.wait_for(scheduler, timeout=30)


async def test_jobs_lifespan_runs_the_tick_in_process_in_embedded_mode_only(
    jobs_settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    before = await count_effects(sessionmaker, "jobtest.count_ticks")

    async def ticked() -> bool:
        return await count_effects(sessionmaker, "jobtest.count_ticks") > before

    async with jobs_lifespan(jobs_settings, sessionmaker) as runtime:
        if runtime.in_process:
            await eventually(ticked)
            token = uuid.uuid4().hex
            await runtime.kick(record, token)
            await eventually(lambda: effects(sessionmaker, token))
        else:
            await asyncio.sleep(0.3)  # six tick intervals: none may run in a web process
            assert not await ticked()
