"""The inbox's operations: reading and finding conversations, marking them, and replying.

Replying follows the outbound durability rule: the reply is stored as ``pending`` with its
Idempotency-Key and committed (by the route, the edge) *before* Meta is called; the send's answer
settles it (``sent`` with Meta's message id, or ``failed`` with Meta's reason in words), and the
echo webhook, matched by that message id, can never add a second row. A retry with the same key
replays the stored message instead of sending again.
"""

from __future__ import annotations

import hashlib
import io
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from socialsell.accounts.service import Principal
from socialsell.channels import service as channels
from socialsell.channels.errors import ChannelUnavailable
from socialsell.channels.models import Channel, Platform
from socialsell.core.crypto import SecretBox
from socialsell.core.errors import FieldError, NotFound, ValidationFailed
from socialsell.core.jobs import JobRuntime
from socialsell.core.pagination import PageParams
from socialsell.core.storage import Storage, extension_for, signed_url
from socialsell.db import utcnow
from socialsell.inbox.errors import (
    IdempotencyKeyReused,
    NoCustomerMessage,
    NotRetryable,
    PrivateReplyNotAllowed,
    UploadRefused,
    WindowClosed,
)
from socialsell.inbox.ingest import publish_conversation, publish_message
from socialsell.inbox.models import (
    Conversation,
    ConversationKind,
    Direction,
    Message,
    MessageKind,
    MessageStatus,
)
from socialsell.inbox.present import preview_of, window
from socialsell.inbox.repository import ConversationFilters, GlobalInbox, InboxRepository
from socialsell.inbox.schemas import ConversationUpdate, MessageCreate
from socialsell.inbox.search import fold, search_ids, snippet
from socialsell.meta import (
    InvalidParameter,
    MetaClient,
    MetaError,
    OutsideMessagingWindow,
    PermissionDenied,
    RateLimited,
    TransientError,
)
from socialsell.settings import Settings
from socialsell.whatsapp import send as whatsapp_send

log = structlog.get_logger(__name__)

PRIVATE_REPLY_WINDOW = timedelta(days=7)
MAX_UPLOAD_BYTES = 8 * 1024 * 1024  # Meta's image limit for messages
MAX_DM_TEXT_BYTES = 1000  # Meta counts UTF-8 bytes
MAX_COMMENT_CHARS = 2200


@dataclass
class Outbox:
    """What sending needs: the process's Meta client, the token box and the settings."""

    meta: MetaClient
    box: SecretBox
    settings: Settings


# ---------------------------------------------------------------------------- reading


async def list_conversations(
    session: AsyncSession, principal: Principal, filters: ConversationFilters, params: PageParams
) -> tuple[Sequence[Conversation], str | None]:
    return await InboxRepository(session, principal.workspace_id).conversations(filters, params)


async def get_conversation(
    session: AsyncSession, principal: Principal, conversation_id: uuid.UUID
) -> Conversation:
    conversation = await InboxRepository(session, principal.workspace_id).conversation(
        conversation_id
    )
    if conversation is None:
        raise NotFound("This conversation does not exist.")
    return conversation


async def list_messages(
    session: AsyncSession, principal: Principal, conversation_id: uuid.UUID, params: PageParams
) -> tuple[Sequence[Message], str | None]:
    await get_conversation(session, principal, conversation_id)
    return await InboxRepository(session, principal.workspace_id).messages(conversation_id, params)


async def get_message(
    session: AsyncSession, principal: Principal, message_id: uuid.UUID
) -> Message:
    message = await InboxRepository(session, principal.workspace_id).message(message_id)
    if message is None:
        raise NotFound("This message does not exist.")
    return message


async def update_conversation(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    conversation_id: uuid.UUID,
    data: ConversationUpdate,
) -> Conversation:
    """Mark read/unread, open/done, (un)assign."""
    repo = InboxRepository(session, principal.workspace_id)
    conversation = await get_conversation(session, principal, conversation_id)
    if data.read is not None:
        await repo.set_read(conversation.id, data.read)
        if data.read and conversation.channel.platform == Platform.whatsapp:
            await whatsapp_send.mark_read_on_whatsapp(session, settings, conversation)
    if data.status is not None:
        conversation.status = data.status
    if data.unassign:
        conversation.assignee_id = None
    elif data.assignee_id is not None:
        member = await repo.is_member(data.assignee_id)
        if not member:
            raise ValidationFailed(
                "The assignee is not a member of this workspace.",
                errors=[FieldError("assignee_id", "Not a member of this workspace.")],
            )
        conversation.assignee_id = data.assignee_id
    await session.flush()
    await publish_conversation(session, settings, conversation.id)
    refreshed = await GlobalInbox(session).conversation(conversation.id)
    assert refreshed is not None  # noqa: S101
    return refreshed


@dataclass
class SearchResult:
    message: Message
    conversation: Conversation
    snippet: str


async def search_messages(
    session: AsyncSession, principal: Principal, query: str, *, limit: int, offset: int
) -> list[SearchResult]:
    """Full text over the workspace's messages: stems, "phrases", -exclusions, accents
    ignored; each hit with a highlighted snippet and its conversation."""
    hits = await search_ids(session, principal.workspace_id, query, limit=limit, offset=offset)
    repo = InboxRepository(session, principal.workspace_id)
    messages = await repo.messages_by_ids([h.message_id for h in hits])
    conversations = await repo.conversations_by_ids(
        list({m.conversation_id for m in messages.values()})
    )
    results = []
    for hit in hits:
        message = messages.get(hit.message_id)
        if message is None or message.conversation_id not in conversations:
            continue
        results.append(
            SearchResult(
                message=message,
                conversation=conversations[message.conversation_id],
                snippet=snippet(message.text or "", hit.highlighted),
            )
        )
    return results


# ---------------------------------------------------------------------------- uploads


async def store_upload(
    storage: Storage, principal: Principal, data: bytes, content_type: str | None
) -> tuple[str, str]:
    """Keep an image to send; returns (key, content type). Checked by decoding it, not by
    trusting the declared type."""
    from PIL import Image, UnidentifiedImageError

    if len(data) > MAX_UPLOAD_BYTES or not data:
        raise UploadRefused
    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt = image.format
    except (UnidentifiedImageError, OSError) as exc:
        raise UploadRefused from exc
    kind = {"JPEG": "image/jpeg", "PNG": "image/png"}.get(fmt or "")
    if kind is None:
        raise UploadRefused
    key = f"ws/{principal.workspace_id}/uploads/{uuid.uuid4().hex}{extension_for(kind)}"
    await storage.put(key, data)
    return key, kind


# ---------------------------------------------------------------------------- replying


def _request_hash(conversation_id: uuid.UUID, data: MessageCreate) -> str:
    raw = json.dumps(
        {"conversation": str(conversation_id), **data.model_dump(mode="json")}, sort_keys=True
    )
    return hashlib.sha256(raw.encode()).hexdigest()


async def _channel(session: AsyncSession, conversation: Conversation) -> Channel:
    channel = await GlobalInbox(session).channel(conversation.channel_id)
    if channel is None:  # pragma: no cover - the foreign key cascades
        raise NotFound("This conversation's channel no longer exists.")
    return channel


async def prepare_reply(
    session: AsyncSession,
    outbox: Outbox,
    storage: Storage,
    principal: Principal,
    conversation_id: uuid.UUID,
    data: MessageCreate,
    idempotency_key: str | None,
) -> tuple[Message, bool]:
    """Check that the reply may be sent and store it as ``pending``. Returns the message and
    whether it is new; an Idempotency-Key seen before returns the stored message (its first
    answer) and sends nothing."""
    repo = InboxRepository(session, principal.workspace_id)
    request_hash = _request_hash(conversation_id, data)
    if idempotency_key:
        existing = await repo.message_by_idempotency_key(idempotency_key)
        if existing is not None:
            if existing.request_hash != request_hash:
                raise IdempotencyKeyReused
            return existing, False
    conversation = await get_conversation(session, principal, conversation_id)
    channel = await _channel(session, conversation)
    if channel.platform == Platform.whatsapp:
        plan = await whatsapp_send.plan_reply(
            session, outbox, storage, principal, conversation, channel, data
        )
        return await _store_pending(
            session,
            outbox,
            principal,
            conversation,
            channel,
            plan.kind,
            plan.text,
            plan.media,
            plan.details,
            plan.reply_to,
            idempotency_key,
            request_hash,
        ), True
    # Refuses a disconnected channel or a dead token before anything is stored.
    channels.instagram_client(outbox.meta, outbox.box, channel)
    if data.media_id is not None or data.template is not None:
        name = "media_id" if data.media_id is not None else "template"
        raise ValidationFailed(
            "Media files and templates are sent on WhatsApp only.",
            errors=[FieldError(name, "Only for WhatsApp conversations.")],
        )
    if data.text is not None and data.image_key is not None:
        raise ValidationFailed(
            "Instagram sends a photo without a caption.",
            errors=[FieldError("text", "Send the text and the photo separately.")],
        )

    details: dict[str, Any] = {}
    reply_to: str | None = None
    kind = MessageKind.text
    media: list[dict[str, Any]] = []
    if conversation.kind == ConversationKind.dm:
        if data.mode is not None:
            raise ValidationFailed(
                "mode is for comment replies.", errors=[FieldError("mode", "Only for comments.")]
            )
        state = window(conversation, outbox.settings)
        if state is None or conversation.last_inbound_at is None:
            raise NoCustomerMessage
        if not state.can_reply:
            raise WindowClosed(_window_message(outbox.settings))
        if state.needs_human_agent_tag:
            details["human_agent"] = True
        if data.text is not None and len(data.text.encode()) > MAX_DM_TEXT_BYTES:
            raise ValidationFailed(
                "Instagram messages are limited to 1000 bytes.",
                errors=[FieldError("text", "At most 1000 bytes (fewer with accents or emoji).")],
            )
    else:
        if data.image_key is not None:
            raise ValidationFailed(
                "Comment replies are text only.",
                errors=[FieldError("image_key", "Comment replies are text only.")],
            )
        target = await _comment_target(repo, conversation, data.reply_to_message_id)
        mode = data.mode or "public"
        if mode == "private":
            if utcnow() - target.sent_at > PRIVATE_REPLY_WINDOW:
                raise PrivateReplyNotAllowed(
                    "This comment is more than 7 days old; Instagram no longer allows a private "
                    "reply to it. Answer publicly instead."
                )
            if await repo.private_reply_exists(target.external_id or ""):
                raise PrivateReplyNotAllowed(
                    "A private reply was already sent for this comment; Instagram allows one."
                )
        if data.text is not None and len(data.text) > MAX_COMMENT_CHARS:
            raise ValidationFailed(
                "Instagram comments are limited to 2200 characters.",
                errors=[FieldError("text", "At most 2200 characters.")],
            )
        details["mode"] = mode
        reply_to = target.external_id
        kind = MessageKind.comment if mode == "public" else MessageKind.text
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

    message = await _store_pending(
        session,
        outbox,
        principal,
        conversation,
        channel,
        kind,
        data.text,
        media,
        details,
        reply_to,
        idempotency_key,
        request_hash,
    )
    return message, True


async def _store_pending(
    session: AsyncSession,
    outbox: Outbox,
    principal: Principal,
    conversation: Conversation,
    channel: Channel,
    kind: MessageKind,
    text: str | None,
    media: list[dict[str, Any]],
    details: dict[str, Any],
    reply_to: str | None,
    idempotency_key: str | None,
    request_hash: str,
) -> Message:
    now = utcnow()
    message = Message(
        workspace_id=principal.workspace_id,
        channel_id=channel.id,
        conversation_id=conversation.id,
        direction=Direction.outbound,
        kind=kind,
        status=MessageStatus.pending,
        text=text,
        search_text=fold(text),
        media=media,
        details=details,
        reactions=[],
        reply_to_external_id=reply_to,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
        sent_at=now,
        received_at=now,
        author_id=principal.user.id,
    )
    session.add(message)
    await session.flush()
    await GlobalInbox(session).touch_conversation(
        conversation.id, at=now, preview=preview_of(message), inbound=False, unread_increment=0
    )
    await publish_message(session, outbox.settings, message, created=True)
    return message


def _window_message(settings: Settings) -> str:
    if settings.inbox_human_agent_tag:
        return (
            "The customer's last message is more than 7 days old. Instagram allows replies "
            "within 24 hours of it, and up to 7 days for a person answering with the Human "
            "Agent tag; after that, wait for the customer to write again."
        )
    return (
        "The customer's last message is more than 24 hours old, and Instagram allows replies "
        "only within 24 hours of it (7 days with the Human Agent tag, which this app does not "
        "have). Wait for the customer to write again."
    )


async def _comment_target(
    repo: InboxRepository, conversation: Conversation, message_id: uuid.UUID | None
) -> Message:
    if message_id is not None:
        target = await repo.message(message_id)
        if (
            target is None
            or target.conversation_id != conversation.id
            or target.direction != Direction.inbound
        ):
            raise NotFound("This comment does not exist in this conversation.")
        return target
    latest = await repo.latest_inbound(conversation.id)
    if latest is None:
        raise NotFound("This conversation has no comment to answer.")
    return latest


async def retry_message(
    session: AsyncSession, principal: Principal, message_id: uuid.UUID
) -> Message:
    """Put a failed message back to ``pending`` (the route commits, then delivers it)."""
    message = await get_message(session, principal, message_id)
    if message.direction != Direction.outbound or message.status != MessageStatus.failed:
        raise NotRetryable
    conversation = await get_conversation(session, principal, message.conversation_id)
    if conversation.channel.platform == Platform.whatsapp and message.kind != MessageKind.template:
        # Free-form again only inside the window, checked before WhatsApp is called.
        whatsapp_send.check_window(conversation)
    message.status = MessageStatus.pending
    message.error_code = None
    message.error_message = None
    await session.flush()
    return message


async def deliver(session: AsyncSession, outbox: Outbox, message_id: uuid.UUID) -> Message:
    """Call Meta for a committed ``pending`` message and settle it. Call only after the
    pending row is committed."""
    repo = GlobalInbox(session)
    message = await repo.message(message_id)
    if message is None:
        raise NotFound("This message does not exist.")
    if message.status != MessageStatus.pending:
        return message
    conversation = await repo.conversation(message.conversation_id)
    assert conversation is not None  # noqa: S101 - foreign key
    channel = await _channel(session, conversation)
    if channel.platform == Platform.whatsapp:
        return await whatsapp_send.deliver(session, outbox, message, conversation, channel)
    recipient = conversation.contact.external_id
    text = message.text or ""
    mode = (message.details or {}).get("mode")
    human_agent = bool((message.details or {}).get("human_agent"))
    image_url = signed_url(outbox.settings, str(message.media[0]["key"])) if message.media else None

    async def send(client: Any) -> str:
        if mode == "public":
            return str(await client.reply_to_comment(message.reply_to_external_id or "", text))
        if mode == "private":
            result = await client.send_private_reply(message.reply_to_external_id or "", text)
            return str(result.message_id)
        if image_url is not None:
            result = await client.send_image(recipient, image_url, human_agent=human_agent)
        else:
            result = await client.send_text(recipient, text, human_agent=human_agent)
        return str(result.message_id)

    try:
        external_id = await channels.call_meta(session, outbox.meta, outbox.box, channel, send)
    except ChannelUnavailable as exc:
        _fail(message, "channel_needs_reconnect", exc.message)
        await session.flush()
        await publish_message(session, outbox.settings, message, created=False)
        raise
    except MetaError as exc:
        _fail(message, _meta_code(exc), _meta_reason(exc))
    except ValueError as exc:  # refused by the client before calling (e.g. text too long)
        _fail(message, "invalid_message", str(exc))
    else:
        # The echo webhook may have overtaken this answer and stored the message under Meta's
        # id; that row is the same message, so it gives way to this one.
        echo = await repo.message_by_external_id(channel.id, external_id)
        if echo is not None and echo.id != message.id:
            await repo.delete_message(echo.id)
            await session.flush()
            # Live clients were told about the echo's row: tell them it is this one.
            details = dict(message.details or {})
            details["replaces"] = str(echo.id)
            message.details = details
        message.external_id = external_id
        message.status = MessageStatus.sent
        message.error_code = None
        message.error_message = None
    await session.flush()
    await publish_message(session, outbox.settings, message, created=False)
    return message


def _fail(message: Message, code: str, reason: str) -> None:
    message.status = MessageStatus.failed
    message.error_code = code
    message.error_message = reason
    log.info("message_send_failed", message_id=str(message.id), code=code)


def _meta_code(exc: MetaError) -> str:
    parts = [str(exc.code)] if exc.code is not None else []
    if exc.subcode is not None:
        parts.append(str(exc.subcode))
    return "meta_" + "_".join(parts) if parts else "meta_error"


def _meta_reason(exc: MetaError) -> str:
    said = exc.user_msg or exc.message
    if isinstance(exc, OutsideMessagingWindow):
        return (
            "Instagram refused the message because the messaging window is closed (replies are "
            f"allowed within 24 hours of the customer's last message). Instagram said: {said}"
        )
    if isinstance(exc, RateLimited):
        return (
            "Instagram is limiting how many messages this account sends; try again in about "
            f"{int(exc.retry_after_seconds)} seconds. Instagram said: {said}"
        )
    if isinstance(exc, TransientError):
        return (
            "Instagram had a temporary problem and may not have sent the message; check the "
            f"conversation on Instagram before retrying. Instagram said: {said}"
        )
    if isinstance(exc, PermissionDenied):
        return (
            f"Instagram refused: this account lacks a permission for this. Instagram said: {said}"
        )
    if isinstance(exc, InvalidParameter):
        return f"Instagram refused the message as invalid. Instagram said: {said}"
    return f"Instagram refused the message. Instagram said: {said}"


def schedule_reconciliation(
    session: AsyncSession, runtime: JobRuntime, channel_id: uuid.UUID
) -> None:
    """For the channels domain: read this channel's conversations from Meta soon (after the
    transaction commits). New channels are also found by the tick within one interval."""
    runtime.enqueue(session, "inbox.reconcile_channel", str(channel_id))


# A send still pending this long after it was written was cut off (the process died between
# committing the pending row and storing Meta's answer): Meta's client gives up much sooner.
STUCK_SEND_AFTER = timedelta(minutes=5)


async def settle_stuck_sends(session: AsyncSession, settings: Settings) -> int:
    """Settle sends whose outcome was never stored. If Meta sent it, its echo arrived as a
    separate row (it could not be matched by id): merge the two. Otherwise mark it failed with
    the Retry action and say why, so it is never shown as sent and never left hanging."""
    repo = GlobalInbox(session)
    stuck = await repo.stuck_sends(utcnow() - STUCK_SEND_AFTER, 100)
    for message in stuck:
        echo = await repo.unclaimed_echo(message)
        if echo is not None:
            external_id, sent_at = echo.external_id, echo.sent_at
            await repo.delete_message(echo.id)
            await session.flush()
            message.external_id = external_id
            message.sent_at = sent_at
            message.status = MessageStatus.sent
            message.details = {**(message.details or {}), "replaces": str(echo.id)}
        else:
            channel = await repo.channel(message.channel_id)
            platform = (
                "WhatsApp"
                if channel is not None and channel.platform == Platform.whatsapp
                else "Instagram"
            )
            _fail(
                message,
                "send_unconfirmed",
                f"We could not confirm with {platform} that this message was sent (the send was "
                f"interrupted). Check the conversation on {platform} before retrying.",
            )
        await session.flush()
        await publish_message(session, settings, message, created=False)
    return len(stuck)
