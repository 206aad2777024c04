"""Storing a delivery on the hot path: one INSERT, committed before the 200.

PostgreSQL: a small asyncpg pool of the intake's own, outside SQLAlchemy, and group commit:
the deliveries waiting to be stored go in one prepared multi-row INSERT in autocommit (the
statement is its own transaction, durable when it returns), each request answering 200 once its
row is committed. A delivery alone costs one round trip (instead of the main pool's pre-ping,
BEGIN, INSERT and COMMIT); under load, a burst shares one round trip, one transaction and one
WAL flush. The pool skips asyncpg's reset query on release (nothing here changes session state)
and opens connections only when deliveries arrive. A dead connection (PostgreSQL restarted) is
retried on a fresh one; ``ON CONFLICT (id) DO NOTHING`` makes a retry that races a commit it
did not hear about store nothing twice.

SQLite: one Core INSERT on the app's engine (there is no round trip to save).

The processing job's doorbell is rung after the 200 (the row is the truth: a doorbell lost with
the process is rung again by the tick). With Redis, the deliveries stored while one doorbell is
on its way go together in the next: one job per burst instead of one Redis message per delivery,
and no waiting when deliveries are few.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import structlog
from fastapi import FastAPI
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from socialsell.core.jobs import JobRuntime
from socialsell.db import utcnow
from socialsell.webhooks.models import DeliveryStatus, WebhookDelivery

log = structlog.get_logger(__name__)

# Connections of the intake pool per web process; one INSERT holds one for about a round trip.
POOL_SIZE = 8

_INSERT = (
    "INSERT INTO webhook_deliveries (id, platform, body, status, received_at, kicked_at, attempts)"
    " SELECT id, platform, body, 'pending', at, at, 0"
    " FROM unnest($1::uuid[], $2::text[], $3::bytea[], $4::timestamptz[]) AS d(id, platform, body, at)"
    " ON CONFLICT (id) DO NOTHING"
)
# A delivery waiting to be written, and the request waiting for it.
_Waiting = tuple[uuid.UUID, str, bytes, datetime, "asyncio.Future[None]"]
# Deliveries per INSERT, and per doorbell (one job processes them one by one), at most.
BATCH = 100
# A connection that died under us: closed, told "terminating connection" (class 57, what a
# PostgreSQL restart says to its clients) or a connection exception (class 08), or caught by
# asyncpg half-way through noticing (InternalClientError "another operation is in progress").
_RETRYABLE = (
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.PostgresConnectionError,
    OSError,
)


async def _no_reset(connection: Any) -> None:
    """The intake only runs single autocommit INSERTs: nothing to reset between uses."""


class DeliveryStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._pool: Any = None
        self._postgres = engine.dialect.name == "postgresql"
        self._waiting: list[_Waiting] = []
        self._writers: set[asyncio.Task[None]] = set()

    async def open(self) -> None:
        if self._postgres and self._pool is None:
            _, params = self.engine.dialect.create_connect_args(self.engine.url)
            self._pool = await asyncpg.create_pool(
                **params, min_size=0, max_size=POOL_SIZE, reset=_no_reset
            )

    async def _insert(self, columns: list[tuple[Any, ...]]) -> None:
        # After a restart every pooled connection is dead; each failed try drops one.
        for _ in range(POOL_SIZE):
            try:
                await self._pool.execute(_INSERT, *columns)
                return
            except _RETRYABLE:
                continue
        await self._pool.execute(_INSERT, *columns)

    async def close(self) -> None:
        if self._writers:
            await asyncio.gather(*self._writers, return_exceptions=True)
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def store(self, platform: str, body: bytes) -> uuid.UUID:
        delivery_id = uuid.uuid4()
        now = utcnow()
        if not self._postgres:
            async with self.engine.begin() as conn:
                await conn.execute(
                    insert(WebhookDelivery).values(
                        id=delivery_id,
                        platform=platform,
                        body=body,
                        status=DeliveryStatus.pending,
                        received_at=now,
                        kicked_at=now,
                        attempts=0,
                    )
                )
            return delivery_id
        if self._pool is None:
            await self.open()
        written = asyncio.get_running_loop().create_future()
        self._waiting.append((delivery_id, platform, body, now, written))
        if len(self._writers) < POOL_SIZE:
            writer = asyncio.create_task(self._write())
            self._writers.add(writer)
            writer.add_done_callback(self._writers.discard)
        await written
        return delivery_id

    async def _write(self) -> None:
        """Store whatever waits, in batches, until nothing does."""
        while self._waiting:
            batch, self._waiting = self._waiting[:BATCH], self._waiting[BATCH:]
            columns = list(zip(*(w[:4] for w in batch), strict=True))
            try:
                await self._insert(columns)
            except Exception as exc:  # noqa: BLE001 - handed to every request of the batch
                for *_, written in batch:
                    if not written.done():
                        written.set_exception(exc)
            else:
                for *_, written in batch:
                    if not written.done():  # its request may have been cancelled meanwhile
                        written.set_result(None)


class Doorbell:
    def __init__(self, jobs: JobRuntime) -> None:
        self.jobs = jobs
        self._waiting: list[str] = []
        self._sender: asyncio.Task[None] | None = None

    async def ring(self, delivery_id: str) -> None:
        if self.jobs.in_process:
            # In-process jobs cost no round trip, and the caller can wait for them (drain).
            await self._send([delivery_id])
            return
        self._waiting.append(delivery_id)
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send_waiting())

    async def _send_waiting(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:BATCH], self._waiting[BATCH:]
            await self._send(batch)

    async def _send(self, batch: list[str]) -> None:
        try:
            if len(batch) == 1:
                await self.jobs.kick("webhooks.process_delivery", batch[0])
            else:
                await self.jobs.kick("webhooks.process_deliveries", batch)
        except Exception:  # stored: the tick re-kicks them; a lost doorbell is no error for Meta
            log.warning("webhook_kick_failed", deliveries=len(batch), exc_info=True)

    async def close(self) -> None:
        if self._sender is not None:
            await self._sender


class Intake:
    def __init__(self, engine: AsyncEngine, jobs: JobRuntime) -> None:
        self.store = DeliveryStore(engine)
        self.doorbell = Doorbell(jobs)


def intake_of(app: FastAPI) -> Intake:
    intake: Intake | None = getattr(app.state, "webhook_intake", None)
    if intake is None:  # an app served without its lifespan (never closed: only in odd setups)
        intake = app.state.webhook_intake = Intake(app.state.engine, app.state.jobs)
    return intake


@asynccontextmanager
async def intake_lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Nested inside the app's lifespan (FastAPI merges a router's): the job runtime is up.
    intake = app.state.webhook_intake = Intake(app.state.engine, app.state.jobs)
    await intake.store.open()
    try:
        yield
    finally:
        await intake.doorbell.close()
        await intake.store.close()
