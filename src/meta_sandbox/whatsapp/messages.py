"""Sending (`POST /{phone_number_id}/messages`), marking read, and customers' inbound messages.

Order of checks on a send, as the Cloud API answers them: body shape (100/131008/131009), the
recipient (131021), the template (132001/132015/132016, then 132000/132012), throughput (130429)
and the per-recipient pair rate (131056). Then the message is accepted (200, a wamid) and its
fate is told by status webhooks: `failed` with 131047 outside the customer service window, or
131026 when the recipient is not reachable on WhatsApp; otherwise sent -> delivered -> read.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from meta_sandbox.whatsapp import statuses, validation
from meta_sandbox.whatsapp.context import Ctx
from meta_sandbox.whatsapp.errors import invalid_parameter, missing_parameter, wa_error
from meta_sandbox.whatsapp.state import (
    SERVICE_WINDOW_SECONDS,
    Conversation,
    OutboundMessage,
    PairBucket,
    PhoneNumber,
    ReadReceipt,
    Template,
    chat_key,
    new_wamid,
)
from meta_sandbox.whatsapp.templates import check_send

NON_DIGITS = re.compile(r"\D")


def normalise_number(raw: str) -> str:
    """`to` accepts "+1 (650) 555-1234" and the like; the wa_id is its digits."""
    return NON_DIGITS.sub("", raw)


def window_open(ctx: Ctx, phone_number_id: str, wa_id: str) -> bool:
    last = ctx.wa.last_customer_message_at.get(chat_key(phone_number_id, wa_id))
    return last is not None and ctx.now() - last < SERVICE_WINDOW_SECONDS


def _find_template(ctx: Ctx, phone: PhoneNumber, name: str, language: str) -> Template:
    for template in ctx.wa.templates.values():
        if template.waba_id == phone.waba_id and template.name == name:
            if template.language != language:
                continue
            if template.status == "PAUSED":
                raise wa_error(132015, f"Template {name} is paused.")
            if template.status == "DISABLED":
                raise wa_error(132016, f"Template {name} is disabled.")
            if template.status == "APPROVED":
                return template
    raise wa_error(132001, f"template name ({name}) does not exist in {language}")


def _check_throughput(ctx: Ctx, phone: PhoneNumber) -> None:
    now = ctx.now()
    recent = [t for t in ctx.wa.recent_sends.get(phone.id, []) if now - t < 1.0]
    if len(recent) >= phone.throughput_mps:
        ctx.wa.recent_sends[phone.id] = recent
        raise wa_error(130429)
    recent.append(now)
    ctx.wa.recent_sends[phone.id] = recent


def _check_pair_rate(ctx: Ctx, phone: PhoneNumber, wa_id: str) -> None:
    key = chat_key(phone.id, wa_id)
    now = ctx.now()
    bucket = ctx.wa.pair_buckets.get(key) or PairBucket(tokens=phone.pair_burst, updated_at=now)
    refill = (now - bucket.updated_at) / phone.pair_refill_seconds
    bucket.tokens = min(float(phone.pair_burst), bucket.tokens + refill)
    bucket.updated_at = now
    ctx.wa.pair_buckets[key] = bucket
    if bucket.tokens < 1.0:
        raise wa_error(131056)
    bucket.tokens -= 1.0


def _chat_has_message(ctx: Ctx, phone_number_id: str, wa_id: str, message_id: str) -> bool:
    inbound = ctx.wa.inbound.get(message_id)
    if inbound is not None:
        return inbound.phone_number_id == phone_number_id and inbound.wa_id == wa_id
    outbound = ctx.wa.outbound.get(message_id)
    return (
        outbound is not None
        and outbound.phone_number_id == phone_number_id
        and outbound.to == wa_id
    )


def _check_media_id(ctx: Ctx, phone: PhoneNumber, kind: str, media: dict[str, Any]) -> None:
    media_id = media.get("id")
    if not media_id:
        return
    stored = ctx.wa.media.get(str(media_id))
    owner = ctx.wa.phone_numbers.get(stored.phone_number_id) if stored else None
    if stored is None or stored.deleted or owner is None or owner.waba_id != phone.waba_id:
        raise wa_error(131009, f"{kind}: media id {media_id} is not valid for this phone number.")


def _conversation(ctx: Ctx, phone: PhoneNumber, wa_id: str, category: str) -> Conversation:
    """The pricing window the message falls in (one per chat and category, 24 hours)."""
    key = f"{chat_key(phone.id, wa_id)}:{category}"
    now = ctx.now()
    current = ctx.wa.conversations.get(key)
    if current is None or current.expires_at <= now:
        current = Conversation(
            id=secrets.token_hex(16),
            expires_at=int(now + SERVICE_WINDOW_SECONDS),
            category=category,
        )
        ctx.wa.conversations[key] = current
    return current


async def send(ctx: Ctx, phone: PhoneNumber, body: dict[str, Any]) -> dict[str, Any]:
    """Handle a `POST /{phone_number_id}/messages` body that is not a read receipt."""
    if body.get("messaging_product") != "whatsapp":
        raise missing_parameter("messaging_product")
    to_raw = body.get("to")
    if not to_raw:
        raise missing_parameter("to")
    recipient_type = body.get("recipient_type", "individual")
    if recipient_type != "individual":
        raise invalid_parameter("recipient_type must be individual (groups are not emulated).")
    wa_id = normalise_number(str(to_raw))
    if not 7 <= len(wa_id) <= 15:
        raise invalid_parameter(f"The phone number {to_raw} is not a valid WhatsApp number.")
    if wa_id == phone.number:
        raise wa_error(131021)
    kind = body.get("type", "text")
    if kind not in validation.MESSAGE_TYPES:
        raise invalid_parameter(
            f'Param type must be one of {{{", ".join(validation.MESSAGE_TYPES)}}} - got "{kind}".'
        )

    template: Template | None = None
    rendered: str | None = None
    if kind == "text":
        validation.validate_text(body)
    elif kind in validation.MEDIA_MESSAGE_TYPES:
        _check_media_id(ctx, phone, kind, validation.validate_media(body, kind))
    elif kind == "location":
        validation.validate_location(body)
    elif kind == "contacts":
        validation.validate_contacts(body)
    elif kind == "interactive":
        validation.validate_interactive(body)
    elif kind == "reaction":
        reaction = validation.validate_reaction(body)
        if not _chat_has_message(ctx, phone.id, wa_id, str(reaction["message_id"])):
            raise wa_error(131009, "reaction: message_id is not a message of this chat.")
    elif kind == "template":
        name, language, request = validation.validate_template_request(body)
        template = _find_template(ctx, phone, name, language)
        rendered = check_send(template, request)

    context = body.get("context")
    context_id: str | None = None
    if context is not None:
        if not isinstance(context, dict) or not context.get("message_id"):
            raise wa_error(131008, "context: the parameter message_id is required.")
        context_id = str(context["message_id"])

    _check_throughput(ctx, phone)
    _check_pair_rate(ctx, phone, wa_id)

    in_window = window_open(ctx, phone.id, wa_id)
    if template is None and not in_window and phone.window_enforcement == "sync":
        raise wa_error(131047)

    if template is not None:
        category = template.category.lower()
        # Utility templates are free inside an open service window (since 2025-04-01).
        free = category == "utility" and in_window
        pricing_type = "free_customer_service" if free else "regular"
        billable = not free
    else:
        category, pricing_type, billable = "service", "free_customer_service", False
    conversation = _conversation(ctx, phone, wa_id, category)

    message = OutboundMessage(
        id=new_wamid(wa_id),
        phone_number_id=phone.id,
        to=wa_id,
        input=str(to_raw),
        type=kind,
        request=body,
        created_at=ctx.now(),
        seq=ctx.wa.next_seq(),
        context_message_id=context_id,
        template_id=template.id if template else None,
        rendered_text=rendered if template else validation.summary(kind, body),
        pricing_category=category,
        billable=billable,
        pricing_type=pricing_type,
        conversation_id=conversation.id,
        conversation_expires_at=conversation.expires_at,
    )
    ctx.wa.outbound[message.id] = message

    persona = ctx.wa.personas.get(wa_id)
    if template is None and not in_window:
        await statuses.fail(ctx, message, 131047)
    elif persona is None or not persona.reachable:
        await statuses.fail(ctx, message, 131026)
    else:
        await statuses.accept(ctx, message, auto_read=persona.auto_read)

    sent: dict[str, Any] = {"id": message.id}
    if template is not None:
        sent["message_status"] = "accepted"
    return {
        "messaging_product": "whatsapp",
        "contacts": [{"input": str(to_raw), "wa_id": wa_id}],
        "messages": [sent],
    }


def mark_read(ctx: Ctx, phone: PhoneNumber, body: dict[str, Any]) -> dict[str, Any]:
    """`{"status": "read", "message_id": ...}` (optionally with a typing indicator)."""
    if body.get("messaging_product") != "whatsapp":
        raise missing_parameter("messaging_product")
    if body.get("status") != "read":
        raise invalid_parameter("Param status must be read.")
    message_id = body.get("message_id")
    if not message_id:
        raise missing_parameter("message_id")
    message = ctx.wa.inbound.get(str(message_id))
    if message is None or message.phone_number_id != phone.id:
        raise invalid_parameter(f"Message {message_id} is not a received message of this number.")
    indicator = body.get("typing_indicator")
    if indicator is not None and (
        not isinstance(indicator, dict) or indicator.get("type") != "text"
    ):
        raise invalid_parameter("typing_indicator.type must be text.")
    # Reading a message marks the chat's earlier messages read too (dicts keep arrival order).
    for other in ctx.wa.inbound.values():
        if other.phone_number_id == phone.id and other.wa_id == message.wa_id:
            other.is_read = True
        if other.id == message.id:
            break
    ctx.wa.read_receipts.append(
        ReadReceipt(
            message_id=message.id,
            phone_number_id=phone.id,
            at=ctx.now(),
            typing_indicator=indicator is not None,
        )
    )
    return {"success": True}
