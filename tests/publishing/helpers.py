"""Helpers of the publishing tests: uploads, time travel for posts, running the tick."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from PIL import Image
from sqlalchemy import select, update

from meta_sandbox.testing import Sandbox
from socialsell import db
from socialsell.core.tick import Tick
from socialsell.publishing.models import Post
from tests.helpers.factories import ApiUser

CLAIMER = "publishing.due_posts"


def image_bytes(
    width: int = 1080, height: int = 1080, fmt: str = "JPEG", mode: str = "RGB", **save: Any
) -> bytes:
    colour: Any = (200, 40, 120, 128) if mode == "RGBA" else (200, 40, 120)
    img = Image.new(mode, (width, height), colour)
    buffer = io.BytesIO()
    img.save(buffer, format=fmt, **save)
    return buffer.getvalue()


async def upload(
    client: httpx.AsyncClient,
    user: ApiUser,
    data: bytes,
    filename: str = "photo.jpg",
    content_type: str = "application/octet-stream",
) -> httpx.Response:
    return await client.post(
        "/api/v1/media", files={"file": (filename, data, content_type)}, headers=user.headers
    )


async def upload_image(client: httpx.AsyncClient, user: ApiUser, **kwargs: Any) -> str:
    response = await upload(client, user, image_bytes(**kwargs))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def in_an_hour() -> str:
    return (datetime.now(UTC) + timedelta(hours=1)).isoformat()


async def schedule(
    client: httpx.AsyncClient,
    user: ApiUser,
    channel_ids: list[uuid.UUID],
    media_ids: list[str],
    *,
    kind: str = "feed",
    caption: str = "Spring drop #new",
    scheduled_at: str | None = None,
) -> list[dict[str, Any]]:
    response = await client.post(
        "/api/v1/posts",
        json={
            "channel_ids": [str(c) for c in channel_ids],
            "kind": kind,
            "caption": caption,
            "media_ids": media_ids,
            "scheduled_at": scheduled_at or in_an_hour(),
        },
        headers=user.headers,
    )
    assert response.status_code == 201, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def make_due(app: FastAPI, post_id: str | uuid.UUID) -> None:
    """The scheduled time arrives (the product's clock is the real one: move the post)."""
    async with db.unit_of_work(app.state.sessionmaker) as session:
        await session.execute(
            update(Post)
            .where(Post.id == uuid.UUID(str(post_id)))
            .values(scheduled_at=db.utcnow() - timedelta(seconds=1))
        )


async def expire_lease(app: FastAPI, post_id: str | uuid.UUID) -> None:
    """The publisher's lease (or its "look again later") runs out."""
    async with db.unit_of_work(app.state.sessionmaker) as session:
        await session.execute(
            update(Post)
            .where(Post.id == uuid.UUID(str(post_id)))
            .values(lease_until=db.utcnow() - timedelta(seconds=1))
        )


async def tick(app: FastAPI) -> int:
    """One tick of the publishing claimer, then wait for the jobs it rang (in this process)."""
    report = await Tick(app.state.jobs, claimers=[CLAIMER], periodics=[]).run_once()
    await app.state.jobs.drain()
    return report.claimed.get(CLAIMER, 0)


async def post_row(app: FastAPI, post_id: str | uuid.UUID) -> Post:
    async with app.state.sessionmaker() as session:
        post: Post = (
            await session.scalars(select(Post).where(Post.id == uuid.UUID(str(post_id))))
        ).one()
        return post


def published(sandbox: Sandbox, ig_id: str) -> list[dict[str, Any]]:
    response = sandbox.client.get(f"/_sandbox/instagram/accounts/{ig_id}/published")
    response.raise_for_status()
    data: list[dict[str, Any]] = response.json()["data"]
    return data
