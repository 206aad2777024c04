"""Shape checks of a `POST /{phone_number_id}/messages` body, per message type.

Limits are the Cloud API's (text 4096, captions 1024, reply buttons 1-3 with titles of 20, lists of
at most 10 rows in 1-10 sections, ...). A missing field answers 131008, a bad value 131009, both
with Meta's `error_data.details` naming the field.
"""

from __future__ import annotations

from typing import Any

from meta_sandbox.whatsapp.errors import wa_error

MEDIA_MESSAGE_TYPES: tuple[str, ...] = ("image", "audio", "video", "document", "sticker")
MESSAGE_TYPES: tuple[str, ...] = (
    "text",
    *MEDIA_MESSAGE_TYPES,
    "reaction",
    "location",
    "contacts",
    "interactive",
    "template",
)
INTERACTIVE_TYPES: tuple[str, ...] = (
    "button",
    "list",
    "cta_url",
    "product",
    "product_list",
    "catalog_message",
    "flow",
    "location_request_message",
)
TEXT_MAX = 4096
CAPTION_MAX = 1024


def _obj(body: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = body.get(key)
    if value is None:
        raise wa_error(131008, f"{where}: the parameter {key} is required.")
    if not isinstance(value, dict):
        raise wa_error(131009, f"{where}: {key} must be an object.")
    return value


def _str(obj: dict[str, Any], key: str, where: str, max_len: int, required: bool = True) -> str:
    value = obj.get(key)
    if value is None:
        if required:
            raise wa_error(131008, f"{where}: the parameter {key} is required.")
        return ""
    if not isinstance(value, str):
        raise wa_error(131009, f"{where}: {key} must be a string.")
    if len(value) > max_len:
        raise wa_error(131009, f"{where}: {key} must be at most {max_len} characters long.")
    return value


def validate_text(body: dict[str, Any]) -> str:
    text = _obj(body, "text", "text")
    value = _str(text, "body", "text", TEXT_MAX)
    if not value.strip():
        raise wa_error(131009, "text: body can't be empty.")
    if "preview_url" in text and not isinstance(text["preview_url"], bool):
        raise wa_error(131009, "text: preview_url must be a boolean.")
    return value


def validate_media(body: dict[str, Any], kind: str) -> dict[str, Any]:
    media = _obj(body, kind, kind)
    has_id, has_link = bool(media.get("id")), bool(media.get("link"))
    if has_id == has_link:
        raise wa_error(131008, f"{kind}: exactly one of id or link is required.")
    if has_link and not str(media["link"]).startswith(("http://", "https://")):
        raise wa_error(131009, f"{kind}: link must be an http(s) URL.")
    if kind in ("image", "video", "document"):
        _str(media, "caption", kind, CAPTION_MAX, required=False)
    elif "caption" in media:
        raise wa_error(131009, f"{kind}: {kind} messages can't have a caption.")
    if kind == "document":
        _str(media, "filename", kind, 240, required=False)
    return media


def validate_location(body: dict[str, Any]) -> dict[str, Any]:
    location = _obj(body, "location", "location")
    for key, bound in (("latitude", 90.0), ("longitude", 180.0)):
        value = location.get(key)
        if value is None:
            raise wa_error(131008, f"location: the parameter {key} is required.")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise wa_error(131009, f"location: {key} must be a number.") from None
        if not -bound <= number <= bound:
            raise wa_error(131009, f"location: {key} is out of range.")
    return location


def validate_contacts(body: dict[str, Any]) -> list[dict[str, Any]]:
    contacts = body.get("contacts")
    if not isinstance(contacts, list) or not contacts:
        raise wa_error(131008, "contacts: at least one contact is required.")
    for contact in contacts:
        name = contact.get("name") if isinstance(contact, dict) else None
        if not isinstance(name, dict) or not name.get("formatted_name"):
            raise wa_error(131008, "contacts: name.formatted_name is required.")
    return contacts


def validate_reaction(body: dict[str, Any]) -> dict[str, Any]:
    reaction = _obj(body, "reaction", "reaction")
    _str(reaction, "message_id", "reaction", 512)
    emoji = reaction.get("emoji")
    if not isinstance(emoji, str):
        raise wa_error(131008, "reaction: the parameter emoji is required.")
    return reaction


def _validate_buttons(action: dict[str, Any]) -> None:
    buttons = action.get("buttons")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        raise wa_error(131009, "interactive: action.buttons must hold 1 to 3 buttons.")
    ids: set[str] = set()
    titles: set[str] = set()
    for button in buttons:
        if not isinstance(button, dict) or button.get("type") != "reply":
            raise wa_error(131009, "interactive: each button must be of type reply.")
        reply = _obj(button, "reply", "interactive button")
        reply_id = _str(reply, "id", "interactive button", 256)
        title = _str(reply, "title", "interactive button", 20)
        if reply_id in ids or title in titles:
            raise wa_error(131009, "interactive: button ids and titles must be unique.")
        ids.add(reply_id)
        titles.add(title)


def _validate_list(action: dict[str, Any]) -> None:
    _str(action, "button", "interactive list", 20)
    sections = action.get("sections")
    if not isinstance(sections, list) or not 1 <= len(sections) <= 10:
        raise wa_error(131009, "interactive: action.sections must hold 1 to 10 sections.")
    row_ids: set[str] = set()
    for section in sections:
        if not isinstance(section, dict):
            raise wa_error(131009, "interactive: each section must be an object.")
        _str(section, "title", "interactive section", 24, required=len(sections) > 1)
        rows = section.get("rows")
        if not isinstance(rows, list) or not rows:
            raise wa_error(131009, "interactive: each section needs at least one row.")
        for row in rows:
            if not isinstance(row, dict):
                raise wa_error(131009, "interactive: each row must be an object.")
            row_id = _str(row, "id", "interactive row", 200)
            _str(row, "title", "interactive row", 24)
            _str(row, "description", "interactive row", 72, required=False)
            if row_id in row_ids:
                raise wa_error(131009, "interactive: row ids must be unique.")
            row_ids.add(row_id)
    if len(row_ids) > 10:
        raise wa_error(131009, "interactive: a list holds at most 10 rows in total.")


def validate_interactive(body: dict[str, Any]) -> dict[str, Any]:
    interactive = _obj(body, "interactive", "interactive")
    kind = interactive.get("type")
    if kind not in INTERACTIVE_TYPES:
        raise wa_error(131009, f"interactive: type must be one of {', '.join(INTERACTIVE_TYPES)}.")
    if kind != "product":
        _str(_obj(interactive, "body", "interactive"), "text", "interactive body", 1024)
    header = interactive.get("header")
    if isinstance(header, dict) and header.get("type") == "text":
        _str(header, "text", "interactive header", 60)
    footer = interactive.get("footer")
    if isinstance(footer, dict):
        _str(footer, "text", "interactive footer", 60)
    action = _obj(interactive, "action", "interactive")
    if kind == "button":
        _validate_buttons(action)
    elif kind == "list":
        _validate_list(action)
    elif kind == "cta_url":
        parameters = _obj(action, "parameters", "interactive cta_url")
        _str(parameters, "display_text", "interactive cta_url", 20)
        url = _str(parameters, "url", "interactive cta_url", 2000)
        if not url.startswith(("http://", "https://")):
            raise wa_error(131009, "interactive cta_url: url must be an http(s) URL.")
    return interactive


def validate_template_request(body: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    template = _obj(body, "template", "template")
    name = _str(template, "name", "template", 512)
    language = _obj(template, "language", "template")
    code = _str(language, "code", "template language", 15)
    return name, code, template


def summary(kind: str, body: dict[str, Any]) -> str | None:
    """A short human text for what was sent (the control API's list, the simulated phone)."""
    content = body.get(kind)
    if kind == "text" and isinstance(content, dict):
        return str(content.get("body", ""))
    if kind in MEDIA_MESSAGE_TYPES and isinstance(content, dict):
        return str(content.get("caption") or f"[{kind}]")
    if kind == "interactive" and isinstance(content, dict):
        inner = content.get("body")
        return str(inner.get("text", "")) if isinstance(inner, dict) else f"[{content.get('type')}]"
    if kind == "location" and isinstance(content, dict):
        return str(
            content.get("name")
            or f"[location {content.get('latitude')},{content.get('longitude')}]"
        )
    if kind == "reaction" and isinstance(content, dict):
        return str(content.get("emoji", ""))
    if kind == "contacts":
        return "[contacts]"
    return None
