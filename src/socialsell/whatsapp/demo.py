"""The WhatsApp part of `make run`'s demo: a sandbox WhatsApp Business number connected through
the real connect path (the three values, verified on the sandbox's Graph API), its webhooks
pointed at this app, an approved template, and a few customers who wrote — one of them more than
24 hours ago, so the demo shows a closed window and the template picker.

Customers write through the sandbox's control API, so their messages reach the app as signed
webhooks, like on Meta; the oldest one is dated back with the control API's ``at``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httpx
import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from socialsell.accounts import service as accounts
from socialsell.accounts.repository import AccountsRepository
from socialsell.accounts.service import Principal
from socialsell.channels.models import Channel, ChannelStatus, Platform
from socialsell.core.storage import build_storage
from socialsell.db import unit_of_work
from socialsell.inbox import service as inbox
from socialsell.inbox.models import Contact, Conversation
from socialsell.inbox.schemas import MessageCreate
from socialsell.integrations import build_meta_client, secret_box
from socialsell.meta import MetaError
from socialsell.settings import Settings
from socialsell.whatsapp import service
from socialsell.whatsapp.schemas import WhatsAppConnect

log = structlog.get_logger(__name__)

DEMO_BUSINESS = "Sunny Crafts"
DEMO_TEMPLATE = "order_ready"
# (wa_id, name, what they wrote: (hours ago, type, fields))
DEMO_CUSTOMERS: tuple[tuple[str, str, tuple[tuple[float, str, dict[str, Any]], ...]], ...] = (
    (
        "5511987650001",
        "Ana Lima",
        (
            (27.0, "text", {"text": "Oi! Vocês entregam em Campinas?"}),
            (26.5, "text", {"text": "Queria duas canecas azuis."}),
        ),
    ),
    (
        "5511987650002",
        "Bruno Costa",
        (
            (0.5, "text", {"text": "Hi! Is the large tote bag still available?"}),
            (0.4, "image", {"caption": "This one, in green"}),
        ),
    ),
    (
        "5511987650003",
        "Carla Dias",
        (
            (
                0.2,
                "location",
                {
                    "location": {
                        "latitude": -22.9068,
                        "longitude": -43.1729,
                        "name": "Loja Centro",
                        "address": "Rua da Carioca 10, Rio de Janeiro",
                    }
                },
            ),
            (0.1, "text", {"text": "Can I pick up my order here tomorrow?"}),
        ),
    ),
)
# Who gets an answer from the seller in the demo (their thread shows the ticks).
ANSWERED = {"5511987650002": "Yes! We have it in green and in blue."}


@dataclass(frozen=True, slots=True)
class WhatsAppDemo:
    display_phone_number: str
    connected_now: bool


async def seed_whatsapp_demo(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    sandbox: httpx.AsyncClient,
    *,
    app_url: str,
    email: str,
) -> WhatsAppDemo:
    """Idempotent: a number already connected (and still known to the sandbox) is kept, and
    its customers are not made to write again."""
    await _subscribe(sandbox, settings, app_url)
    existing = await _connected_number(settings, sessionmaker, email)
    if existing is not None:
        return WhatsAppDemo(existing, connected_now=False)

    created = await sandbox.post(
        "/_sandbox/whatsapp/accounts",
        json={
            "business_name": DEMO_BUSINESS,
            "verified_name": DEMO_BUSINESS,
            "quality_rating": "GREEN",
            "messaging_limit_tier": "TIER_1K",
            "subscribe_app": False,
        },
    )
    created.raise_for_status()
    account = created.json()
    async with unit_of_work(sessionmaker) as session:
        principal = await _principal(session, settings, email)
        channel = await service.connect_number(
            session,
            principal,
            settings,
            WhatsAppConnect(
                waba_id=account["waba_id"],
                phone_number_id=account["phone_number_id"],
                access_token=account["access_token"],
            ),
        )
        channel_id = channel.id
        display = str((channel.details or {}).get("display_phone_number") or "")
        await accounts.end_session(session, principal.session, "demo_seed")
    await _approved_template(sandbox, account, settings, sessionmaker, channel_id)
    await _customers_write(sandbox, account["phone_number_id"])
    await _answer(settings, sessionmaker, email, channel_id)
    log.info("whatsapp_demo_seeded", phone_number_id=account["phone_number_id"])
    return WhatsAppDemo(display, connected_now=True)


async def _subscribe(sandbox: httpx.AsyncClient, settings: Settings, app_url: str) -> None:
    """The app's callback for WhatsApp Business Accounts (the sandbox checks the handshake)."""
    answer = await sandbox.put(
        "/_sandbox/webhooks",
        json={
            "object": "whatsapp_business_account",
            "callback_url": f"{app_url}/webhooks/whatsapp",
            "verify_token": settings.meta_webhook_verify_token.get_secret_value(),
        },
    )
    answer.raise_for_status()


async def _connected_number(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], email: str
) -> str | None:
    async with unit_of_work(sessionmaker) as session:
        user = await AccountsRepository(session).user_by_email(email)
        if user is None:
            raise RuntimeError("the demo user is missing")
        membership = (await AccountsRepository(session).memberships(user.id))[0]
        channels = (
            await session.scalars(
                select(Channel).where(
                    Channel.workspace_id == membership.workspace_id,
                    Channel.platform == Platform.whatsapp,
                    Channel.status == ChannelStatus.active,
                )
            )
        ).all()
        for channel in channels:
            try:
                await service.whatsapp_client(settings, channel).get_phone_number(("id",))
            except MetaError:
                continue  # the sandbox forgot it (its state was removed): connect a new one
            return str((channel.details or {}).get("display_phone_number") or "")
    return None


async def _principal(session: AsyncSession, settings: Settings, email: str) -> Principal:
    """A sign-in of the demo user for the seed itself; the caller ends it."""
    repo = AccountsRepository(session)
    user = await repo.user_by_email(email)
    if user is None:
        raise RuntimeError("the demo user is missing")
    login = await accounts.start_browser_session(
        session, settings, user, user_agent="socialsell demo seed", ip_address="127.0.0.1"
    )
    membership = (await repo.memberships(user.id))[0]
    return Principal(user=user, session=login.session, membership=membership)


async def _approved_template(
    sandbox: httpx.AsyncClient,
    account: dict[str, Any],
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    channel_id: Any,
) -> None:
    """A template created on the sandbox's Graph API and approved, then synced into the app,
    so the closed conversation can be answered with it."""
    token = {"Authorization": f"Bearer {account['access_token']}"}
    created = await sandbox.post(
        f"/v23.0/{account['waba_id']}/message_templates",
        headers=token,
        json={
            "name": DEMO_TEMPLATE,
            "language": "en_US",
            "category": "UTILITY",
            "components": [
                {
                    "type": "BODY",
                    "text": "Hi {{1}}, your order {{2}} is ready to be picked up.",
                    "example": {"body_text": [["Ana", "#1042"]]},
                }
            ],
        },
    )
    created.raise_for_status()
    decided = await sandbox.post(
        f"/_sandbox/whatsapp/templates/{created.json()['id']}/decision",
        json={"status": "APPROVED"},
    )
    decided.raise_for_status()
    from socialsell.whatsapp.templates.manage import sync_number_templates

    async with unit_of_work(sessionmaker) as session:
        channel = await session.get(Channel, channel_id)
        if channel is not None:
            await sync_number_templates(session, settings, channel)


async def _customers_write(sandbox: httpx.AsyncClient, phone_number_id: str) -> None:
    now = time.time()
    for wa_id, name, messages in DEMO_CUSTOMERS:
        persona = await sandbox.post(
            "/_sandbox/whatsapp/personas", json={"wa_id": wa_id, "name": name}
        )
        if persona.status_code not in (200, 201, 409, 422):
            persona.raise_for_status()
        for hours_ago, kind, fields in messages:
            wrote = await sandbox.post(
                f"/_sandbox/whatsapp/phone_numbers/{phone_number_id}/inbound",
                json={"from": wa_id, "type": kind, "at": int(now - hours_ago * 3600), **fields},
            )
            wrote.raise_for_status()


async def _answer(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    email: str,
    channel_id: Any,
    *,
    within: float = 15.0,
) -> None:
    """The seller answers one customer through the inbox's reply path, once the customer's
    webhook has been processed (the thread then shows the ticks)."""
    deadline = time.monotonic() + within
    for wa_id, text in ANSWERED.items():
        conversation_id = None
        while conversation_id is None and time.monotonic() < deadline:
            async with sessionmaker() as session:
                conversation_id = await session.scalar(
                    select(Conversation.id)
                    .join(Contact, Contact.id == Conversation.contact_id)
                    .where(Conversation.channel_id == channel_id, Contact.external_id == wa_id)
                )
            if conversation_id is None:
                await asyncio.sleep(0.2)
        if conversation_id is None:
            log.warning("whatsapp_demo_no_conversation", wa_id=wa_id)
            continue
        async with build_meta_client(settings) as meta:
            outbox = inbox.Outbox(meta, secret_box(settings), settings)
            async with unit_of_work(sessionmaker) as session:
                principal = await _principal(session, settings, email)
                message, _ = await inbox.prepare_reply(
                    session,
                    outbox,
                    build_storage(settings),
                    principal,
                    conversation_id,
                    MessageCreate(text=text),
                    idempotency_key=f"demo-whatsapp-{wa_id}",
                )
                message_id = message.id
                await accounts.end_session(session, principal.session, "demo_seed")
            async with unit_of_work(sessionmaker) as session:
                await inbox.deliver(session, outbox, message_id)
