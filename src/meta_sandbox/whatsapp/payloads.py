"""Webhook payloads of the `whatsapp_business_account` object, shaped as Meta sends them.

Builders return one `entry` (`{"id": <WABA_ID>, "changes": [...]}`); the core dispatcher wraps
entries in `{"object": "whatsapp_business_account", "entry": [...]}`, batches and signs them.
Shapes follow the official OpenAPI examples (`/whatsapp/webhooks`) and Meta's status reference.
"""

from __future__ import annotations

from typing import Any

from meta_sandbox.whatsapp.state import InboundMessage, OutboundMessage, PhoneNumber, Template


def metadata(phone: PhoneNumber) -> dict[str, str]:
    return {"display_phone_number": phone.number, "phone_number_id": phone.id}


def entry(
    waba_id: str, field: str, value: dict[str, Any], time: int | None = None
) -> dict[str, Any]:
    """Message and status entries carry no `time`; account-level ones (templates, quality) do."""
    item: dict[str, Any] = {"id": waba_id}
    if time is not None:
        item["time"] = time
    item["changes"] = [{"value": value, "field": field}]
    return item


def inbound_message_entry(
    phone: PhoneNumber, message: InboundMessage, profile_name: str
) -> dict[str, Any]:
    """A customer's message. System messages carry no `contacts` (schema IncomingMessageValueSystem)."""
    value: dict[str, Any] = {"messaging_product": "whatsapp", "metadata": metadata(phone)}
    if message.type != "system":
        value["contacts"] = [{"profile": {"name": profile_name}, "wa_id": message.wa_id}]
    value["messages"] = [message.message]
    return entry(phone.waba_id, "messages", value)


def status_object(message: OutboundMessage, status: str, timestamp: int) -> dict[str, Any]:
    """One item of `statuses[]`. Failed statuses carry `errors` and no pricing (nothing billed)."""
    item: dict[str, Any] = {
        "id": message.id,
        "status": status,
        "timestamp": str(timestamp),
        "recipient_id": message.to,
    }
    if status == "failed":
        return item
    conversation: dict[str, Any] = {"id": message.conversation_id}
    # Meta sends the window's expiry only with the first (`sent`) status of a conversation.
    if status == "sent":
        conversation["expiration_timestamp"] = str(message.conversation_expires_at)
    conversation["origin"] = {"type": message.pricing_category}
    item["conversation"] = conversation
    item["pricing"] = {
        "billable": message.billable,
        "pricing_model": "PMP",
        "category": message.pricing_category,
        "type": message.pricing_type,
    }
    return item


def status_entry(
    phone: PhoneNumber,
    message: OutboundMessage,
    status: str,
    timestamp: int,
    errors: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    item = status_object(message, status, timestamp)
    if errors:
        item["errors"] = errors
    value = {"messaging_product": "whatsapp", "metadata": metadata(phone), "statuses": [item]}
    return entry(phone.waba_id, "messages", value)


def template_status_entry(template: Template, now: float) -> dict[str, Any]:
    """`message_template_status_update`: review outcome or a later pause/disable."""
    value: dict[str, Any] = {
        "event": template.status,
        "message_template_id": int(template.id),
        "message_template_name": template.name,
        "message_template_language": template.language,
        "reason": template.rejected_reason if template.status == "REJECTED" else "NONE",
    }
    return entry(template.waba_id, "message_template_status_update", value, int(now))


def quality_update_entry(phone: PhoneNumber, event: str, now: float) -> dict[str, Any]:
    """`phone_number_quality_update`: a quality or messaging-limit change of a number."""
    value = {
        "display_phone_number": phone.number,
        "event": event,
        "current_limit": phone.messaging_limit_tier,
    }
    return entry(phone.waba_id, "phone_number_quality_update", value, int(now))
