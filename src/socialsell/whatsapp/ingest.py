"""WhatsApp webhook events into the inbox: customers' messages and reactions (through the
inbox's idempotent :func:`~socialsell.inbox.ingest.apply`), statuses of the business's messages,
and account changes (template reviews, number quality).

Statuses settle outbound messages and only ever move them forward (sent -> delivered -> read; a
failure only before delivery), so a duplicated or reordered status changes nothing. The first
status that carries ``pricing`` records it on the message (the cost report reads it).
"""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from socialsell.channels.models import Channel
from socialsell.db import utcnow
from socialsell.inbox.ingest import (
    Ingest,
    ReactionEvent,
    TargetMissing,
    apply,
    publish_message,
)
from socialsell.inbox.models import Direction, Message, MessageStatus
from socialsell.inbox.repository import GlobalInbox
from socialsell.webhooks.whatsapp import TEMPLATE_FIELDS, AccountEvent, StatusEvent, WhatsAppEvent
from socialsell.whatsapp.service import apply_quality_update

log = structlog.get_logger(__name__)

# How far each status carries a message. `failed` outranks `sent` (a failure reported after the
# message left us), but never undoes a delivery or a read.
_RANK = {
    MessageStatus.pending: 0,
    MessageStatus.sent: 1,
    MessageStatus.delivered: 2,
    MessageStatus.read: 3,
}
_STATUSES = {
    "sent": MessageStatus.sent,
    "delivered": MessageStatus.delivered,
    "read": MessageStatus.read,
    "failed": MessageStatus.failed,
}


async def apply_event(
    session: AsyncSession, ingest: Ingest, channel: Channel, event: WhatsAppEvent
) -> bool:
    """Store one event of a number; True if it changed anything. Raises
    :class:`TargetMissing` when it refers to a message not stored yet."""
    if isinstance(event, StatusEvent):
        return await _status(session, ingest, channel, event)
    changed = await apply(session, ingest, channel, event)
    if isinstance(event, ReactionEvent) and not event.by_business:
        # A reaction is a customer message for WhatsApp: it renews the service window.
        await _renew_window(session, channel, event)
    return changed


async def _renew_window(session: AsyncSession, channel: Channel, event: ReactionEvent) -> None:
    repo = GlobalInbox(session)
    target = await repo.message_by_external_id(channel.id, event.target_external_id)
    if target is None:
        return
    conversation = await repo.conversation(target.conversation_id)
    if conversation is None:
        return
    at = min(event.at, utcnow())  # on our clock, as for messages (inbox/repository.py)
    if conversation.last_inbound_at is None or conversation.last_inbound_at < at:
        conversation.last_inbound_at = at
        await session.flush()


def error_words(errors: tuple[dict[str, Any], ...] | list[dict[str, Any]]) -> tuple[str, str]:
    """A failed status's errors as (code, a sentence for the seller)."""
    first = errors[0] if errors else {}
    code = first.get("code")
    said = first.get("message") or first.get("title") or "no reason given"
    details = (first.get("error_data") or {}).get("details") if isinstance(first, dict) else None
    if details:
        said = f"{said} ({details})"
    meaning = {
        131047: "the customer's last message is more than 24 hours old, so WhatsApp allows only "
        "templates now. Send a template instead",
        131026: "WhatsApp could not deliver it to this number (not on WhatsApp, an old app "
        "version, or the customer has not accepted the new terms)",
        131049: "WhatsApp did not deliver this marketing message to keep the customer's "
        "experience healthy (a limit per customer)",
        131050: "the customer stopped marketing messages from this business",
        131051: "WhatsApp does not support this kind of message",
        131053: "WhatsApp could not process the media (its type or size)",
        130472: "the customer's number is part of an experiment and did not get marketing messages",
        131021: "the recipient is the business's own number",
        131056: "too many messages to this customer in a short time; wait a moment",
        132000: "the template's parameters do not match it",
        132001: "the template does not exist or is not approved in that language",
        132015: "the template is paused because of low quality",
        132016: "the template is disabled because of low quality",
        368: "the account is temporarily blocked for policy violations",
    }.get(int(code) if isinstance(code, int | str) and str(code).isdigit() else -1)
    text = (
        f"WhatsApp did not deliver this message: {meaning}. WhatsApp said: {said}"
        if meaning
        else f"WhatsApp did not deliver this message. WhatsApp said: {said}"
    )
    return (f"meta_{code}" if code is not None else "meta_error"), text


async def _status(
    session: AsyncSession, ingest: Ingest, channel: Channel, event: StatusEvent
) -> bool:
    new = _STATUSES.get(event.status)
    repo = GlobalInbox(session)
    message = await repo.message_by_external_id(channel.id, event.external_id)
    if message is None:
        # Not stored yet (the send's answer is still being written) or sent from elsewhere.
        raise TargetMissing(event.external_id)
    if message.direction != Direction.outbound:
        return False
    changed = _record_pricing(message, event)
    stamps: dict[str, str] = dict((message.details or {}).get("statuses") or {})
    if event.status not in stamps:
        stamps[event.status] = event.at.isoformat()
        message.details = {**(message.details or {}), "statuses": stamps}
        changed = True
    if new is not None and _moves_forward(message.status, new):
        message.status = new
        if new == MessageStatus.read:
            message.read_at = event.at
        if new == MessageStatus.failed:
            code, words = error_words(event.errors)
            message.error_code = code
            message.error_message = words
        changed = True
    elif new is None:
        log.info("whatsapp_status_unknown", status=event.status, message_id=str(message.id))
    if not changed:
        return False
    await session.flush()
    await publish_message(session, ingest.settings, message, created=False)
    return True


def _moves_forward(current: MessageStatus, new: MessageStatus) -> bool:
    if current == new:
        return False
    if new == MessageStatus.failed:
        return current in {MessageStatus.pending, MessageStatus.sent}
    if current == MessageStatus.failed:
        return False
    return _RANK.get(new, 0) > _RANK.get(current, 0)


def _record_pricing(message: Message, event: StatusEvent) -> bool:
    pricing = event.pricing
    if not pricing or message.priced_at is not None:
        return False
    category = pricing.get("category")
    kind = pricing.get("type")
    billable = pricing.get("billable")
    message.pricing_category = str(category)[:32] if category else None
    message.pricing_type = str(kind)[:32] if kind else None
    message.pricing_billable = billable if isinstance(billable, bool) else None
    message.priced_at = event.at
    return True


async def apply_account_event(
    session: AsyncSession, ingest: Ingest, channels: list[Channel], event: AccountEvent
) -> list[str]:
    """An account change for every connected number of the WABA; returns notes."""
    notes: list[str] = []
    for channel in channels:
        if event.field in TEMPLATE_FIELDS:
            from socialsell.whatsapp.templates.service import apply_template_webhook

            await apply_template_webhook(session, channel, event.field, event.value, at=event.at)
        elif event.field == "phone_number_quality_update":
            shown = str(event.value.get("display_phone_number") or "")
            number = str((channel.details or {}).get("display_phone_number") or "")
            # The update names the number by its display form; other numbers of the WABA keep
            # their own rating.
            if shown and _digits(shown) != _digits(number):
                continue
            apply_quality_update(channel, event.value)
            await session.flush()
    return notes


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())
