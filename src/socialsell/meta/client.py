"""The entry point: one :class:`MetaClient` per process, per-account clients from it.

    async with MetaClient(config) as meta:
        token = await meta.oauth.exchange_code(code=code, redirect_uri=redirect_uri)
        account = meta.instagram(token.access_token.get_secret_value(), ig_user_id)
        await account.send_text(igsid, "Hello")

The ``MetaClient`` owns (or borrows) the single ``httpx.AsyncClient`` and the usage tracker;
:meth:`instagram` and :meth:`whatsapp` return cheap objects bound to one account that share them.
"""

from __future__ import annotations

import asyncio
import random
import time
from types import TracebackType
from typing import Self

import httpx

from socialsell.meta.config import MetaConfig
from socialsell.meta.http import Clock, Jitter, MetaTransport, Sleep
from socialsell.meta.instagram import InstagramClient
from socialsell.meta.oauth import InstagramOAuth
from socialsell.meta.usage import UsageTracker
from socialsell.meta.whatsapp import WhatsAppClient


class MetaClient:
    def __init__(
        self,
        config: MetaConfig,
        *,
        http_client: httpx.AsyncClient | None = None,
        usage_tracker: UsageTracker | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.time,
        jitter: Jitter = random.random,
    ) -> None:
        self.transport = MetaTransport(
            config,
            http_client=http_client,
            usage_tracker=usage_tracker,
            sleep=sleep,
            clock=clock,
            jitter=jitter,
        )
        self.oauth = InstagramOAuth(self.transport)

    @property
    def config(self) -> MetaConfig:
        return self.transport.config

    @property
    def usage_tracker(self) -> UsageTracker:
        return self.transport.usage_tracker

    def instagram(self, access_token: str, ig_user_id: str = "me") -> InstagramClient:
        return InstagramClient(self.transport, access_token, ig_user_id)

    def whatsapp(
        self, access_token: str, phone_number_id: str, waba_id: str | None = None
    ) -> WhatsAppClient:
        return WhatsAppClient(self.transport, access_token, phone_number_id, waba_id)

    async def aclose(self) -> None:
        await self.transport.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
