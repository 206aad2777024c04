"""Jobs: async functions that run outside the request (or job) that asked for them.

Jobs are doorbells, the database is the truth. A job's arguments are ids and small JSON values;
the job reloads its rows, checks whether the work is still to do, and does it, so running it twice
changes nothing. Losing a job (Redis flushed, a worker killed) loses no work: the scheduler tick's
claimers find the rows again and ring the bell once more (see :mod:`socialsell.core.tick`).

Two brokers, one API, chosen at runtime from the settings:

- embedded (``settings.jobs_in_process``): Taskiq's in-memory broker; a kick runs the job as an
  asyncio task in this process (``socialsell serve``).
- production: Taskiq-redis's Redis Streams broker; the web and the scheduler only send, and
  ``socialsell worker`` processes (:func:`run_worker`) receive and run.

Registration (:func:`job`) needs no broker, because which broker is only known once the settings
are: each :class:`JobRuntime` builds its broker and registers every job of the registry into it.

Kick from a request or a job with :meth:`JobRuntime.enqueue` (or :meth:`JobContext.enqueue`): the
message is sent only after the transaction commits and dropped on rollback, so a job never runs
ahead of the data it needs, nor for data that was never stored.

A failing job is retried in place with exponential backoff, up to ``max_attempts`` attempts in
all. Retrying inside the running job, rather than re-sending, keeps the behaviour identical on
both brokers (neither honours a delayed send) and keeps the Redis message unacknowledged until the
job is settled, so a worker that dies mid-backoff leaves the message to be redelivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import random
import signal
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from taskiq import AsyncBroker, InMemoryBroker
from taskiq.receiver import Receiver
from taskiq_redis import RedisStreamBroker

from socialsell import db
from socialsell.settings import ConfigurationError, Settings

log = structlog.get_logger(__name__)

# Modules that define jobs, periodic tasks and claimers. Importing them fills the registries; a
# module that does not exist yet is skipped, so a domain adds its `tasks.py` and it is picked up.
JOB_MODULES: list[str] = [
    "socialsell.accounts.tasks",
    "socialsell.channels.tasks",
    "socialsell.inbox.tasks",
    "socialsell.webhooks.tasks",
    "socialsell.publishing.tasks",
    "socialsell.analytics.tasks",
    "socialsell.notifications.tasks",
    "socialsell.whatsapp.templates.tasks",
]

CONSUMER_GROUP = "socialsell-workers"
# How long a stopping process waits for running jobs. A job cut off after that is not lost: on
# Redis its message stays unacknowledged and is redelivered; in memory the tick finds its rows.
SHUTDOWN_GRACE_SECONDS = 30.0
# A Redis message taken by a worker and not acknowledged for this long is handed to another worker
# (the first one presumably died). Retries with backoff must settle well within it.
REDELIVER_AFTER_MS = 10 * 60 * 1000
# The stream keeps at most about this many messages, acknowledged or not. Trimming a backlog that
# long loses doorbells, never work: the tick rings them again.
STREAM_MAXLEN = 100_000

JobFn = Callable[..., Awaitable[None]]
_F = TypeVar("_F", bound=Callable[..., Awaitable[Any]])
_T = TypeVar("_T")


class PermanentJobError(Exception):
    """Raise from a job to fail it without further attempts (retrying cannot help)."""


class UnknownJobError(LookupError):
    """A kick names no registered job (its module is missing from ``JOB_MODULES``?)."""


@dataclass(frozen=True, slots=True)
class JobSpec:
    name: str
    fn: JobFn
    max_attempts: int


_JOBS: dict[str, JobSpec] = {}


def add_to_registry(registry: dict[str, _T], name: str, item: _T, fn: Callable[..., Any]) -> None:
    """Register ``item`` under ``name``; a second, different function under the same name is a
    bug (messages in flight name their job), but re-importing the same function is not."""
    existing = registry.get(name)
    if existing is not None:
        existing_fn = getattr(existing, "fn", None)
        if _qualified(existing_fn) != _qualified(fn):
            raise ValueError(f"{name!r} is already registered by {_qualified(existing_fn)}")
    registry[name] = item


def _qualified(fn: object) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', '?')}"


def job(name: str | None = None, *, max_attempts: int = 3) -> Callable[[_F], _F]:
    """Register ``async def fn(ctx: JobContext, *args) -> None`` as a job.

    ``name`` is what messages carry; it defaults to ``module:function`` but a stable explicit
    name survives refactors while messages are in flight. ``max_attempts`` counts the first try.
    The function is returned unchanged, so tests can also call it directly.
    """
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")

    def register(fn: _F) -> _F:
        job_name = name or f"{fn.__module__}:{fn.__qualname__}"
        add_to_registry(_JOBS, job_name, JobSpec(job_name, fn, max_attempts), fn)
        return fn

    return register


def registered_jobs() -> Mapping[str, JobSpec]:
    return dict(_JOBS)


def job_name_of(job_or_name: str | Callable[..., Any]) -> str:
    if isinstance(job_or_name, str):
        if job_or_name not in _JOBS:
            raise UnknownJobError(f"no job named {job_or_name!r}")
        return job_or_name
    for spec in _JOBS.values():
        if spec.fn is job_or_name:
            return spec.name
    raise UnknownJobError(f"{_qualified(job_or_name)} is not decorated with @job")


def load_job_modules(modules: Iterable[str] | None = None) -> list[str]:
    """Import the modules that register jobs (default ``JOB_MODULES``); return those found.

    Only the absence of the module itself is tolerated: an import error *inside* an existing
    module is a bug and is raised.
    """
    loaded = []
    for module in JOB_MODULES if modules is None else modules:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            missing = exc.name or ""
            if missing and (module == missing or module.startswith(missing + ".")):
                continue
            raise
        loaded.append(module)
    return loaded


def backoff_seconds(attempt: int, base: float, cap: float) -> float:
    """Delay after failed ``attempt`` (1-based): base * 2^(attempt-1), capped, with "equal
    jitter" (between half and all of it) so jobs that failed together do not retry together."""
    delay: float = min(cap, base * 2 ** (attempt - 1))
    return delay * random.uniform(0.5, 1.0)  # noqa: S311 - spreading load, not a secret


def _check_json(job_name: str, args: tuple[Any, ...]) -> None:
    # Fail in the caller, not later in an after-commit hook or a worker: both brokers carry
    # arguments as JSON, and a UUID or a model instance would arrive as something else.
    try:
        json.dumps(args, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"arguments of job {job_name!r} must be JSON values (pass ids as str): {exc}"
        ) from exc


@dataclass(frozen=True, slots=True)
class JobContext:
    """What a job, periodic task or claimer receives: the runtime and this attempt's facts."""

    runtime: JobRuntime
    job_name: str
    attempt: int = 1
    max_attempts: int = 1

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    @property
    def sessionmaker(self) -> async_sessionmaker[AsyncSession]:
        return self.runtime.sessionmaker

    @property
    def log(self) -> structlog.stdlib.BoundLogger:
        return cast(
            structlog.stdlib.BoundLogger,
            log.bind(job=self.job_name, attempt=self.attempt),
        )

    def unit_of_work(self) -> AbstractAsyncContextManager[AsyncSession]:
        """One transaction: commit on success, then run after-commit actions (kicks, live
        events); roll back and drop them on error."""
        return db.unit_of_work(self.sessionmaker)

    def enqueue(self, session: AsyncSession, job: str | JobFn, *args: Any) -> None:
        self.runtime.enqueue(session, job, *args)

    async def kick(self, job: str | JobFn, *args: Any) -> None:
        await self.runtime.kick(job, *args)


class JobRuntime:
    """The broker of this process, with every registered job, and the ways to kick them."""

    def __init__(self, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        # Importing here makes the registry complete whoever builds the runtime (web, worker,
        # scheduler, a test): a job missing from the broker would only show up as a lost kick.
        load_job_modules()
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.in_process = settings.jobs_in_process
        self.queue_name = settings.jobs_queue_name
        self._retry_base = settings.job_retry_base_seconds
        self._retry_max = settings.job_retry_max_seconds
        self._running: set[asyncio.Task[Any]] = set()
        # In-process kicks whose asyncio task has not reached `_execute` yet, so that `drain`
        # does not return in the gap between a kick and the start of its job.
        self._starting = 0
        # Taskiq's in-memory broker starts every kick at once; a claimer that claims a thousand
        # rows must not start a thousand jobs (on SQLite, a thousand writers). Redis workers
        # bound themselves in the Receiver.
        self._slots = asyncio.Semaphore(settings.worker_concurrency)
        self.broker = self._build_broker()
        for spec in _JOBS.values():
            self.broker.register_task(self._taskiq_function(spec), task_name=spec.name)

    def _build_broker(self) -> AsyncBroker:
        if self.in_process:
            # cast_types=False: arguments are JSON by contract; no guessing from annotations.
            return InMemoryBroker(cast_types=False, max_stored_results=1)
        if self.settings.redis_url is None:
            raise ConfigurationError(
                "SOCIALSELL_EMBEDDED_JOBS is off but SOCIALSELL_REDIS_URL is not set; "
                "jobs need Redis outside embedded mode."
            )
        return RedisStreamBroker(
            url=self.settings.redis_url,
            queue_name=self.queue_name,
            consumer_group_name=CONSUMER_GROUP,
            # "0": a group created after messages were sent still delivers them.
            consumer_id="0",
            maxlen=STREAM_MAXLEN,
            approximate=True,
            idle_timeout=REDELIVER_AFTER_MS,
            # Workers take turns reclaiming stale messages under a Redis lock; without a timeout
            # a worker killed while holding it would stall every other worker's reads.
            unacknowledged_lock_timeout=30.0,
            xread_block=1000,
        )

    def _taskiq_function(self, spec: JobSpec) -> Callable[..., Awaitable[None]]:
        async def run(*args: Any) -> None:
            await self._execute(spec, args)

        run.__name__ = run.__qualname__ = spec.name
        return run

    async def _execute(self, spec: JobSpec, args: tuple[Any, ...]) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        if self.in_process:
            self._starting -= 1
        try:
            async with self._slots if self.in_process else contextlib.nullcontext():
                await self._attempts(spec, args)
        finally:
            if task is not None:
                self._running.discard(task)

    async def _attempts(self, spec: JobSpec, args: tuple[Any, ...]) -> None:
        for attempt in range(1, spec.max_attempts + 1):
            ctx = JobContext(self, spec.name, attempt, spec.max_attempts)
            started = time.monotonic()
            try:
                await spec.fn(ctx, *args)
            except PermanentJobError as exc:
                log.warning("job_failed_permanently", job=spec.name, attempt=attempt, error=exc)
                return
            except Exception:
                if attempt == spec.max_attempts:
                    # Logged, not raised: Taskiq would only log it again. The rows still say
                    # what was left undone.
                    log.exception("job_failed", job=spec.name, attempt=attempt)
                    return
                delay = backoff_seconds(attempt, self._retry_base, self._retry_max)
                log.warning(
                    "job_retrying",
                    job=spec.name,
                    attempt=attempt,
                    max_attempts=spec.max_attempts,
                    delay_seconds=round(delay, 3),
                    exc_info=True,
                )
                await asyncio.sleep(delay)
            else:
                log.info(
                    "job_done",
                    job=spec.name,
                    attempt=attempt,
                    seconds=round(time.monotonic() - started, 3),
                )
                return

    async def startup(self) -> None:
        await self.broker.startup()

    async def shutdown(self) -> None:
        """Stop: let in-process jobs finish (up to a grace period), then close the broker."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(SHUTDOWN_GRACE_SECONDS):
                await self.drain()
        for task in list(self._running):
            task.cancel()
        await self.broker.shutdown()

    async def drain(self) -> None:
        """Wait until no job runs in this process, including the jobs those jobs kick. With Redis,
        jobs run in the workers and there is nothing to wait for here."""
        while self._running or self._starting > 0:
            if self._running:
                await asyncio.wait(set(self._running))
            else:
                await asyncio.sleep(0.005)

    async def kick(self, job: str | JobFn, *args: Any) -> None:
        """Send now. Inside a transaction, use :meth:`enqueue` instead."""
        name = job_name_of(job)
        _check_json(name, args)
        task = self.broker.find_task(name)
        if task is None:  # registered after this runtime was built
            raise UnknownJobError(f"job {name!r} was registered after the runtime was built")
        if self.in_process:
            self._starting += 1
        try:
            await task.kiq(*args)
        except BaseException:
            if self.in_process:
                self._starting -= 1
            raise
        log.debug("job_kicked", job=name)

    def enqueue(self, session: AsyncSession, job: str | JobFn, *args: Any) -> None:
        """Send once ``session`` commits (see :func:`socialsell.db.commit`); drop on rollback."""
        name = job_name_of(job)
        _check_json(name, args)

        async def send() -> None:
            await self.kick(name, *args)

        send.__qualname__ = f"kick {name}"  # what db.commit logs if sending fails
        db.after_commit(session, send)


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM, for the long-running commands."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        # Not available off the main thread or on Windows; the caller then stops by cancelling.
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    return stop


async def run_worker(
    settings: Settings, *, stop: asyncio.Event | None = None, concurrency: int | None = None
) -> None:
    """``socialsell worker``: receive jobs from the Redis stream and run them until ``stop`` is
    set (default: SIGINT/SIGTERM). ``concurrency`` jobs at most run at once (default the
    ``worker_concurrency`` setting). Run as many worker processes as the load needs."""
    if settings.jobs_in_process:
        raise ConfigurationError(
            "Jobs run inside `socialsell serve` in embedded mode; a worker needs "
            "SOCIALSELL_REDIS_URL (and SOCIALSELL_EMBEDDED_JOBS unset or false)."
        )
    stop = stop or stop_on_signals()
    limit = concurrency or settings.worker_concurrency
    engine = db.create_engine(settings.db_url)
    runtime = JobRuntime(settings, db.create_sessionmaker(engine))
    runtime.broker.is_worker_process = True
    await runtime.startup()
    log.info(
        "worker_started",
        queue=runtime.queue_name,
        concurrency=limit,
        jobs=sorted(_JOBS),
    )
    try:
        # Taskiq runs plain functions in this pool; our jobs are all async, so one thread will do.
        with ThreadPoolExecutor(max_workers=1) as executor:
            failures = 0
            while not stop.is_set():
                receiver = Receiver(
                    broker=runtime.broker,
                    executor=executor,
                    validate_params=False,
                    max_async_tasks=limit,
                    run_startup=False,
                    wait_tasks_timeout=SHUTDOWN_GRACE_SECONDS,
                )
                try:
                    # Returns once `stop` is set and running jobs have finished.
                    await receiver.listen(stop)
                except Exception:
                    # Redis restarting or unreachable: keep trying, a little slower each time.
                    failures += 1
                    pause = min(30.0, 0.5 * 2 ** min(failures, 6))
                    log.exception("worker_listen_failed", retry_in_seconds=pause)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=pause)
                else:
                    failures = 0
    finally:
        await runtime.shutdown()
        await engine.dispose()
        log.info("worker_stopped", queue=runtime.queue_name)
