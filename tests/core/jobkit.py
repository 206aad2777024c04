"""Tables, settings, jobs, claimers and a periodic task for the tests of core.jobs and core.tick.

The worker and tick subprocesses the tests start import this module too (``python -m
tests.core.proc_main``), so both sides know the same job names and tables.
"""

from __future__ import annotations

import asyncio
import os
from datetime import datetime, timedelta

from sqlalchemy import MetaData, String, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from socialsell.core.jobs import JobContext, PermanentJobError, job
from socialsell.core.tick import claimer, periodic
from socialsell.db import NAMING_CONVENTION, UTCDateTime, utcnow


class TestBase(DeclarativeBase):
    """Work tables of the tests only, kept out of the product's metadata and migrations."""

    __test__ = False  # a class named Test* that pytest must not collect
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime}  # noqa: RUF012 - SQLAlchemy's own hook


class WorkItem(TestBase):
    """A row of work, like a due post: the truth the doorbells point at."""

    __tablename__ = "jobtest_work_items"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # pending -> queued -> done
    claimed_until: Mapped[datetime | None]
    done_by_pid: Mapped[int | None]


class Effect(TestBase):
    """What a job, claimer or periodic task did, and where and when."""

    __tablename__ = "jobtest_effects"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    token: Mapped[str] = mapped_column(String(64), index=True)
    job: Mapped[str] = mapped_column(String(64))
    attempt: Mapped[int]
    saw_row: Mapped[bool]
    pid: Mapped[int]
    at: Mapped[datetime]


def _effect(ctx: JobContext, token: str, *, saw_row: bool = False) -> Effect:
    return Effect(
        token=token,
        job=ctx.job_name,
        attempt=ctx.attempt,
        saw_row=saw_row,
        pid=os.getpid(),
        at=utcnow(),
    )


@job("jobtest.record")
async def record(ctx: JobContext, token: str) -> None:
    """Records whether it could see the WorkItem ``token``: it can only if it runs after the
    transaction that created the item has committed."""
    async with ctx.unit_of_work() as session:
        item = await session.get(WorkItem, token)
        session.add(_effect(ctx, token, saw_row=item is not None))


@job("jobtest.chain")
async def chain(ctx: JobContext, token: str) -> None:
    """A job that creates work and kicks the job for it from its own unit of work."""
    async with ctx.unit_of_work() as session:
        session.add(WorkItem(id=token, status="done"))
        ctx.enqueue(session, record, token)


@job("jobtest.flaky", max_attempts=3)
async def flaky(ctx: JobContext, token: str, failures: int) -> None:
    """Fails its first ``failures`` attempts; every attempt is recorded (and committed)."""
    async with ctx.unit_of_work() as session:
        session.add(_effect(ctx, token))
    if ctx.attempt <= failures:
        raise RuntimeError(f"flaky attempt {ctx.attempt}")


@job("jobtest.hopeless", max_attempts=3)
async def hopeless(ctx: JobContext, token: str) -> None:
    async with ctx.unit_of_work() as session:
        session.add(_effect(ctx, token))
    raise PermanentJobError("retrying cannot help")


@job("jobtest.process")
async def process(ctx: JobContext, item_id: str) -> None:
    """Idempotent: reloads the row and does nothing if the work is already done."""
    async with ctx.unit_of_work() as session:
        item = await session.get(WorkItem, item_id)
        if item is None or item.status == "done":
            return
        item.status = "done"
        item.done_by_pid = os.getpid()


class Concurrency:
    """How many `jobtest.sleepy` jobs run at once in this process, and the most there were."""

    running = 0
    peak = 0


@job("jobtest.sleepy")
async def sleepy(ctx: JobContext, seconds: float) -> None:
    Concurrency.running += 1
    Concurrency.peak = max(Concurrency.peak, Concurrency.running)
    try:
        await asyncio.sleep(seconds)
    finally:
        Concurrency.running -= 1


@claimer("jobtest.pending_items")
async def claim_pending_items(ctx: JobContext) -> int:
    """Claims, in one UPDATE, items never queued and items whose claim expired (their job was
    lost), and rings their doorbell after the commit."""
    now = utcnow()
    async with ctx.unit_of_work() as session:
        result = await session.execute(
            update(WorkItem)
            .where(
                or_(
                    WorkItem.status == "pending",
                    and_(WorkItem.status == "queued", WorkItem.claimed_until <= now),
                )
            )
            .values(status="queued", claimed_until=now + timedelta(minutes=5))
            .returning(WorkItem.id)
            .execution_options(synchronize_session=False)
        )
        ids = list(result.scalars())
        for item_id in ids:
            ctx.enqueue(session, process, item_id)
    return len(ids)


TICK_TOKEN = "tick"


@claimer("jobtest.count_ticks")
async def count_ticks(ctx: JobContext) -> int:
    async with ctx.unit_of_work() as session:
        session.add(_effect(ctx, TICK_TOKEN))
    return 1


@claimer("jobtest.broken")
async def broken(ctx: JobContext) -> int:
    raise RuntimeError("this claimer always fails")


HOURLY = "jobtest.hourly"


@periodic(HOURLY, every=timedelta(hours=1))
async def hourly(ctx: JobContext) -> None:
    async with ctx.unit_of_work() as session:
        session.add(_effect(ctx, HOURLY))


FAILING_DAILY = "jobtest.failing_daily"


@periodic(FAILING_DAILY, every=timedelta(days=1))
async def failing_daily(ctx: JobContext) -> None:
    raise RuntimeError("this periodic task always fails")


async def effects(
    sessionmaker: async_sessionmaker[AsyncSession], token: str, job_name: str | None = None
) -> list[Effect]:
    async with sessionmaker() as session:
        query = select(Effect).where(Effect.token == token).order_by(Effect.id)
        if job_name is not None:
            query = query.where(Effect.job == job_name)
        return list(await session.scalars(query))


async def count_effects(sessionmaker: async_sessionmaker[AsyncSession], job_name: str) -> int:
    async with sessionmaker() as session:
        query = select(func.count()).select_from(Effect).where(Effect.job == job_name)
        return int(await session.scalar(query) or 0)
