"""Sending on WhatsApp through the inbox's reply path: text, media (uploaded to WhatsApp first,
then sent by id), quoted replies (``context.message_id``), templates, reactions; and marking a
thread read on WhatsApp when the seller reads it.

The 24-hour customer service window is checked here, before Meta is called: free-form messages
(text, media, reactions) only within 24 hours of the customer's last message; templates at any
time. If Meta still answers 131047 (the clocks disagree), the message fails with that in words.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from socialsell.accounts.service import Principal
from socialsell.channels.errors import ChannelUnavailable
from socialsell.channels.models import Channel
from socialsell.core.errors import AppError, FieldError, NotFound, ValidationFailed
from socialsell.core.storage import Storage, build_storage
from socialsell.db import after_commit, unit_of_work, utcnow
from socialsell.inbox.ingest import publish_message
from socialsell.inbox.models import (
    Conversation,
    ConversationKind,
    Direction,
    Message,
    MessageKind,
    MessageStatus,
)
from socialsell.inbox.present import STANDARD_WINDOW
from socialsell.inbox.repository import InboxRepository
from socialsell.inbox.schemas import MessageCreate
from socialsell.meta import (
    InvalidParameter,
    MetaError,
    OutsideMessagingWindow,
    PermissionDenied,
    RateLimited,
    TemplateError,
    TransientError,
    WhatsAppClient,
)
from socialsell.publishing.models import MediaAsset
from socialsell.settings import Settings
from socialsell.whatsapp import service
from socialsell.whatsapp.errors import WhatsAppMetaError

if TYPE_CHECKING:
    from socialsell.inbox.service import Outbox

log = structlog.get_logger(__name__)

MAX_TEXT_CHARS = 4096
MAX_CAPTION_CHARS = 1024


class WhatsAppWindowClosed(AppError):
    status_code = 409
    code = "whatsapp_window_closed"
    default_message = (
        "The customer's last message is more than 24 hours old, so WhatsApp allows only "
        "approved templates in this conversation. Send a template; the window opens again "
        "when the customer writes."
    )


class WhatsAppNoCustomerMessage(WhatsAppWindowClosed):
    code = "whatsapp_window_not_open"
    default_message = (
        "The customer has not written to this number yet, so WhatsApp allows only approved "
        "templates. Send a template to start the conversation."
    )


@dataclass
class Plan:
    """What a WhatsApp reply will be, decided (and checked) before it is stored."""

    kind: MessageKind
    text: str | None
    media: list[dict[str, Any]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    reply_to: str | None = None


def _field(name: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, errors=[FieldError(name, message)])


def check_window(conversation: Conversation) -> None:
    """Free-form messages only within 24 hours of the customer's last message (the rule
    :func:`socialsell.inbox.present.window` shows)."""
    last = conversation.last_inbound_at
    if last is None:
        raise WhatsAppNoCustomerMessage
    if utcnow() > last + STANDARD_WINDOW:
        raise WhatsAppWindowClosed


async def plan_reply(
    session: AsyncSession,
    outbox: Outbox,
    storage: Storage,
    principal: Principal,
    conversation: Conversation,
    channel: Channel,
    data: MessageCreate,
) -> Plan:
    service.client_for(outbox.meta, outbox.box, channel)  # refuses a dead or removed number
    if conversation.kind != ConversationKind.dm:  # pragma: no cover - WhatsApp has no comments
        raise _field("mode", "WhatsApp conversations have no comments.")
    if data.mode is not None:
        raise _field("mode", "mode is for Instagram comment replies.")
    repo = InboxRepository(session, principal.workspace_id)
    reply_to: str | None = None
    if data.reply_to_message_id is not None:
        quoted = await repo.message(data.reply_to_message_id)
        if quoted is None or quoted.conversation_id != conversation.id or not quoted.external_id:
            raise NotFound("The quoted message does not exist in this conversation.")
        reply_to = quoted.external_id

    if data.template is not None:
        from socialsell.whatsapp.templates.service import render_for_send

        rendered = await render_for_send(
            session, principal.workspace_id, channel.id, data.template, outbox.settings
        )
        return Plan(
            kind=MessageKind.template,
            text=rendered.preview,
            details={
                "template": {
                    "id": str(rendered.template_id),
                    "name": rendered.name,
                    "language": rendered.language,
                    "category": rendered.category,
                },
                "wa_payload": rendered.payload,
            },
            reply_to=reply_to,
        )

    check_window(conversation)
    media: list[dict[str, Any]] = []
    kind = MessageKind.text
    if data.image_key is not None:
        prefix = f"ws/{principal.workspace_id}/uploads/"
        if not data.image_key.startswith(prefix) or not await storage.exists(data.image_key):
            raise NotFound("This upload does not exist.")
        kind = MessageKind.image
        media = [
            {
                "type": "image",
                "status": "stored",
                "key": data.image_key,
                "content_type": "image/png" if data.image_key.endswith(".png") else "image/jpeg",
            }
        ]
    elif data.media_id is not None:
        asset = await session.scalar(
            select(MediaAsset).where(
                MediaAsset.id == data.media_id, MediaAsset.workspace_id == principal.workspace_id
            )
        )
        if asset is None:
            raise _field("media_id", "This media file does not exist.")
        kind = MessageKind.video if asset.kind == "video" else MessageKind.image
        media = [
            {
                "type": kind.value,
                "status": "stored",
                "key": asset.storage_key,
                "content_type": asset.content_type,
                "size": asset.size_bytes,
                "asset_id": str(asset.id),
            }
        ]
    if media and data.text is not None and len(data.text) > MAX_CAPTION_CHARS:
        raise _field("text", f"A caption has at most {MAX_CAPTION_CHARS} characters.")
    if data.text is not None and len(data.text) > MAX_TEXT_CHARS:
        raise _field("text", f"WhatsApp messages have at most {MAX_TEXT_CHARS} characters.")
    return Plan(kind=kind, text=data.text, media=media, reply_to=reply_to)


# ---------------------------------------------------------------------------- delivering


async def deliver(
    session: AsyncSession,
    outbox: Outbox,
    message: Message,
    conversation: Conversation,
    channel: Channel,
) -> Message:
    """Call WhatsApp for a committed ``pending`` message and settle it."""
    recipient = conversation.contact.external_id
    storage = build_storage(outbox.settings)
    details = message.details or {}

    async def send(client: WhatsAppClient) -> str:
        if message.kind == MessageKind.template:
            payload = dict(details.get("wa_payload") or {})
            result = await client.send_template(
                recipient,
                str(payload.get("name")),
                str((payload.get("language") or {}).get("code")),
                components=payload.get("components") or None,
                reply_to=message.reply_to_external_id,
            )
        elif message.media:
            item = dict(message.media[0])
            wa_media_id = item.get("wa_media_id")
            if not wa_media_id:
                data = await storage.get(str(item["key"]))
                if data is None:
                    raise ValueError("the file to send is no longer in our storage")
                wa_media_id = await client.upload_media(
                    data,
                    mime_type=str(item.get("content_type") or "image/jpeg"),
                    filename=str(item["key"]).rsplit("/", 1)[-1],
                )
                # Kept so a retry sends the same upload (WhatsApp keeps it 30 days).
                message.media = [{**item, "wa_media_id": wa_media_id}, *message.media[1:]]
            result = await client.send_media(
                recipient,
                "video" if item.get("type") == "video" else "image",
                media_id=str(wa_media_id),
                caption=message.text,
                reply_to=message.reply_to_external_id,
            )
        else:
            result = await client.send_text(
                recipient, message.text or "", reply_to=message.reply_to_external_id
            )
        return result.message_id

    try:
        client = service.client_for(outbox.meta, outbox.box, channel)
        external_id = await service.call_whatsapp(
            session, outbox.settings, channel, send, client=client
        )
    except ChannelUnavailable as exc:
        fail(message, "channel_needs_reconnect", exc.message)
        await session.flush()
        await publish_message(session, outbox.settings, message, created=False)
        raise
    except MetaError as exc:
        fail(message, meta_code(exc), meta_reason(exc))
    except ValueError as exc:
        fail(message, "invalid_message", str(exc))
    else:
        message.external_id = external_id
        message.status = MessageStatus.sent
        message.error_code = None
        message.error_message = None
        message.details = {
            **(message.details or {}),
            "statuses": {"sent": utcnow().isoformat()},
        }
        after_commit(session, _statuses_waiting_for(session, outbox.settings, external_id))
    await session.flush()
    await publish_message(session, outbox.settings, message, created=False)
    return message


def _statuses_waiting_for(
    session: AsyncSession, settings: Settings, wamid: str
) -> Callable[[], Awaitable[None]]:
    """Statuses that overtook the send's answer (Meta's webhook sometimes does) wait in a
    pending delivery for this wamid: once it is committed, process them now rather than at the
    tick's next re-kick (a minute later: the ticks would stall meanwhile)."""
    bind = session.bind

    async def process() -> None:
        from socialsell.inbox.ingest import Ingest
        from socialsell.webhooks import service as webhooks
        from socialsell.webhooks.models import DeliveryStatus, WebhookDelivery

        maker = async_sessionmaker(bind, expire_on_commit=False)
        async with unit_of_work(maker) as db:
            waiting = (
                await db.scalars(
                    select(WebhookDelivery.id).where(
                        WebhookDelivery.platform == "whatsapp",
                        WebhookDelivery.status == DeliveryStatus.pending,
                        WebhookDelivery.note.contains(wamid),
                    )
                )
            ).all()
        for delivery_id in waiting:
            async with unit_of_work(maker) as db:
                await webhooks.process_delivery(
                    db,
                    Ingest(settings),
                    delivery_id,
                    max_attempts=settings.webhook_max_attempts,
                )

    return process


def fail(message: Message, code: str, reason: str) -> None:
    message.status = MessageStatus.failed
    message.error_code = code
    message.error_message = reason
    log.info("whatsapp_send_failed", message_id=str(message.id), code=code)


def meta_code(exc: MetaError) -> str:
    parts = [str(exc.code)] if exc.code is not None else []
    if exc.subcode is not None:
        parts.append(str(exc.subcode))
    return "meta_" + "_".join(parts) if parts else "meta_error"


def meta_reason(exc: MetaError) -> str:
    said = exc.details or exc.user_msg or exc.message
    if isinstance(exc, OutsideMessagingWindow):
        return (
            "WhatsApp refused the message because the 24-hour customer service window is closed "
            "(the customer's last message is more than 24 hours old): only templates can be "
            f"sent now. WhatsApp said: {said}"
        )
    if isinstance(exc, RateLimited):
        return (
            "WhatsApp is limiting how many messages this number sends; try again in about "
            f"{int(exc.retry_after_seconds)} seconds. WhatsApp said: {said}"
        )
    if isinstance(exc, TransientError):
        return (
            "WhatsApp had a temporary problem and may not have sent the message; check the "
            f"conversation before retrying. WhatsApp said: {said}"
        )
    if isinstance(exc, TemplateError):
        return f"WhatsApp refused the template. WhatsApp said: {said}"
    if isinstance(exc, PermissionDenied):
        return f"WhatsApp refused: the token lacks a permission for this. WhatsApp said: {said}"
    if isinstance(exc, InvalidParameter):
        return f"WhatsApp refused the message as invalid. WhatsApp said: {said}"
    return f"WhatsApp refused the message. WhatsApp said: {said}"


# ---------------------------------------------------------------------------- reactions


async def react(
    session: AsyncSession,
    outbox: Outbox,
    principal: Principal,
    message_id: uuid.UUID,
    emoji: str,
) -> Message:
    """React (or with an empty emoji, remove the reaction) to a message, as the business."""
    repo = InboxRepository(session, principal.workspace_id)
    target = await repo.message(message_id)
    if target is None:
        raise NotFound("This message does not exist.")
    conversation = await repo.conversation(target.conversation_id)
    if conversation is None:  # pragma: no cover - foreign key
        raise NotFound("This message does not exist.")
    channel = conversation.channel
    if channel.platform != "whatsapp":
        from socialsell.whatsapp.errors import NotWhatsApp

        raise NotWhatsApp("Reactions can be sent on WhatsApp conversations only.")
    if not target.external_id:
        raise _field("message_id", "This message was not sent yet; react once it is.")
    check_window(conversation)
    client = service.client_for(outbox.meta, outbox.box, channel)
    recipient = conversation.contact.external_id
    wamid = target.external_id
    try:
        await service.call_whatsapp(
            session,
            outbox.settings,
            channel,
            lambda c: c.send_reaction(recipient, wamid, emoji),
            client=client,
        )
    except MetaError as exc:
        raise WhatsAppMetaError(meta_reason(exc)) from exc
    now = utcnow()
    reactions = [r for r in target.reactions or [] if r.get("by") != "business"]
    if emoji:
        reactions.append(
            {"by": "business", "reaction": "emoji", "emoji": emoji, "at": now.isoformat()}
        )
    target.reactions = reactions
    stamps = dict((target.details or {}).get("reaction_at") or {})
    stamps["business"] = now.isoformat()
    target.details = {**(target.details or {}), "reaction_at": stamps}
    await session.flush()
    await publish_message(session, outbox.settings, target, created=False)
    return target


# ---------------------------------------------------------------------------- read


async def mark_read_on_whatsapp(
    session: AsyncSession, settings: Settings, conversation: Conversation
) -> None:
    """After the seller read the thread (and the change is committed), tell WhatsApp: the
    customer sees blue ticks up to the last message. Best effort: a failure is logged."""
    latest = await session.scalar(
        select(Message.external_id)
        .where(
            Message.conversation_id == conversation.id,
            Message.direction == Direction.inbound,
            Message.external_id.is_not(None),
            Message.kind != MessageKind.system,
        )
        .order_by(Message.sent_at.desc(), Message.id.desc())
        .limit(1)
    )
    if not latest:
        return
    try:
        client = service.whatsapp_client(settings, conversation.channel)
    except AppError:
        return  # a disconnected number or a dead token: nothing to tell WhatsApp
    wamid = str(latest)

    async def tell_whatsapp() -> None:
        try:
            await client.mark_as_read(wamid)
        except MetaError as exc:
            log.info("whatsapp_mark_read_failed", wamid=wamid, error=str(exc))

    after_commit(session, tell_whatsapp)
