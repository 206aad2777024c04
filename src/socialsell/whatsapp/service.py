"""WhatsApp numbers: connecting one with the three values a self-hoster has (WABA id, phone
number id, system-user token), keeping its facts and health current, and calling Meta for it.

A number is a ``channels`` row (``platform=whatsapp``, ``external_id`` = the phone number id) so
the inbox, tokens and health work as for Instagram. Every Graph call made for a number goes
through :func:`call_whatsapp`, which records the health and turns "token invalid" into a channel
status at once (the same rule as :func:`socialsell.channels.service.call_meta`).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from socialsell.accounts.service import Principal
from socialsell.channels import service as channels
from socialsell.channels.errors import ChannelDisconnected, ChannelUnavailable, ConnectMetaError
from socialsell.channels.models import Channel, ChannelStatus, Platform
from socialsell.channels.repository import GlobalChannels
from socialsell.core.crypto import SecretBox
from socialsell.core.errors import FieldError, NotFound, ValidationFailed
from socialsell.db import utcnow
from socialsell.integrations import build_meta_client, meta_config, secret_box, usage_tracker
from socialsell.meta import (
    InvalidParameter,
    MetaClient,
    MetaError,
    PermissionDenied,
    PhoneNumber,
    TokenError,
    WhatsAppClient,
)
from socialsell.meta.usage import account_usage_key
from socialsell.settings import Settings
from socialsell.whatsapp.clients import PerCallTransport
from socialsell.whatsapp.errors import NumberInOtherWorkspace, WhatsAppMetaError
from socialsell.whatsapp.schemas import WhatsAppConnect

log = structlog.get_logger(__name__)
T = TypeVar("T")

# The webhook fields of a WhatsApp Business Account. Subscribing the app to the WABA delivers
# all the fields the app is configured for in Meta's dashboard (docs/whatsapp.md); these are the
# ones socialsell processes.
WEBHOOK_FIELDS = (
    "messages",
    "message_template_status_update",
    "message_template_quality_update",
    "template_category_update",
    "phone_number_quality_update",
)
DETAIL_FIELDS = (
    "display_phone_number",
    "verified_name",
    "quality_rating",
    "messaging_limit_tier",
    "whatsapp_business_manager_messaging_limit",
    "name_status",
    "code_verification_status",
    "status",
)
READ_FIELDS = ("id", *DETAIL_FIELDS)


# ---------------------------------------------------------------------------- reading


async def list_numbers(session: AsyncSession, principal: Principal) -> Sequence[Channel]:
    rows = await session.scalars(
        select(Channel)
        .where(
            Channel.workspace_id == principal.workspace_id, Channel.platform == Platform.whatsapp
        )
        .order_by(Channel.connected_at, Channel.id)
    )
    return rows.all()


async def get_number(session: AsyncSession, principal: Principal, channel_id: uuid.UUID) -> Channel:
    channel = await session.scalar(
        select(Channel).where(
            Channel.id == channel_id,
            Channel.workspace_id == principal.workspace_id,
            Channel.platform == Platform.whatsapp,
        )
    )
    if channel is None:
        raise NotFound("This WhatsApp number does not exist.")
    return channel


async def numbers_of_waba(session: AsyncSession, waba_id: str) -> Sequence[Channel]:
    """Every connected number of one WhatsApp Business Account (template and account webhooks
    are addressed to the WABA). For webhook processing only: not scoped by workspace."""
    rows = await session.scalars(
        select(Channel)
        .where(Channel.platform == Platform.whatsapp)
        .order_by(Channel.connected_at, Channel.id)
    )
    return [c for c in rows if (c.details or {}).get("waba_id") == waba_id]


# ---------------------------------------------------------------------------- clients


def _token(box: SecretBox, channel: Channel) -> str:
    if channel.platform != Platform.whatsapp:
        raise ValueError("not a WhatsApp channel")
    if channel.status == ChannelStatus.disconnected or channel.token_encrypted is None:
        raise ChannelDisconnected
    if channel.status in {ChannelStatus.token_expired, ChannelStatus.revoked}:
        raise ChannelUnavailable
    return box.decrypt(channel.token_encrypted)


def client_for(meta: MetaClient, box: SecretBox, channel: Channel) -> WhatsAppClient:
    """A client on the process's Meta client (requests, where one exists)."""
    return meta.whatsapp(_token(box, channel), channel.external_id, waba_id_of(channel))


def whatsapp_client(settings: Settings, channel: Channel) -> WhatsAppClient:
    """A client for a connected number from settings alone (jobs, services): each call opens its
    own connection. Refuses a disconnected number or a dead token (409)."""
    transport = PerCallTransport(meta_config(settings), usage_tracker())
    return WhatsAppClient(
        transport, _token(secret_box(settings), channel), channel.external_id, waba_id_of(channel)
    )


def waba_id_of(channel: Channel) -> str | None:
    value = (channel.details or {}).get("waba_id")
    return str(value) if value else None


async def call_whatsapp(
    session: AsyncSession,
    settings: Settings | None,
    channel: Channel,
    action: Callable[[WhatsAppClient], Awaitable[T]],
    *,
    client: WhatsAppClient | None = None,
) -> T:
    """Run one Graph call for a number, keeping its health: a refused token marks the channel
    (and notifies the workspace) and raises :class:`ChannelUnavailable`. Without ``client``, one
    is made from ``settings``."""
    if client is None:
        if settings is None:
            raise ValueError("give settings or a client")
        client = whatsapp_client(settings, channel)
    try:
        result = await action(client)
    except TokenError as exc:
        await channels.mark_token_failed(session, channel, exc)
        raise ChannelUnavailable from exc
    channel.last_api_success_at = utcnow()
    for key in (channel.external_id, waba_id_of(channel)):
        reading = await usage_tracker().get(account_usage_key(key)) if key else None
        if reading is not None:
            channel.api_usage = {"percent": reading.percent}
            break
    await session.flush()
    return result


# ---------------------------------------------------------------------------- connecting


def _field_error(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, errors=[FieldError(field, message)])


def _refusal(exc: MetaError, field: str, what: str) -> Exception:
    """Meta's refusal of one of the three values, said next to that value."""
    said = exc.user_msg or exc.message
    if isinstance(exc, TokenError):
        return _field_error(
            "access_token",
            "Meta does not accept this access token (it is mistyped, expired or was revoked). "
            f"Meta said: {said}",
        )
    if isinstance(exc, PermissionDenied):
        return _field_error(
            field,
            f"This token cannot reach this {what}: it belongs to another business or lacks the "
            "whatsapp_business_messaging and whatsapp_business_management permissions. "
            f"Meta said: {said}",
        )
    if isinstance(exc, InvalidParameter) or exc.code == 100:
        return _field_error(field, f"Meta does not know this {what}. Meta said: {said}")
    return ConnectMetaError(
        f"WhatsApp answered with an error while connecting ({exc.message}). Try again in a few "
        "minutes."
    )


def _apply_number(channel: Channel, number: PhoneNumber, waba_id: str) -> None:
    facts: dict[str, Any] = dict(channel.details or {})
    facts["waba_id"] = waba_id
    for name in DETAIL_FIELDS:
        value = getattr(number, name, None)
        if value is not None:
            facts[name] = value
    facts["synced_at"] = utcnow().isoformat()
    channel.details = facts
    channel.name = number.verified_name or channel.name or number.display_phone_number or ""
    channel.username = ""
    channel.account_type = "WHATSAPP_BUSINESS"


async def connect_number(
    session: AsyncSession, principal: Principal, settings: Settings, data: WhatsAppConnect
) -> Channel:
    """Check the three values by reading the number from Meta (and that it belongs to the
    WABA), store the number with its token encrypted, and subscribe the app to the WABA's
    webhooks. A value Meta refuses is a validation error on that field; nothing is stored."""
    token = data.access_token
    async with build_meta_client(settings) as meta:
        client = meta.whatsapp(token, data.phone_number_id, data.waba_id)
        try:
            number = await client.get_phone_number(READ_FIELDS)
        except MetaError as exc:
            raise _refusal(exc, "phone_number_id", "phone number id") from exc
        try:
            numbers = await client.list_phone_numbers(("id",))
        except MetaError as exc:
            raise _refusal(exc, "waba_id", "WhatsApp Business Account id") from exc
        if data.phone_number_id not in {n.id for n in numbers}:
            raise _field_error(
                "waba_id",
                "This phone number does not belong to this WhatsApp Business Account. Check "
                "both ids in WhatsApp Manager (docs/whatsapp.md).",
            )

        channel = await GlobalChannels(session).by_external_id(
            Platform.whatsapp, data.phone_number_id
        )
        if channel is not None and channel.workspace_id != principal.workspace_id:
            raise NumberInOtherWorkspace
        if channel is None:
            channel = Channel(
                workspace_id=principal.workspace_id,
                platform=Platform.whatsapp,
                external_id=data.phone_number_id,
                color="#25d366",
            )
            session.add(channel)
        _apply_number(channel, number, data.waba_id)
        now = utcnow()
        channel.token_encrypted = secret_box(settings).encrypt(token)
        # System-user tokens do not expire unless the business sets an expiry.
        channel.token_expires_at = None
        channel.token_refreshed_at = now
        channel.scopes = []
        channel.status = ChannelStatus.active
        channel.status_reason = None
        channel.connected_at = now
        channel.connected_by_id = principal.user.id
        channel.disconnected_at = None
        channel.last_api_success_at = now
        await session.flush()
        await _subscribe(session, channel, client)
    log.info("whatsapp_number_connected", channel_id=str(channel.id))
    return channel


async def _subscribe(session: AsyncSession, channel: Channel, client: WhatsAppClient) -> None:
    """Subscribe the app to the WABA and read back that it is listed. A failure leaves the
    number connected with the subscription marked missing (sync repairs it)."""
    try:
        await client.subscribe_app()
        apps = await client.list_subscribed_apps()
    except MetaError as exc:
        log.warning("whatsapp_subscribe_failed", channel_id=str(channel.id), error=str(exc))
        channel.webhook_fields = []
    else:
        channel.webhook_fields = list(WEBHOOK_FIELDS) if apps else []
    channel.webhook_checked_at = utcnow()
    await session.flush()


async def sync_number(
    session: AsyncSession, principal: Principal, settings: Settings, channel_id: uuid.UUID
) -> Channel:
    """Read the number again (quality, messaging limit, name) and repair the subscription."""
    channel = await get_number(session, principal, channel_id)
    return await refresh_number(session, channel, whatsapp_client(settings, channel))


async def refresh_number(
    session: AsyncSession, channel: Channel, client: WhatsAppClient
) -> Channel:
    try:
        number = await call_whatsapp(
            session, None, channel, lambda c: c.get_phone_number(READ_FIELDS), client=client
        )
    except MetaError as exc:
        raise WhatsAppMetaError(f"WhatsApp answered with an error: {exc.message}.") from exc
    _apply_number(channel, number, waba_id_of(channel) or "")
    await _subscribe(session, channel, client)
    return channel


def apply_quality_update(channel: Channel, value: dict[str, Any]) -> None:
    """``phone_number_quality_update``: Meta's decision about the number's quality and limit."""
    facts = dict(channel.details or {})
    event = value.get("event")
    if isinstance(event, str):
        facts["quality_event"] = event
        # FLAGGED/UNFLAGGED speak of quality; the rating itself is re-read on the next sync.
        if event == "FLAGGED":
            facts["quality_rating"] = "RED" if facts.get("quality_rating") == "RED" else "YELLOW"
        elif event == "UNFLAGGED":
            facts["quality_rating"] = "GREEN"
    limit = value.get("current_limit")
    if isinstance(limit, str) and limit:
        facts["messaging_limit_tier"] = limit
    if isinstance(value.get("old_limit"), str):
        facts["previous_messaging_limit_tier"] = value["old_limit"]
    facts["quality_updated_at"] = utcnow().isoformat()
    channel.details = facts
