"""Storing a delivery on the hot path: one INSERT, committed before the 200.

PostgreSQL: a small asyncpg pool of the intake's own, outside SQLAlchemy. The INSERT runs as a
prepared statement in autocommit — the statement is its own transaction, durable when it returns
— so a delivery costs one round trip, instead of the main pool's pre-ping, BEGIN, INSERT and
COMMIT, and the pool skips asyncpg's reset query on release (nothing here changes session state).
A dead connection (PostgreSQL restarted) is retried once on a fresh one with the same id, so a
retry that races a commit it did not hear about stores nothing twice. The pool opens connections
only when deliveries arrive.

SQLite: one Core INSERT on the app's engine (there is no round trip to save).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from fastapi import FastAPI
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from socialsell.db import utcnow
from socialsell.webhooks.models import DeliveryStatus, WebhookDelivery

# Connections of the intake pool per web process; one INSERT holds one for about a round trip.
POOL_SIZE = 8

_INSERT = (
    "INSERT INTO webhook_deliveries (id, platform, body, status, received_at, kicked_at, attempts)"
    " VALUES ($1, $2, $3, 'pending', $4, $4, 0)"
)
_RETRYABLE = (asyncpg.ConnectionDoesNotExistError, asyncpg.InterfaceError, OSError)


async def _no_reset(connection: Any) -> None:
    """The intake only runs single autocommit INSERTs: nothing to reset between uses."""


class DeliveryStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._pool: Any = None
        self._postgres = engine.dialect.name == "postgresql"

    async def open(self) -> None:
        if self._postgres and self._pool is None:
            _, params = self.engine.dialect.create_connect_args(self.engine.url)
            self._pool = await asyncpg.create_pool(
                **params, min_size=0, max_size=POOL_SIZE, reset=_no_reset
            )

    async def close(self) -> None:
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
        assert self._pool is not None  # noqa: S101 - opened just above
        try:
            await self._pool.execute(_INSERT, delivery_id, platform, body, now)
        except _RETRYABLE:
            try:
                await self._pool.execute(_INSERT, delivery_id, platform, body, now)
            except asyncpg.UniqueViolationError:
                pass  # the first attempt did commit
        return delivery_id


def delivery_store(app: FastAPI) -> DeliveryStore:
    store: DeliveryStore | None = getattr(app.state, "delivery_store", None)
    if store is None:  # an app served without its lifespan (never closed: only in odd setups)
        store = app.state.delivery_store = DeliveryStore(app.state.engine)
    return store


@asynccontextmanager
async def intake_lifespan(app: FastAPI) -> AsyncIterator[None]:
    store = app.state.delivery_store = DeliveryStore(app.state.engine)
    await store.open()
    try:
        yield
    finally:
        await store.close()
