"""The scheduler tick: every ``settings.tick_seconds``, find due work in the database and start it.

Two kinds of things run on a tick:

- **claimers** (``@claimer``) run on every tick. A claimer claims its own rows with one atomic
  UPDATE (e.g. ``status='scheduled' AND scheduled_at <= now`` -> ``publishing`` with a lease) and
  enqueues a job per claimed row. Claimers are how lost doorbells are found again: a row whose job
  was never sent, or was lost with Redis, is still due, so the next tick claims it.
- **periodic tasks** (``@periodic``) run at most once per interval across all tick processes,
  through their row in ``scheduler_leases`` (see :class:`socialsell.core.models.SchedulerLease`).

Both are safe with several tick processes at once (the embedded one in ``socialsell serve`` and
any number of ``socialsell scheduler``): all coordination is in the database. A claimer or
periodic task should be quick; anything slow belongs in a job it kicks.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

import structlog
from sqlalchemy import CursorResult, Insert, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from socialsell import db
from socialsell.core.jobs import JobContext, JobRuntime, add_to_registry, stop_on_signals
from socialsell.core.models import SchedulerLease
from socialsell.settings import ConfigurationError, Settings

log = structlog.get_logger(__name__)

PeriodicFn = Callable[[JobContext], Awaitable[None]]
ClaimerFn = Callable[[JobContext], Awaitable[int]]
_P = TypeVar("_P", bound=PeriodicFn)
_C = TypeVar("_C", bound=ClaimerFn)
_T = TypeVar("_T")

# A periodic run holds its lock this long at least, so a run longer than a short interval does
# not overlap the next one; a crashed run's lock expires after it.
MIN_LEASE = timedelta(minutes=5)
# A periodic run that failed is tried again this much later (or at its interval, if sooner).
RETRY_FAILED_AFTER = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Periodic:
    name: str
    fn: PeriodicFn
    every: timedelta
    lease: timedelta


@dataclass(frozen=True, slots=True)
class Claimer:
    name: str
    fn: ClaimerFn


_PERIODICS: dict[str, Periodic] = {}
_CLAIMERS: dict[str, Claimer] = {}


def periodic(name: str, every: timedelta, *, lease: timedelta | None = None) -> Callable[[_P], _P]:
    """Register ``async def fn(ctx: JobContext) -> None`` to run once per ``every`` across all
    tick processes (first run on the first tick that sees it). ``lease`` bounds how long a run
    may hold its lock (default: the longer of ``every`` and 5 minutes). A failed run is logged
    and tried again after ``RETRY_FAILED_AFTER`` (or ``every``, if shorter)."""
    if every <= timedelta(0):
        raise ValueError("every must be positive")

    def register(fn: _P) -> _P:
        spec = Periodic(name, fn, every, lease or max(every, MIN_LEASE))
        add_to_registry(_PERIODICS, name, spec, fn)
        return fn

    return register


def claimer(name: str) -> Callable[[_C], _C]:
    """Register ``async def fn(ctx: JobContext) -> int`` (how many rows it claimed) to run on
    every tick of every tick process; it must claim atomically, since ticks run concurrently."""

    def register(fn: _C) -> _C:
        add_to_registry(_CLAIMERS, name, Claimer(name, fn), fn)
        return fn

    return register


def registered_periodics() -> dict[str, Periodic]:
    return dict(_PERIODICS)


def registered_claimers() -> dict[str, Claimer]:
    return dict(_CLAIMERS)


@dataclass
class TickReport:
    claimed: dict[str, int] = field(default_factory=dict)
    periodic_ran: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def total_claimed(self) -> int:
        return sum(self.claimed.values())


def _select(registry: dict[str, _T], names: Iterable[str] | None) -> list[_T]:
    if names is None:
        return list(registry.values())
    return [registry[name] for name in names]


class Tick:
    """Runs the claimers and due periodic tasks; one instance per tick process.

    ``claimers`` / ``periodics`` restrict it to some names (default: all registered when the
    Tick is built, after :class:`JobRuntime` has loaded the job modules).
    """

    def __init__(
        self,
        runtime: JobRuntime,
        *,
        claimers: Iterable[str] | None = None,
        periodics: Iterable[str] | None = None,
    ) -> None:
        self.runtime = runtime
        self.claimers = _select(_CLAIMERS, claimers)
        self.periodics = _select(_PERIODICS, periodics)
        # Unique per instance: two ticks in one process are as separate as two processes.
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._lease_rows_seen: set[str] = set()

    async def run_once(self) -> TickReport:
        report = TickReport()
        # Concurrently, and each catching its own failure: a slow or failing one never holds up
        # or stops the others.
        await asyncio.gather(
            *(self._run_claimer(c, report) for c in self.claimers),
            *(self._run_periodic(p, report) for p in self.periodics),
        )
        if report.total_claimed or report.periodic_ran or report.failed:
            log.info(
                "tick",
                claimed={k: v for k, v in report.claimed.items() if v},
                periodic_ran=report.periodic_ran,
                failed=report.failed,
            )
        return report

    async def run_forever(self, stop: asyncio.Event) -> None:
        interval = self.runtime.settings.tick_seconds
        loop = asyncio.get_running_loop()
        log.info(
            "tick_started",
            owner=self.owner,
            interval_seconds=interval,
            claimers=[c.name for c in self.claimers],
            periodics=[p.name for p in self.periodics],
        )
        while not stop.is_set():
            started = loop.time()
            try:
                await self.run_once()
            except Exception:  # run_once catches per item; this is a last resort
                log.exception("tick_failed")
            pause = max(0.0, interval - (loop.time() - started))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=pause)
        log.info("tick_stopped", owner=self.owner)

    async def _run_claimer(self, spec: Claimer, report: TickReport) -> None:
        try:
            claimed = await spec.fn(JobContext(self.runtime, spec.name))
        except Exception:
            log.exception("claimer_failed", claimer=spec.name)
            report.failed.append(spec.name)
        else:
            report.claimed[spec.name] = claimed

    async def _run_periodic(self, spec: Periodic, report: TickReport) -> None:
        try:
            if not await self._claim(spec):
                return
        except Exception:
            log.exception("periodic_claim_failed", periodic=spec.name)
            report.failed.append(spec.name)
            return
        succeeded = False
        try:
            await spec.fn(JobContext(self.runtime, spec.name))
            succeeded = True
        except Exception:
            log.exception("periodic_failed", periodic=spec.name)
            report.failed.append(spec.name)
        else:
            report.periodic_ran.append(spec.name)
        finally:
            try:
                await self._release(spec, succeeded=succeeded)
            except Exception:  # the lock then expires at locked_until
                log.exception("periodic_release_failed", periodic=spec.name)

    async def _claim(self, spec: Periodic) -> bool:
        now = db.utcnow()
        async with db.unit_of_work(self.runtime.sessionmaker) as session:
            if spec.name not in self._lease_rows_seen:
                # Due at once on first sight; a concurrent tick inserting the same row is fine.
                await session.execute(_insert_ignoring_conflict(session, spec.name, now))
            # The claim: one conditional UPDATE. Whoever moves next_run_at first wins; the
            # others' WHERE no longer matches (PostgreSQL re-checks it after the winner commits;
            # SQLite lets one writer at a time).
            result = await session.execute(
                update(SchedulerLease)
                .where(
                    SchedulerLease.name == spec.name,
                    SchedulerLease.next_run_at <= now,
                    or_(SchedulerLease.locked_until.is_(None), SchedulerLease.locked_until <= now),
                )
                .values(
                    next_run_at=now + spec.every,
                    locked_until=now + spec.lease,
                    owner=self.owner,
                    last_started_at=now,
                )
                .execution_options(synchronize_session=False)
            )
        self._lease_rows_seen.add(spec.name)
        return cast(CursorResult[Any], result).rowcount == 1

    async def _release(self, spec: Periodic, *, succeeded: bool) -> None:
        now = db.utcnow()
        values: dict[str, Any] = {"locked_until": None, "last_finished_at": now}
        if not succeeded and spec.every > RETRY_FAILED_AFTER:
            # A failed run does not count as the interval's run: try again soon rather than a
            # whole (possibly daily) interval later.
            values["next_run_at"] = now + RETRY_FAILED_AFTER
        async with db.unit_of_work(self.runtime.sessionmaker) as session:
            await session.execute(
                update(SchedulerLease)
                .where(SchedulerLease.name == spec.name, SchedulerLease.owner == self.owner)
                .values(**values)
                .execution_options(synchronize_session=False)
            )


def _insert_ignoring_conflict(session: AsyncSession, name: str, now: datetime) -> Insert:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return (
            postgresql.insert(SchedulerLease)
            .values(name=name, next_run_at=now)
            .on_conflict_do_nothing(index_elements=["name"])
        )
    if dialect == "sqlite":
        return (
            sqlite.insert(SchedulerLease)
            .values(name=name, next_run_at=now)
            .on_conflict_do_nothing(index_elements=["name"])
        )
    raise ConfigurationError(f"unsupported database {dialect!r}: use PostgreSQL or SQLite")


@asynccontextmanager
async def jobs_lifespan(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[JobRuntime]:
    """The jobs of a web process (``socialsell serve``), for the app's lifespan: the runtime to
    kick with, and the tick too if ``settings.tick_in_process`` (embedded mode, by default).
    Stopping lets running jobs finish first."""
    runtime = JobRuntime(settings, sessionmaker)
    await runtime.startup()
    stop = asyncio.Event()
    ticking = (
        asyncio.create_task(Tick(runtime).run_forever(stop)) if settings.tick_in_process else None
    )
    try:
        yield runtime
    finally:
        stop.set()
        if ticking is not None:
            await ticking
        await runtime.shutdown()


async def run_scheduler(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """``socialsell scheduler``: run the tick until ``stop`` is set (default: SIGINT/SIGTERM).

    With Redis the claimed work is sent to the workers; in embedded mode (no Redis) the jobs run
    in this process. Several schedulers at once are safe, and give no more throughput.
    """
    stop = stop or stop_on_signals()
    engine = db.create_engine(settings.db_url)
    runtime = JobRuntime(settings, db.create_sessionmaker(engine))
    await runtime.startup()
    try:
        await Tick(runtime).run_forever(stop)
    finally:
        await runtime.shutdown()
        await engine.dispose()
