"""A seller with a connected WhatsApp number in the sandbox, and customers who write to it."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from meta_sandbox.testing import Sandbox
from socialsell.inbox.models import Conversation
from socialsell.settings import Settings
from tests.helpers.factories import ApiUser
from tests.helpers.instagram import rows, wait_until


@dataclass
class Number:
    """A seller's connected WhatsApp number (the sandbox's account and our channel)."""

    seller: ApiUser
    account: dict[str, Any]
    channel: dict[str, Any]

    @property
    def phone_number_id(self) -> str:
        return str(self.account["phone_number_id"])

    @property
    def waba_id(self) -> str:
        return str(self.account["waba_id"])

    @property
    def channel_id(self) -> uuid.UUID:
        return uuid.UUID(self.channel["id"])


def create_account(sandbox: Sandbox, **extra: Any) -> dict[str, Any]:
    response = sandbox.client.post(
        "/_sandbox/whatsapp/accounts", json={"business_name": "Sunny Shop", **extra}
    )
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


def connect_body(account: dict[str, Any], **override: str) -> dict[str, str]:
    return {
        "waba_id": account["waba_id"],
        "phone_number_id": account["phone_number_id"],
        "access_token": account["access_token"],
        **override,
    }


async def connect_number(
    client: httpx.AsyncClient, sandbox: Sandbox, seller: ApiUser, **extra: Any
) -> Number:
    account = create_account(sandbox, **extra)
    response = await client.post(
        "/api/v1/whatsapp/numbers", json=connect_body(account), headers=seller.headers
    )
    assert response.status_code == 201, response.text
    return Number(seller, account, response.json())


def add_persona(sandbox: Sandbox, wa_id: str, name: str, **extra: Any) -> dict[str, Any]:
    response = sandbox.client.post(
        "/_sandbox/whatsapp/personas", json={"wa_id": wa_id, "name": name, **extra}
    )
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


def inbound(
    sandbox: Sandbox, number: Number, sender: str, kind: str, **body: Any
) -> dict[str, Any]:
    """A persona writes to the number (the sandbox delivers the webhook when subscribed)."""
    response = sandbox.client.post(
        f"/_sandbox/whatsapp/phone_numbers/{number.phone_number_id}/inbound",
        json={"from": sender, "type": kind, **body},
    )
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


def subscribe(sandbox: Sandbox, url: str, settings: Settings) -> None:
    # The sandbox gives the handshake Meta's 5 s; once in a CI run on a loaded machine it was
    # not answered in time (cause not found; the error now carries the sandbox's reason).
    # Setup, not the behaviour under test: try again before failing.
    for attempt in range(3):
        try:
            sandbox.subscribe_webhooks(
                "whatsapp_business_account",
                f"{url}/webhooks/whatsapp",
                settings.meta_webhook_verify_token.get_secret_value(),
            )
            return
        except AssertionError:
            if attempt == 2:
                raise
            time.sleep(1)


async def conversation_of(app: FastAPI, number: Number) -> uuid.UUID:
    async def found() -> list[Any]:
        return await rows(
            app,
            select(Conversation.id)
            .where(Conversation.channel_id == number.channel_id)
            .order_by(Conversation.updated_at.desc()),
        )

    ids = await wait_until(found, what="a WhatsApp conversation")
    return uuid.UUID(str(ids[0]))
