"""The migrations are the schema: an empty database migrated to head matches the models
exactly, and every migration can be undone down to an empty database."""

from __future__ import annotations

import uuid
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

import socialsell.models  # noqa: F401 - every table on the metadata
from socialsell import migrations
from socialsell.db import Base, create_engine
from socialsell.inbox.search import include_object
from tests.conftest import BACKEND, POSTGRES_URL


async def _fresh_database(tmp_path: Path) -> str:
    if BACKEND == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    import asyncpg

    name = f"socialsell_migrations_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(f"{POSTGRES_URL}/postgres")
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"{POSTGRES_URL.replace('postgresql://', 'postgresql+asyncpg://')}/{name}"


def _diff(connection: Connection) -> list[object]:
    # The same filter as migrations/env.py: dialect-specific search objects are not in the models.
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_object": include_object}
    )
    return list(compare_metadata(context, Base.metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_migrations_match_the_models_and_downgrade_to_empty(tmp_path: Path) -> None:
    url = await _fresh_database(tmp_path)
    # Alembic's env runs its own event loop; run it off this one.
    import asyncio

    await asyncio.to_thread(migrations.upgrade, url)
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
            assert await conn.run_sync(_tables) >= {t.name for t in Base.metadata.sorted_tables}
        await asyncio.to_thread(migrations.downgrade, url)
        async with engine.connect() as conn:
            assert await conn.run_sync(_tables) == {"alembic_version"}
    finally:
        await engine.dispose()
