"""Pointing the product at the Meta sandbox and connecting an account, for the inbox and webhook
tests (the channels tests do the same through their conftest)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import func, select

from meta_sandbox.testing import Sandbox
from socialsell.settings import Settings
from tests.channels.conftest import Consent, connect_instagram
from tests.helpers.factories import ApiUser

T = TypeVar("T")


def sandbox_settings(settings: Settings, sandbox: Sandbox) -> Settings:
    return settings.model_copy(
        update={
            "meta_graph_url": sandbox.url,
            "meta_oauth_url": sandbox.url,
            "meta_authorize_url": sandbox.url,
            "meta_facebook_graph_url": sandbox.url,
            "meta_app_id": sandbox.app_id,
            "meta_app_secret": SecretStr(sandbox.app_secret),
            # Jobs run in the process that kicks them on both backends, so that tests can wait
            # for them (`jobs.drain()`); Redis still carries pub/sub and rate limits.
            "embedded_jobs": True,
        }
    )


@dataclass
class Shop:
    """A seller with a connected Instagram account."""

    seller: ApiUser
    account: dict[str, Any]
    channel: dict[str, Any]

    @property
    def ig_id(self) -> str:
        return str(self.account["id"])

    @property
    def channel_id(self) -> uuid.UUID:
        return uuid.UUID(self.channel["id"])


async def connect_shop(
    client: httpx.AsyncClient,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    username: str = "sunny_shop",
) -> Shop:
    account = sandbox.create_account(username)
    response = await connect_instagram(client, consent, seller, account["id"])
    assert response.status_code == 200, response.text
    return Shop(seller, account, response.json())


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def post_delivery(
    client: httpx.AsyncClient, secret: str, body: bytes, *, signature: str | None = None
) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    headers["X-Hub-Signature-256"] = signature if signature is not None else sign(secret, body)
    return await client.post("/webhooks/instagram", content=body, headers=headers)


async def wait_until(
    check: Callable[[], Awaitable[T]], *, within: float = 8.0, what: str = "condition"
) -> T:
    """Poll ``check`` until it returns something truthy (no fixed sleeps)."""
    deadline = time.monotonic() + within
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what} (last: {value!r})")
        await asyncio.sleep(0.03)


async def count(app: FastAPI, model: Any, *where: Any) -> int:
    async with app.state.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def rows(app: FastAPI, stmt: Any) -> list[Any]:
    async with app.state.sessionmaker() as session:
        return list((await session.scalars(stmt)).all())
