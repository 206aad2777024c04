"""WhatsApp message templates: kept current from Meta's webhooks and syncs, and rendered for a
send. Services only flush; the edge commits."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from socialsell.channels.models import Channel
from socialsell.core.errors import FieldError, ValidationFailed
from socialsell.core.storage import signed_url
from socialsell.db import utcnow
from socialsell.publishing.models import MediaAsset, MediaKind
from socialsell.settings import Settings
from socialsell.whatsapp.templates.components import Parts, fill, parts
from socialsell.whatsapp.templates.models import WhatsAppTemplate
from socialsell.whatsapp.templates.repository import GlobalTemplates, Templates
from socialsell.whatsapp.templates.schemas import TemplateSend

log = structlog.get_logger(__name__)

STATUS_FIELD = "message_template_status_update"
QUALITY_FIELD = "message_template_quality_update"
CATEGORY_FIELD = "template_category_update"
TEMPLATE_FIELDS = (STATUS_FIELD, QUALITY_FIELD, CATEGORY_FIELD)

# Events that name the status the template returns to rather than a status of their own.
EVENT_STATUS = {
    "REINSTATED": "APPROVED",
    "UNFLAGGED": "APPROVED",
    "UNPAUSED": "APPROVED",
    "UNARCHIVED": "APPROVED",
    "UNLOCKED": "APPROVED",
}
QUALITY_SCORES = ("GREEN", "YELLOW", "RED", "UNKNOWN")
CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")
# A header image sent by link must stay fetchable until Meta has fetched it (it may retry).
HEADER_MEDIA_URL_TTL_SECONDS = 24 * 3600
# Meta refuses text parameters with new lines, tabs or more than 4 spaces in a row (132018).
PARAM_TEXT_MAX = 1024


# --- webhooks ------------------------------------------------------------------------------------


def _str(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (str, int)):
        text = str(value).strip()
        return text or None
    return None


async def apply_template_webhook(
    session: AsyncSession,
    channel: Channel,
    field: str,
    value: Mapping[str, Any],
    *,
    at: datetime | None = None,
) -> WhatsAppTemplate | None:
    """Apply a template change Meta reported for ``channel``'s account (status, quality or
    category). Applying the same change twice changes nothing. A change about a template we do
    not know asks for a sync of the number's templates instead of being dropped. ``at`` (the
    entry's time, if the caller has it) stops an older status from overwriting a newer one."""
    if field not in TEMPLATE_FIELDS or not isinstance(value, Mapping):
        return None
    repo = GlobalTemplates(session)
    template = await repo.find(
        channel.id,
        _str(value.get("message_template_id")),
        _str(value.get("message_template_name")),
        _str(value.get("message_template_language")),
    )
    if template is None:
        log.info("whatsapp_template_unknown", channel_id=str(channel.id), field=field)
        await repo.request_sync(channel, utcnow())
        return None
    if field == STATUS_FIELD:
        await _apply_status(session, template, value, at)
    elif field == QUALITY_FIELD:
        score = (_str(value.get("new_quality_score")) or "").upper()
        if score in QUALITY_SCORES:
            template.quality_score = score
    else:
        new = (_str(value.get("new_category")) or _str(value.get("correct_category")) or "").upper()
        if new in CATEGORIES and new != template.category:
            previous = (_str(value.get("previous_category")) or template.category).upper()
            template.previous_category = previous
            template.category = new
    await session.flush()
    return template


async def _apply_status(
    session: AsyncSession,
    template: WhatsAppTemplate,
    value: Mapping[str, Any],
    at: datetime | None,
) -> None:
    event = (_str(value.get("event")) or "").upper()
    if not event:
        return
    at = at.astimezone(UTC) if at is not None else None
    if (
        at is not None
        and template.status_updated_at is not None
        and at < template.status_updated_at
    ):
        return  # older news than what we hold
    if event == "DELETED":
        await session.delete(template)
        return
    status = EVENT_STATUS.get(event, event)
    reason = (_str(value.get("reason")) or "").upper()
    other = value.get("other_info")
    detail = None
    if isinstance(other, Mapping):
        detail = " ".join(
            part for part in (_str(other.get("title")), _str(other.get("description"))) if part
        )
    was = template.status
    template.status = status
    if at is not None:
        # Meta's time of the newest status applied; only Meta's times are compared with it
        # (our clock and Meta's may disagree by seconds).
        template.status_updated_at = at
    if status == "REJECTED":
        if reason and reason != "NONE":
            template.rejected_reason = reason
        elif was != "REJECTED":
            template.rejected_reason = None
    elif status == "APPROVED":
        template.rejected_reason = None
    template.status_detail = detail or None


# --- sending -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RenderedTemplate:
    """A template ready to send: ``payload`` is Graph's ``template`` object, ``preview`` the body
    with its values filled (stored as the message's text)."""

    payload: dict[str, Any]
    preview: str
    template_id: uuid.UUID
    name: str
    language: str
    category: str


P = "template.parameters"


def _clean_value(value: str, field: str, errors: list[FieldError], label: str) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        errors.append(FieldError(field, f"Fill in {label}."))
    elif "\n" in text or "\t" in text or "     " in text:
        errors.append(
            FieldError(field, "WhatsApp does not allow new lines, tabs or 5 spaces in a row here.")
        )
    elif len(text) > PARAM_TEXT_MAX:
        errors.append(FieldError(field, f"At most {PARAM_TEXT_MAX} characters."))
    return text


def _values(
    given: list[str] | dict[str, str],
    names: list[str],
    named: bool,
    field: str,
    errors: list[FieldError],
) -> dict[str, str]:
    """Match the send's values to the template's variables; returns name -> value."""
    result: dict[str, str] = {}
    if named:
        if not isinstance(given, dict):
            if names:
                errors.append(
                    FieldError(field, "This template uses named variables: give them by name.")
                )
            return result
        for name in names:
            label = "{{" + name + "}}"
            result[name] = _clean_value(given.get(name, ""), f"{field}.{name}", errors, label)
        for extra in sorted(set(given) - set(names)):
            errors.append(
                FieldError(f"{field}.{extra}", f"The template has no variable {{{{{extra}}}}}.")
            )
        return result
    values: list[str]
    if isinstance(given, dict):
        # Positional values given by number ({"1": "Ann"}) are accepted too.
        unknown = sorted(set(given) - set(names))
        for extra in unknown:
            errors.append(
                FieldError(f"{field}.{extra}", f"The template has no variable {{{{{extra}}}}}.")
            )
        values = [given.get(name, "") for name in names]
    else:
        values = list(given)
        if len(values) != len(names):
            errors.append(
                FieldError(
                    field,
                    f"The template has {len(names)} variable(s) here; {len(values)} value(s) given.",
                )
            )
            return result
    for index, (name, value) in enumerate(zip(names, values, strict=True)):
        result[name] = _clean_value(value, f"{field}.{index}", errors, "{{" + name + "}}")
    return result


def _text_parameters(names: list[str], values: dict[str, str], named: bool) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = []
    for name in names:
        param: dict[str, Any] = {"type": "text", "text": values[name]}
        if named:
            param["parameter_name"] = name
        params.append(param)
    return params


async def _header_media(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    template_parts: Parts,
    media_id: uuid.UUID | None,
    settings: Settings,
    errors: list[FieldError],
) -> dict[str, Any] | None:
    field = f"{P}.header_media_id"
    kind = (template_parts.header_format or "").lower()
    if media_id is None:
        errors.append(FieldError(field, f"This template's header needs a {kind}: choose one."))
        return None
    asset = await session.get(MediaAsset, media_id)
    if asset is None or asset.workspace_id != workspace_id:
        errors.append(FieldError(field, "This media file does not exist."))
        return None
    wanted = {"image": MediaKind.image, "video": MediaKind.video}.get(kind)
    if wanted is not None and asset.kind != wanted:
        errors.append(FieldError(field, f"The header needs a {kind}; this file is a {asset.kind}."))
        return None
    link = signed_url(settings, asset.storage_key, ttl_seconds=HEADER_MEDIA_URL_TTL_SECONDS)
    media: dict[str, Any] = {"link": link}
    if kind == "document":
        media["filename"] = asset.original_filename or "document"
    return {"type": kind, kind: media}


async def render_for_send(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    channel_id: uuid.UUID,
    send: TemplateSend,
    settings: Settings,
) -> RenderedTemplate:
    """Check the values of a template send against the template and build Graph's ``template``
    object. Raises :class:`ValidationFailed` with an error per field."""
    template = await Templates(session, workspace_id).get(send.template_id, channel_id)
    if template is None:
        raise ValidationFailed(
            "This template does not exist on this number.",
            errors=[FieldError("template.template_id", "Choose a template of this number.")],
        )
    if template.status != "APPROVED":
        message = f"The template {template.name} is {template.status.lower()}; only approved templates can be sent."
        raise ValidationFailed(message, errors=[FieldError("template.template_id", message)])
    params = send.parameters
    named = template.parameter_format == "NAMED"
    tp = parts(template.components)
    errors: list[FieldError] = []
    components: list[dict[str, Any]] = []

    if tp.header_format == "TEXT" and tp.header_variables:
        names = tp.header_variables
        values = _values(params.header_text, names, named, f"{P}.header_text", errors)
        if len(values) == len(names):
            components.append(
                {"type": "header", "parameters": _text_parameters(names, values, named)}
            )
    elif tp.media_header:
        media = await _header_media(
            session, workspace_id, tp, params.header_media_id, settings, errors
        )
        if media is not None:
            components.append({"type": "header", "parameters": [media]})
    elif tp.header_format == "LOCATION":
        errors.append(
            FieldError(
                f"{P}.header_media_id", "Templates with a location header can't be sent from here."
            )
        )

    preview = tp.body
    auth_code = ""
    if template.category == "AUTHENTICATION":
        # The body is Meta's fixed text around the one-time code, its one parameter.
        values = _values(params.body, ["1"], False, f"{P}.body", errors)
        auth_code = values.get("1", "")
        if auth_code:
            components.append({"type": "body", "parameters": [{"type": "text", "text": auth_code}]})
            preview = f"{auth_code} is your verification code."
    elif tp.body_variables:
        names = tp.body_variables
        values = _values(params.body, names, named, f"{P}.body", errors)
        if len(values) == len(names):
            components.append(
                {"type": "body", "parameters": _text_parameters(names, values, named)}
            )
            preview = fill(tp.body, values)
    elif params.body:
        errors.append(FieldError(f"{P}.body", "This template's body has no variables."))

    if len(params.buttons) > len(tp.buttons):
        errors.append(FieldError(f"{P}.buttons", f"The template has {len(tp.buttons)} button(s)."))
    for button in tp.buttons:
        given = params.buttons[button.index] if button.index < len(params.buttons) else ""
        given = given.strip() if isinstance(given, str) else ""
        field = f"{P}.buttons.{button.index}"
        if button.type == "OTP" and not given:
            given = auth_code  # the code button carries the same one-time code
            if not given:
                continue  # the missing code is said once, on the body
        if button.needs_value and not given:
            errors.append(FieldError(field, f"Fill in the button “{button.text or button.type}”."))
            continue
        if not given:
            continue
        if button.type == "URL" and button.needs_value:
            param: dict[str, Any] = {"type": "text", "text": given}
            sub_type = "url"
        elif button.type == "QUICK_REPLY":
            param = {"type": "payload", "payload": given}
            sub_type = "quick_reply"
        elif button.type == "COPY_CODE":
            param = {"type": "coupon_code", "coupon_code": given}
            sub_type = "copy_code"
        elif button.type == "OTP":
            param = {"type": "text", "text": given}
            sub_type = "url"
        else:
            errors.append(FieldError(field, "This button takes no value."))
            continue
        components.append(
            {
                "type": "button",
                "sub_type": sub_type,
                "index": str(button.index),
                "parameters": [param],
            }
        )

    if errors:
        raise ValidationFailed("Some template values are missing or not valid.", errors=errors)
    # "deterministic" is the only language policy; Meta's spec requires it in the object.
    payload: dict[str, Any] = {
        "name": template.name,
        "language": {"policy": "deterministic", "code": template.language},
    }
    if components:
        payload["components"] = components
    return RenderedTemplate(
        payload=payload,
        preview=preview,
        template_id=template.id,
        name=template.name,
        language=template.language,
        category=template.category,
    )
