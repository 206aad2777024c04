"""WhatsApp Business Cloud API (graph.facebook.com), bound to one phone number.

Bound per phone number for the same reasons as :mod:`socialsell.meta.instagram`: the token, the
phone number id and the WhatsApp Business Account (WABA) id belong together, and the transport
keys usage readings by them. ``waba_id`` is needed only for templates and webhook subscription.

Every send accepts ``reply_to`` (a ``wamid``), sent as ``context.message_id`` so WhatsApp shows
the message as a quote-reply.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from socialsell.meta.http import Host, MetaTransport
from socialsell.meta.models import (
    MediaInfo,
    Page,
    PhoneNumber,
    SubscribedApp,
    Template,
    TemplateCreated,
    WhatsAppSendResult,
    parse_page,
)

MediaKind = Literal["image", "audio", "video", "document", "sticker"]
TemplateCategory = Literal["MARKETING", "UTILITY", "AUTHENTICATION"]

PHONE_NUMBER_FIELDS = (
    "id",
    "display_phone_number",
    "verified_name",
    "quality_rating",
    "messaging_limit_tier",
)
TEMPLATE_FIELDS = (
    "id",
    "name",
    "language",
    "status",
    "category",
    "components",
    "parameter_format",
    "previous_category",
    "quality_score",
    "rejected_reason",
)

MAX_TEXT_CHARS = 4096
MAX_CAPTION_CHARS = 1024
MAX_REPLY_BUTTONS = 3
MAX_BUTTON_TITLE_CHARS = 20


class WhatsAppClient:
    def __init__(
        self,
        transport: MetaTransport,
        access_token: str,
        phone_number_id: str,
        waba_id: str | None = None,
    ) -> None:
        if not access_token:
            raise ValueError("access_token is required")
        self._transport = transport
        self._token = access_token
        self.phone_number_id = phone_number_id
        self.waba_id = waba_id
        self._usage_keys = tuple(k for k in (waba_id, phone_number_id) if k)

    def __repr__(self) -> str:
        return f"WhatsAppClient(phone_number_id={self.phone_number_id!r}, waba_id={self.waba_id!r})"

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        files: Mapping[str, Any] | None = None,
        idempotent: bool | None = None,
    ) -> Any:
        return await self._transport.request_json(
            method,
            Host.FACEBOOK,
            path,
            access_token=self._token,
            params={k: v for k, v in params.items() if v is not None} if params else None,
            json=json,
            data=data,
            files=files,
            usage_keys=self._usage_keys,
            idempotent=idempotent,
        )

    def _require_waba(self) -> str:
        if not self.waba_id:
            raise ValueError("this call needs the WhatsApp Business Account id (waba_id)")
        return self.waba_id

    # --- phone number and subscription -------------------------------------------------------

    async def get_phone_number(self, fields: Sequence[str] = PHONE_NUMBER_FIELDS) -> PhoneNumber:
        body = await self._call("GET", self.phone_number_id, params={"fields": ",".join(fields)})
        return PhoneNumber.model_validate(body)

    async def list_phone_numbers(
        self, fields: Sequence[str] = PHONE_NUMBER_FIELDS
    ) -> list[PhoneNumber]:
        """The WABA's numbers (one page: a business has a handful)."""
        body = await self._call(
            "GET",
            f"{self._require_waba()}/phone_numbers",
            params={"fields": ",".join(fields)},
        )
        rows = body.get("data", []) if isinstance(body, Mapping) else []
        return [PhoneNumber.model_validate(row) for row in rows if isinstance(row, Mapping)]

    async def subscribe_app(
        self, *, override_callback_uri: str | None = None, verify_token: str | None = None
    ) -> None:
        """Subscribe this app to the WABA's webhooks (optionally to another callback URL)."""
        if (override_callback_uri is None) != (verify_token is None):
            raise ValueError("override_callback_uri and verify_token go together")
        payload = (
            {"override_callback_uri": override_callback_uri, "verify_token": verify_token}
            if override_callback_uri
            else None
        )
        await self._call(
            "POST", f"{self._require_waba()}/subscribed_apps", json=payload, idempotent=True
        )

    async def list_subscribed_apps(self) -> list[SubscribedApp]:
        body = await self._call("GET", f"{self._require_waba()}/subscribed_apps")
        apps: list[SubscribedApp] = []
        for entry in body.get("data", []) if isinstance(body, Mapping) else []:
            # WhatsApp nests the app as {"whatsapp_business_api_data": {"id", "name", "link"}}.
            app = (
                entry.get("whatsapp_business_api_data", entry) if isinstance(entry, Mapping) else {}
            )
            apps.append(SubscribedApp.model_validate(app))
        return apps

    async def unsubscribe_app(self) -> None:
        await self._call("DELETE", f"{self._require_waba()}/subscribed_apps")

    # --- sending -----------------------------------------------------------------------------

    async def _send(
        self, to: str, message_type: str, content: Mapping[str, Any], reply_to: str | None
    ) -> WhatsAppSendResult:
        payload: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": message_type,
            message_type: dict(content),
        }
        if reply_to:
            payload["context"] = {"message_id": reply_to}
        # Not idempotent: see the retry policy in socialsell.meta.http.
        body = await self._call("POST", f"{self.phone_number_id}/messages", json=payload)
        return WhatsAppSendResult.model_validate(body)

    async def send_text(
        self, to: str, body: str, *, preview_url: bool = False, reply_to: str | None = None
    ) -> WhatsAppSendResult:
        if len(body) > MAX_TEXT_CHARS:
            raise ValueError(f"WhatsApp text bodies are limited to {MAX_TEXT_CHARS} characters")
        return await self._send(to, "text", {"body": body, "preview_url": preview_url}, reply_to)

    async def send_media(
        self,
        to: str,
        kind: MediaKind,
        *,
        media_id: str | None = None,
        link: str | None = None,
        caption: str | None = None,
        filename: str | None = None,
        reply_to: str | None = None,
    ) -> WhatsAppSendResult:
        """Media by uploaded ``media_id`` or public ``link`` (exactly one)."""
        if (media_id is None) == (link is None):
            raise ValueError("give exactly one of media_id or link")
        if caption is not None and (
            kind in ("audio", "sticker") or len(caption) > MAX_CAPTION_CHARS
        ):
            raise ValueError(f"captions: not on audio/sticker, at most {MAX_CAPTION_CHARS} chars")
        if filename is not None and kind != "document":
            raise ValueError("filename applies to documents only")
        content: dict[str, Any] = {"id": media_id} if media_id is not None else {"link": link}
        if caption is not None:
            content["caption"] = caption
        if filename is not None:
            content["filename"] = filename
        return await self._send(to, kind, content, reply_to)

    async def send_template(
        self,
        to: str,
        name: str,
        language: str,
        *,
        components: Sequence[Mapping[str, Any]] | None = None,
        reply_to: str | None = None,
    ) -> WhatsAppSendResult:
        """An approved template; ``components`` are Meta's parameter objects, passed through."""
        # "deterministic" is the only policy; Meta's OpenAPI spec requires it in the object.
        template: dict[str, Any] = {
            "name": name,
            "language": {"policy": "deterministic", "code": language},
        }
        if components:
            template["components"] = [dict(c) for c in components]
        return await self._send(to, "template", template, reply_to)

    async def send_interactive(
        self, to: str, interactive: Mapping[str, Any], *, reply_to: str | None = None
    ) -> WhatsAppSendResult:
        """Any interactive object (button, list, cta_url, ...) in Meta's shape."""
        return await self._send(to, "interactive", interactive, reply_to)

    async def send_reply_buttons(
        self,
        to: str,
        body: str,
        buttons: Sequence[tuple[str, str]],
        *,
        header: str | None = None,
        footer: str | None = None,
        reply_to: str | None = None,
    ) -> WhatsAppSendResult:
        """Up to three quick-reply buttons given as ``(id, title)`` pairs."""
        if not 1 <= len(buttons) <= MAX_REPLY_BUTTONS:
            raise ValueError(f"reply buttons: 1 to {MAX_REPLY_BUTTONS}")
        if any(len(title) > MAX_BUTTON_TITLE_CHARS for _, title in buttons):
            raise ValueError(f"button titles are limited to {MAX_BUTTON_TITLE_CHARS} characters")
        interactive: dict[str, Any] = {
            "type": "button",
            "body": {"text": body},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": button_id, "title": title}}
                    for button_id, title in buttons
                ]
            },
        }
        if header is not None:
            interactive["header"] = {"type": "text", "text": header}
        if footer is not None:
            interactive["footer"] = {"text": footer}
        return await self.send_interactive(to, interactive, reply_to=reply_to)

    async def send_reaction(self, to: str, message_id: str, emoji: str) -> WhatsAppSendResult:
        """React to a message; an empty ``emoji`` removes the reaction."""
        return await self._send(to, "reaction", {"message_id": message_id, "emoji": emoji}, None)

    async def mark_as_read(self, message_id: str, *, typing_indicator: bool = False) -> None:
        """Mark a message (and the ones before it) read, optionally showing "typing..."."""
        payload: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": message_id,
        }
        if typing_indicator:
            payload["typing_indicator"] = {"type": "text"}
        await self._call("POST", f"{self.phone_number_id}/messages", json=payload, idempotent=True)

    # --- media -------------------------------------------------------------------------------

    async def upload_media(self, content: bytes, *, mime_type: str, filename: str = "file") -> str:
        """Upload bytes for later sending; returns the media id."""
        body = await self._call(
            "POST",
            f"{self.phone_number_id}/media",
            data={"messaging_product": "whatsapp", "type": mime_type},
            files={"file": (filename, content, mime_type)},
        )
        return str(body["id"])

    async def get_media(self, media_id: str) -> MediaInfo:
        body = await self._call("GET", media_id, params={"phone_number_id": self.phone_number_id})
        return MediaInfo.model_validate(body)

    async def download_media(self, url: str) -> bytes:
        """The bytes behind a :class:`MediaInfo` URL (valid 5 minutes; needs the token)."""
        return await self._transport.request_bytes(
            url, access_token=self._token, usage_keys=self._usage_keys
        )

    async def delete_media(self, media_id: str) -> None:
        await self._call("DELETE", media_id, params={"phone_number_id": self.phone_number_id})

    async def upload_resumable(self, content: bytes, *, file_name: str, mime_type: str) -> str:
        """Upload a file through the Resumable Upload API; returns its file handle, which a media
        template header names as its sample (``example.header_handle``).

        Two calls: open a session on the app (``POST /{app-id}/uploads``), then send the bytes
        in one piece (``POST /upload:<id>``, ``file_offset: 0``, ``Authorization: OAuth``)."""
        if not content:
            raise ValueError("nothing to upload")
        session = await self._transport.request_json(
            "POST",
            Host.FACEBOOK,
            f"{self._transport.config.app_id}/uploads",
            access_token=self._token,
            params={"file_name": file_name, "file_length": len(content), "file_type": mime_type},
            usage_keys=self._usage_keys,
        )
        body = await self._transport.request_json(
            "POST",
            Host.FACEBOOK,
            str(session["id"]),
            content=content,
            headers={"Authorization": f"OAuth {self._token}", "file_offset": "0"},
            usage_keys=self._usage_keys,
        )
        return str(body["h"])

    # --- templates ---------------------------------------------------------------------------

    async def list_templates(
        self,
        *,
        name: str | None = None,
        after: str | None = None,
        limit: int | None = None,
        fields: Sequence[str] = TEMPLATE_FIELDS,
    ) -> Page[Template]:
        body = await self._call(
            "GET",
            f"{self._require_waba()}/message_templates",
            params={"name": name, "fields": ",".join(fields), "after": after, "limit": limit},
        )
        return parse_page(body, Template)

    async def create_template(
        self,
        *,
        name: str,
        category: TemplateCategory,
        language: str,
        components: Sequence[Mapping[str, Any]],
        parameter_format: Literal["POSITIONAL", "NAMED"] | None = None,
    ) -> TemplateCreated:
        payload: dict[str, Any] = {
            "name": name,
            "category": category,
            "language": language,
            "components": [dict(c) for c in components],
        }
        if parameter_format is not None:
            payload["parameter_format"] = parameter_format
        body = await self._call("POST", f"{self._require_waba()}/message_templates", json=payload)
        return TemplateCreated.model_validate(body)

    async def delete_template(self, name: str, *, template_id: str | None = None) -> None:
        """Delete all languages of ``name``, or only the one whose id is ``template_id``."""
        await self._call(
            "DELETE",
            f"{self._require_waba()}/message_templates",
            params={"name": name, "hsm_id": template_id},
        )
