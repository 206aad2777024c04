"""Alembic environment: one linear history that runs on SQLite and PostgreSQL.

The URL comes from ``config.attributes["url"]`` (set by ``socialsell.migrations``) or Settings.
SQLite needs batch mode to alter tables, so it is on for every migration.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

import socialsell.models  # noqa: F401 - registers every table on Base.metadata
from socialsell.db import Base, create_engine
from socialsell.inbox.search import include_object
from socialsell.settings import Settings

target_metadata = Base.metadata


def _url() -> str:
    url = context.config.attributes.get("url")
    return str(url) if url else Settings().db_url


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        # Dialect-specific search objects (FTS5 tables, the GIN index) are not in the models.
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_engine(_url())
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_configure)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_async())
