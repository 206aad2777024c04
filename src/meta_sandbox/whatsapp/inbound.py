"""Customers' messages to a business number, built as the `messages` webhook carries them.

The control API describes what the persona does ("reply to that list with row X", "send a
photo"); this module turns it into the exact webhook message object of each kind (text, image,
audio, video, document, sticker, location, contacts, interactive button_reply/list_reply, button,
reaction, order, system, unsupported), stores customer media so the product can download it, and
opens the 24-hour customer service window.
"""

from __future__ import annotations

import base64
from typing import Any

from fastapi import HTTPException

from meta_sandbox.whatsapp import payloads
from meta_sandbox.whatsapp.context import Ctx
from meta_sandbox.whatsapp.media import SAMPLE_FILES, generate_jpeg, sha256_b64
from meta_sandbox.whatsapp.state import (
    KIND_MEDIA,
    InboundMessage,
    Media,
    OutboundMessage,
    Persona,
    PhoneNumber,
    chat_key,
    new_wamid,
)

INBOUND_TYPES: tuple[str, ...] = (
    "text",
    "image",
    "audio",
    "video",
    "document",
    "sticker",
    "location",
    "contacts",
    "interactive",
    "button",
    "reaction",
    "order",
    "system",
    "unsupported",
)
MEDIA_KINDS: tuple[str, ...] = ("image", "audio", "video", "document", "sticker")

SAMPLE_CONTACT: dict[str, Any] = {
    "name": {"first_name": "Lucía", "last_name": "Gómez", "formatted_name": "Lucía Gómez"},
    "org": {"company": "Google"},
    "phones": [{"phone": "+1 (983) 555-2319", "wa_id": "19835552319", "type": "MOBILE"}],
}
SAMPLE_ORDER: dict[str, Any] = {
    "catalog_id": "194836987003835",
    "text": "",
    "product_items": [
        {"product_retailer_id": "di9ozbzfi4", "quantity": 2, "item_price": 30, "currency": "USD"},
        {"product_retailer_id": "nqryix03ez", "quantity": 1, "item_price": 25, "currency": "USD"},
    ],
}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _bad(detail: str) -> HTTPException:
    return HTTPException(status_code=422, detail=detail)


def _business_message(ctx: Ctx, phone: PhoneNumber, wa_id: str, message_id: Any) -> OutboundMessage:
    message = ctx.wa.outbound.get(str(message_id))
    if message is None or message.phone_number_id != phone.id or message.to != wa_id:
        raise HTTPException(
            status_code=404, detail=f"{message_id} is not a business message in this chat"
        )
    return message


def _context(ctx: Ctx, phone: PhoneNumber, wa_id: str, reply_to: Any) -> dict[str, str]:
    """`context` of a reply: `from` is whoever wrote the quoted message."""
    inbound = ctx.wa.inbound.get(str(reply_to))
    if inbound is not None and inbound.phone_number_id == phone.id and inbound.wa_id == wa_id:
        return {"from": wa_id, "id": inbound.id}
    outbound = _business_message(ctx, phone, wa_id, reply_to)
    return {"from": phone.number, "id": outbound.id}


def _store_media(
    ctx: Ctx, phone: PhoneNumber, mime: str, data: bytes, filename: str | None
) -> Media:
    media = Media(
        id=ctx.state.new_id(),
        phone_number_id=phone.id,
        mime_type=mime,
        data_b64=base64.b64encode(data).decode(),
        filename=filename,
        origin="customer",
    )
    ctx.state.register_object(media.id, KIND_MEDIA)
    ctx.wa.media[media.id] = media
    return media


def _media_content(
    ctx: Ctx, phone: PhoneNumber, persona: Persona, kind: str, spec: dict[str, Any]
) -> dict[str, Any]:
    caption = spec.get("caption")
    if spec.get("data_base64"):
        data = base64.b64decode(str(spec["data_base64"]))
        mime = str(spec.get("mime_type") or SAMPLE_FILES.get(kind, ("image/jpeg",))[0])
        filename = spec.get("filename")
    elif kind == "image":
        data = generate_jpeg(str(caption or f"photo from {persona.name}"))
        mime, filename = "image/jpeg", None
    else:
        mime, data, filename = SAMPLE_FILES[kind]
        filename = spec.get("filename") or filename
    media = _store_media(ctx, phone, mime, data, filename)
    content: dict[str, Any] = {}
    if caption and kind in ("image", "video", "document"):
        content["caption"] = str(caption)
    if kind == "document":
        content["filename"] = media.filename or "document"
    # Voice notes arrive as "audio/ogg; codecs=opus" with `voice: true`.
    content["mime_type"] = "audio/ogg; codecs=opus" if mime == "audio/ogg" else mime
    content["sha256"] = sha256_b64(data)
    content["id"] = media.id
    if kind == "audio":
        content["voice"] = bool(spec.get("voice", True))
    if kind == "sticker":
        content["animated"] = bool(spec.get("animated", False))
    return content


def _interactive(
    ctx: Ctx, phone: PhoneNumber, wa_id: str, spec: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str] | None]:
    if not spec.get("reply_to"):
        # An interactive reply always answers a business message: the webhook names it in
        # `context` (required by the spec's InteractiveMessageReply).
        raise _bad("interactive replies need reply_to (a business message id)")
    if isinstance(spec.get("interactive"), dict):
        _business_message(ctx, phone, wa_id, spec["reply_to"])
        return dict(spec["interactive"]), _context(ctx, phone, wa_id, spec["reply_to"])
    if not spec.get("reply_to"):
        raise _bad("interactive replies need reply_to (a business interactive message id)")
    message = _business_message(ctx, phone, wa_id, spec["reply_to"])
    interactive = message.request.get("interactive")
    if message.type != "interactive" or not isinstance(interactive, dict):
        raise _bad(f"{message.id} is not an interactive message")
    choice = spec.get("choice")
    action = interactive.get("action") or {}
    context = {"from": phone.number, "id": message.id}
    if interactive.get("type") == "button":
        replies = [b.get("reply", {}) for b in action.get("buttons", [])]
        picked = next((r for r in replies if choice is None or r.get("id") == choice), None)
        if picked is None:
            raise _bad(f"no button with id {choice!r}")
        return {
            "type": "button_reply",
            "button_reply": {"id": picked.get("id"), "title": picked.get("title")},
        }, context
    if interactive.get("type") == "list":
        rows = [row for section in action.get("sections", []) for row in section.get("rows", [])]
        row = next((r for r in rows if choice is None or r.get("id") == choice), None)
        if row is None:
            raise _bad(f"no list row with id {choice!r}")
        reply = {"id": row.get("id"), "title": row.get("title")}
        if row.get("description"):
            reply["description"] = row["description"]
        return {"type": "list_reply", "list_reply": reply}, context
    raise _bad("only reply-button and list messages can be answered this way")


def _template_button(
    ctx: Ctx, phone: PhoneNumber, wa_id: str, spec: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str] | None]:
    if not spec.get("reply_to"):
        # A template button reply always answers a business message (`context` is required by
        # the spec's ButtonMessage).
        raise _bad("button replies need reply_to (a business template message id)")
    if isinstance(spec.get("button"), dict):
        _business_message(ctx, phone, wa_id, spec["reply_to"])
        return dict(spec["button"]), _context(ctx, phone, wa_id, spec["reply_to"])
    if not spec.get("reply_to"):
        raise _bad("button replies need reply_to (a business template message id)")
    message = _business_message(ctx, phone, wa_id, spec["reply_to"])
    template = ctx.wa.templates.get(message.template_id or "")
    if template is None:
        raise _bad(f"{message.id} is not a template message")
    buttons: list[dict[str, Any]] = next(
        (c.get("buttons", []) for c in template.components if c["type"] == "BUTTONS"), []
    )
    quick = [i for i, b in enumerate(buttons) if b.get("type") == "QUICK_REPLY"]
    index = int(spec.get("index", quick[0] if quick else -1))
    if index not in quick:
        raise _bad(f"the template has no quick-reply button at index {index}")
    text = str(buttons[index].get("text", ""))
    payload = text
    # The payload is what the business set for that button when sending, else the button text.
    for component in message.request.get("template", {}).get("components", []) or []:
        if component.get("type") == "button" and str(component.get("index")) == str(index):
            for param in component.get("parameters", []):
                if param.get("type") == "payload":
                    payload = str(param.get("payload"))
    return {"payload": payload, "text": text}, {"from": phone.number, "id": message.id}


# How far back a persona's message may be dated (seeding a history, a late delivery).
MAX_BACKDATE_SECONDS = 30 * 86_400


def _written_at(ctx: Ctx, spec: dict[str, Any]) -> float:
    """When the persona wrote: now, or `at` (epoch seconds, in the past) to seed a history."""
    at = spec.get("at")
    if at is None:
        return ctx.now()
    if isinstance(at, bool) or not isinstance(at, int | float):
        raise _bad("at must be epoch seconds")
    now = ctx.now()
    if at > now or at < now - MAX_BACKDATE_SECONDS:
        raise _bad("at must be in the past, at most 30 days ago")
    return float(at)


def build_message(
    ctx: Ctx, phone: PhoneNumber, persona: Persona, spec: dict[str, Any]
) -> dict[str, Any]:
    """The webhook `messages[]` item for what the persona does."""
    kind = spec.get("type", "text")
    if kind not in INBOUND_TYPES:
        raise _bad(f"type must be one of {', '.join(INBOUND_TYPES)}")
    wa_id = persona.wa_id
    message: dict[str, Any] = {
        "from": wa_id,
        "id": new_wamid(wa_id),
        "timestamp": str(int(_written_at(ctx, spec))),
        "type": kind,
    }
    context: dict[str, str] | None = None
    if spec.get("reply_to") and kind not in ("interactive", "button", "reaction"):
        context = _context(ctx, phone, wa_id, spec["reply_to"])
    if kind == "text":
        text = spec.get("text")
        body = text.get("body") if isinstance(text, dict) else text
        if not isinstance(body, str) or not body:
            raise _bad("text messages need text")
        message["text"] = {"body": body}
    elif kind in MEDIA_KINDS:
        raw = spec.get(kind)
        media_spec = {**spec, **raw} if isinstance(raw, dict) else spec
        message[kind] = _media_content(ctx, phone, persona, kind, media_spec)
    elif kind == "location":
        location = spec.get("location")
        if (
            not isinstance(location, dict)
            or "latitude" not in location
            or "longitude" not in location
        ):
            raise _bad("location messages need location.latitude and location.longitude")
        lat, lng = location["latitude"], location["longitude"]
        # The webhook schema requires name and address; a dropped pin gets plain ones.
        message["location"] = {
            "address": str(location.get("address") or f"{lat}, {lng}"),
            "latitude": lat,
            "longitude": lng,
            "name": str(location.get("name") or "Shared location"),
            **({"url": location["url"]} if location.get("url") else {}),
        }
    elif kind == "contacts":
        contacts = spec.get("contacts")
        message["contacts"] = (
            contacts if isinstance(contacts, list) and contacts else [SAMPLE_CONTACT]
        )
    elif kind == "interactive":
        message["interactive"], context = _interactive(ctx, phone, wa_id, spec)
    elif kind == "button":
        message["button"], context = _template_button(ctx, phone, wa_id, spec)
    elif kind == "reaction":
        reaction = _dict(spec.get("reaction"))
        target = reaction.get("message_id") or spec.get("reply_to")
        if not target:
            raise _bad("reactions need reaction.message_id (or reply_to)")
        _context(ctx, phone, wa_id, target)  # must be a message of this chat
        message["reaction"] = {
            "message_id": str(target),
            "emoji": reaction.get("emoji", spec.get("emoji", "\U0001f44d")),
        }
    elif kind == "order":
        order = spec.get("order")
        message["order"] = order if isinstance(order, dict) else SAMPLE_ORDER
    elif kind == "system":
        system = _dict(spec.get("system"))
        new_wa_id = str(system.get("wa_id") or spec.get("new_wa_id") or "")
        if not new_wa_id.isdigit():
            raise _bad("system messages need system.wa_id (the customer's new number)")
        message["system"] = {
            "body": f"User {persona.name} changed from {wa_id} to {new_wa_id}",
            "wa_id": new_wa_id,
            "type": "user_changed_number",
        }
    elif kind == "unsupported":
        message["errors"] = [
            {
                "code": 131051,
                "title": "Message type unknown",
                "message": "Message type unknown",
                "error_data": {"details": "Message type is currently not supported."},
            }
        ]
    if context is not None:
        message["context"] = context
    if isinstance(spec.get("referral"), dict):
        message["referral"] = spec["referral"]
    return message


async def receive(
    ctx: Ctx, phone: PhoneNumber, persona: Persona, spec: dict[str, Any]
) -> InboundMessage:
    """The persona writes to the business: store, open the window, emit the webhook."""
    message = build_message(ctx, phone, persona, spec)
    inbound = InboundMessage(
        id=message["id"],
        phone_number_id=phone.id,
        wa_id=persona.wa_id,
        type=message["type"],
        message=message,
        timestamp=int(message["timestamp"]),
    )
    ctx.wa.inbound[inbound.id] = inbound
    if inbound.type == "system":
        # The customer now lives at the new number; same person, same profile name.
        new_wa_id = message["system"]["wa_id"]
        ctx.wa.personas.setdefault(
            new_wa_id,
            Persona(wa_id=new_wa_id, name=persona.name, reachable=persona.reachable),
        )
    else:
        # Any customer message opens (or renews) the 24-hour customer service window, from
        # when it was written (a backdated message does not move the window back).
        key = chat_key(phone.id, persona.wa_id)
        written = float(inbound.timestamp)
        ctx.wa.last_customer_message_at[key] = max(
            ctx.wa.last_customer_message_at.get(key, written), written
        )
    await ctx.emit(phone.waba_id, payloads.inbound_message_entry(phone, inbound, persona.name))
    return inbound
