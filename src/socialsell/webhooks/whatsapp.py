"""WhatsApp webhook payloads (``object: whatsapp_business_account``) into inbox events.

Shapes (reference/meta-api.md §7, Meta's webhook reference): ``entry[]`` is a WhatsApp Business
Account (``id`` = WABA id) with ``changes[]`` of ``{field, value}``. Field ``messages`` carries
customers' ``messages[]`` (with ``contacts[]`` giving each sender's profile name) and the
``statuses[]`` of the business's messages, both for the number named in ``value.metadata``.
Template fields and ``phone_number_quality_update`` concern the account. Message kinds we do not
know are kept as ``unsupported`` (never dropped); fields we do not process are reported unknown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from socialsell.inbox.ingest import (
    Event,
    IncomingAttachment,
    MessageEvent,
    Party,
    ReactionEvent,
)
from socialsell.inbox.models import Direction, MessageKind


class MalformedPayload(ValueError):
    pass


@dataclass(frozen=True)
class StatusEvent:
    """A status of a business message: sent, delivered, read or failed."""

    external_id: str
    status: str
    at: datetime
    recipient: str | None
    errors: tuple[dict[str, Any], ...] = ()
    pricing: dict[str, Any] | None = None
    conversation: dict[str, Any] | None = None


@dataclass(frozen=True)
class AccountEvent:
    """A change about the WhatsApp Business Account: templates, quality, ..."""

    field: str
    value: dict[str, Any]
    at: datetime | None


WhatsAppEvent = Event | StatusEvent

# Fields handed on to the templates domain, and the account's number quality.
TEMPLATE_FIELDS = frozenset(
    {
        "message_template_status_update",
        "message_template_quality_update",
        "template_category_update",
    }
)
ACCOUNT_FIELDS = TEMPLATE_FIELDS | {"phone_number_quality_update"}

_MEDIA_KINDS = {
    "image": MessageKind.image,
    "video": MessageKind.video,
    "audio": MessageKind.audio,
    "document": MessageKind.file,
    "sticker": MessageKind.sticker,
}
_SIMPLE_KINDS = {
    "location": MessageKind.location,
    "contacts": MessageKind.contacts,
    "order": MessageKind.order,
    "system": MessageKind.system,
}


@dataclass
class Parsed:
    # (phone number id = channel external id, event)
    events: list[tuple[str, WhatsAppEvent]] = field(default_factory=list)
    # (WABA id, event)
    account_events: list[tuple[str, AccountEvent]] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


def _time(value: Any) -> datetime:
    # WhatsApp timestamps are Unix seconds as strings ("1700000000"); accept numbers too.
    if isinstance(value, bool):
        raise MalformedPayload("timestamp missing")
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise MalformedPayload("timestamp missing") from None
    return datetime.fromtimestamp(seconds, UTC)


def _map(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def parse(payload: Any) -> Parsed:
    if not isinstance(payload, Mapping) or payload.get("object") != "whatsapp_business_account":
        raise MalformedPayload("not a whatsapp_business_account delivery")
    entries = payload.get("entry")
    if not isinstance(entries, list):
        raise MalformedPayload("entry missing")
    parsed = Parsed()
    for entry in entries:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("id"), str | int):
            raise MalformedPayload("entry without id")
        waba_id = str(entry["id"])
        changes = entry.get("changes")
        if not isinstance(changes, list) or not changes:
            parsed.unknown.append("entry without changes")
            continue
        for change in changes:
            _change(parsed, waba_id, entry.get("time"), change)
    return parsed


def _change(parsed: Parsed, waba_id: str, entry_time: Any, change: Any) -> None:
    if not isinstance(change, Mapping) or not isinstance(change.get("value"), Mapping):
        raise MalformedPayload("change without value")
    name = change.get("field")
    value: Mapping[str, Any] = change["value"]
    if name in ACCOUNT_FIELDS:
        at = _time(entry_time) if entry_time is not None else None
        parsed.account_events.append((waba_id, AccountEvent(str(name), dict(value), at)))
        return
    if name != "messages":
        parsed.unknown.append(f"changes:{name}")
        return
    phone_id = _map(value.get("metadata")).get("phone_number_id")
    if not isinstance(phone_id, str | int) or not str(phone_id):
        raise MalformedPayload("metadata.phone_number_id missing")
    phone_id = str(phone_id)
    names = {
        str(c.get("wa_id")): _str(_map(c.get("profile")).get("name"))
        for c in value.get("contacts") or []
        if isinstance(c, Mapping) and c.get("wa_id")
    }
    for message in value.get("messages") or []:
        parsed.events.append((phone_id, _message(message, names)))
    for status in value.get("statuses") or []:
        parsed.events.append((phone_id, _status(status)))
    if not value.get("messages") and not value.get("statuses"):
        parsed.unknown.append("messages:" + ",".join(sorted(k for k in value if k != "metadata")))


def _message(m: Any, names: Mapping[str, str | None]) -> Event:
    if not isinstance(m, Mapping):
        raise MalformedPayload("message is not an object")
    wamid = _str(m.get("id"))
    sender = m.get("from")
    if wamid is None or not isinstance(sender, str | int):
        raise MalformedPayload("message without id or from")
    sender = str(sender)
    at = _time(m.get("timestamp"))
    contact = Party(sender, name=names.get(sender))
    kind_name = str(m.get("type") or "unknown")
    body = _map(m.get(kind_name))
    details: dict[str, Any] = {"wa_type": kind_name}
    context = _map(m.get("context"))
    reply_to = _str(context.get("id"))
    if context:
        details["context"] = context
    if m.get("referral"):
        details["referral"] = _map(m.get("referral"))

    if kind_name == "reaction":
        target = _str(body.get("message_id"))
        if target is None:
            raise MalformedPayload("reaction without message_id")
        emoji = _str(body.get("emoji"))
        return ReactionEvent(
            contact=contact,
            target_external_id=target,
            at=at,
            reaction=None if emoji is None else "emoji",
            emoji=emoji,
        )

    kind = MessageKind.unsupported
    text: str | None = None
    attachments: tuple[IncomingAttachment, ...] = ()
    if kind_name == "text":
        kind, text = MessageKind.text, _str(body.get("body"))
    elif kind_name in _MEDIA_KINDS:
        kind = _MEDIA_KINDS[kind_name]
        text = _str(body.get("caption"))
        media_id = _str(body.get("id")) or (str(body["id"]) if body.get("id") else None)
        facts: dict[str, Any] = {
            "wa_media_id": media_id,
            "mime_type": _str(body.get("mime_type")),
            "sha256": _str(body.get("sha256")),
            "filename": _str(body.get("filename")),
        }
        if body.get("voice") is not None:
            facts["voice"] = bool(body.get("voice"))
        if body.get("animated") is not None:
            facts["animated"] = bool(body.get("animated"))
        attachments = (IncomingAttachment(kind_name, None, facts),)
        if facts["filename"]:
            details["filename"] = facts["filename"]
    elif kind_name in _SIMPLE_KINDS:
        kind = _SIMPLE_KINDS[kind_name]
        if kind_name == "contacts":
            cards = [c for c in m.get("contacts") or [] if isinstance(c, Mapping)]
            details["contacts"] = [dict(c) for c in cards]
            text = (
                ", ".join(
                    n for c in cards if (n := _str(_map(c.get("name")).get("formatted_name")))
                )
                or None
            )
        else:
            details[kind_name] = body
            text = _simple_text(kind_name, body)
    elif kind_name == "interactive":
        kind = MessageKind.interactive
        reply = _map(body.get("button_reply")) or _map(body.get("list_reply"))
        details["interactive"] = body
        text = _str(reply.get("title"))
    elif kind_name == "button":
        kind = MessageKind.button
        details["button"] = body
        text = _str(body.get("text"))
    else:
        # "unsupported", "unknown", or a kind Meta adds later: kept and shown as unsupported.
        errors = m.get("errors")
        if isinstance(errors, list):
            details["errors"] = [dict(e) for e in errors if isinstance(e, Mapping)]
        if body:
            details[kind_name] = body
    return MessageEvent(
        contact=contact,
        direction=Direction.inbound,
        external_id=wamid,
        at=at,
        kind=kind,
        text=text,
        attachments=attachments,
        reply_to_external_id=reply_to,
        details=details,
    )


def _simple_text(kind_name: str, body: Mapping[str, Any]) -> str | None:
    """Words for search and preview of a location, order or system message."""
    if kind_name == "location":
        parts = [_str(body.get("name")), _str(body.get("address"))]
        return ", ".join(p for p in parts if p) or None
    if kind_name == "order":
        return _str(body.get("text"))
    if kind_name == "system":
        return _str(body.get("body"))
    return None


def _status(s: Any) -> StatusEvent:
    if not isinstance(s, Mapping):
        raise MalformedPayload("status is not an object")
    wamid = _str(s.get("id"))
    status = _str(s.get("status"))
    if wamid is None or status is None:
        raise MalformedPayload("status without id or status")
    errors = tuple(dict(e) for e in s.get("errors") or [] if isinstance(e, Mapping))
    recipient = s.get("recipient_id")
    return StatusEvent(
        external_id=wamid,
        status=status,
        at=_time(s.get("timestamp")),
        recipient=str(recipient) if recipient is not None else None,
        errors=errors,
        pricing=_map(s.get("pricing")) or None,
        conversation=_map(s.get("conversation")) or None,
    )
