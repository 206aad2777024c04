"""JSON API: the workspace's WhatsApp numbers (connect, list, read, sync) and reactions."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from socialsell.channels.deps import MetaDep, SecretBoxDep
from socialsell.channels.schemas import ChannelRead
from socialsell.channels.service import channel_read
from socialsell.core.constants import API_PREFIX
from socialsell.core.deps import CurrentPrincipal, SessionDep, SettingsDep
from socialsell.core.pagination import Page
from socialsell.inbox.present import message_read
from socialsell.inbox.schemas import MessageRead
from socialsell.inbox.service import Outbox
from socialsell.whatsapp import send, service
from socialsell.whatsapp.schemas import ReactionCreate, WhatsAppConnect

router = APIRouter(prefix=f"{API_PREFIX}/whatsapp/numbers", tags=["whatsapp"])


@router.post("", response_model=ChannelRead, status_code=201)
async def connect_number(
    data: WhatsAppConnect, principal: CurrentPrincipal, session: SessionDep, settings: SettingsDep
) -> ChannelRead:
    """Connect a number with its WhatsApp Business Account id, phone number id and a
    system-user access token (docs/whatsapp.md says where to find them). The number is read
    from Meta to check them; a value Meta refuses answers 422 naming that field. Connecting
    the same number again updates it (a new token, for instance)."""
    return channel_read(await service.connect_number(session, principal, settings, data))


@router.get("", response_model=Page[ChannelRead])
async def list_numbers(principal: CurrentPrincipal, session: SessionDep) -> Page[ChannelRead]:
    rows = await service.list_numbers(session, principal)
    return Page(items=[channel_read(c) for c in rows], next_cursor=None)


@router.get("/{channel_id}", response_model=ChannelRead)
async def read_number(
    channel_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> ChannelRead:
    """The number with its health: `details` holds the display number, verified name, quality
    rating and messaging limit; `last_webhook_at` when Meta last delivered for it."""
    return channel_read(await service.get_number(session, principal, channel_id))


@router.post("/{channel_id}/sync", response_model=ChannelRead)
async def sync_number(
    channel_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep, settings: SettingsDep
) -> ChannelRead:
    """Read the number from Meta again and repair the webhook subscription."""
    return channel_read(await service.sync_number(session, principal, settings, channel_id))


messages_router = APIRouter(prefix=API_PREFIX, tags=["whatsapp"])


@messages_router.post("/messages/{message_id}/reactions", response_model=MessageRead)
async def react_to_message(
    message_id: uuid.UUID,
    data: ReactionCreate,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    meta: MetaDep,
    box: SecretBoxDep,
) -> MessageRead:
    """React to a message of a WhatsApp conversation with an emoji (an empty `emoji` removes
    the business's reaction). Like a text, only within 24 hours of the customer's last message
    (409 `whatsapp_window_closed` otherwise, before WhatsApp is called)."""
    message = await send.react(
        session, Outbox(meta, box, settings), principal, message_id, data.emoji
    )
    return message_read(message, settings)
