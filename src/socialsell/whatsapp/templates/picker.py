"""The template picker of the inbox composer (an htmx fragment): the approved templates of the
conversation's number, then the chosen one's fields (header text or media, body variables by
number or name, the buttons' dynamic parts) with a live preview, sent through the inbox's send
path as ``MessageCreate(template=...)``."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from starlette.datastructures import FormData, UploadFile

from socialsell.channels.deps import MetaDep, SecretBoxDep
from socialsell.channels.models import Platform
from socialsell.core.deps import CsrfProtected, SessionDep, SettingsDep
from socialsell.core.errors import AppError, NotFound
from socialsell.core.pagination import PageParams
from socialsell.core.storage import Storage, get_storage, media_url
from socialsell.db import commit, rollback
from socialsell.inbox import service as inbox
from socialsell.inbox.models import Conversation, Message, MessageStatus
from socialsell.inbox.schemas import MessageCreate
from socialsell.publishing import service as media_library
from socialsell.publishing.models import MediaAsset, MediaKind
from socialsell.settings import Settings
from socialsell.web.deps import PageUser, Viewer
from socialsell.web.forms import FORM_ERROR, app_error_messages, validation_messages
from socialsell.web.templating import is_htmx, redirect, render, request_translator, url_path
from socialsell.whatsapp.templates.components import Parts, parts
from socialsell.whatsapp.templates.models import WhatsAppTemplate
from socialsell.whatsapp.templates.repository import Templates
from socialsell.whatsapp.templates.schemas import TemplateParameters, TemplateSend

router = APIRouter(include_in_schema=False)
StorageDep = Annotated[Storage, Depends(get_storage)]

LIBRARY_SIZE = 12
UPLOAD_CHUNK = 1024 * 1024
PREFIX = "template.parameters."


@dataclass(frozen=True, slots=True)
class Chosen:
    template: WhatsAppTemplate
    parts: Parts
    named: bool
    media_kind: str | None  # image / video / document when the header is media
    library: list[tuple[MediaAsset, str]]  # (asset, thumbnail url)


async def _whatsapp_conversation(
    session: SessionDep, viewer: Viewer, conversation_id: uuid.UUID
) -> Conversation:
    conversation = await inbox.get_conversation(session, viewer.principal, conversation_id)
    channel = await Templates(session, viewer.principal.workspace_id).number(
        conversation.channel_id
    )
    if channel is None or channel.platform != Platform.whatsapp:
        raise NotFound("This is not a WhatsApp conversation.")
    return conversation


async def _library(
    session: SessionDep, viewer: Viewer, settings: Settings, storage: Storage, kind: str
) -> list[tuple[MediaAsset, str]]:
    wanted = {"image": MediaKind.image, "video": MediaKind.video}.get(kind)
    if wanted is None:
        return []
    rows, _ = await media_library.list_media(
        session, viewer.principal, PageParams(limit=LIBRARY_SIZE), wanted
    )
    return [
        (a, media_url(settings, storage, a.thumbnail_key or a.storage_key, ttl_seconds=3600))
        for a in rows
    ]


async def _chosen(
    session: SessionDep,
    viewer: Viewer,
    settings: Settings,
    storage: Storage,
    conversation: Conversation,
    template_id: uuid.UUID | None,
) -> Chosen | None:
    if template_id is None:
        return None
    template = await Templates(session, viewer.principal.workspace_id).get(
        template_id, conversation.channel_id
    )
    if template is None or template.status != "APPROVED":
        return None
    tp = parts(template.components)
    kind = (tp.header_format or "").lower() if tp.media_header else None
    return Chosen(
        template=template,
        parts=tp,
        named=template.parameter_format == "NAMED",
        media_kind=kind,
        library=await _library(session, viewer, settings, storage, kind) if kind else [],
    )


def _preview_data(chosen: Chosen) -> str:
    tp = chosen.parts
    data = {
        "header_format": tp.header_format,
        "header_text": tp.header_text,
        "header_variables": tp.header_variables,
        "body": tp.body
        if chosen.template.category != "AUTHENTICATION"
        else "{{1}} is your verification code.",
        "body_variables": tp.body_variables
        if chosen.template.category != "AUTHENTICATION"
        else ["1"],
        "footer": tp.footer,
    }
    # Safe inside <script type="application/json">: no "</" can close the element.
    return json.dumps(data).replace("</", "<\\/")


async def _render(
    request: Request,
    session: SessionDep,
    viewer: Viewer,
    settings: Settings,
    storage: Storage,
    conversation: Conversation,
    template_id: uuid.UUID | None,
    *,
    errors: Mapping[str, str] | None = None,
    values: Mapping[str, str] | None = None,
    sent: Message | None = None,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    approved = await Templates(session, viewer.principal.workspace_id).list(
        conversation.channel_id, status="APPROVED"
    )
    chosen = await _chosen(session, viewer, settings, storage, conversation, template_id)
    context: dict[str, Any] = {
        "viewer": viewer,
        "conversation": conversation,
        "templates": approved,
        "chosen": chosen,
        "preview_data": _preview_data(chosen) if chosen else None,
        "auth": chosen is not None and chosen.template.category == "AUTHENTICATION",
        "errors": dict(errors or {}),
        "values": dict(values or {}),
        "sent": sent,
    }
    # A page of its own without htmx (no JavaScript), the fragment in the composer with it.
    return render(
        request,
        "whatsapp/picker.html",
        context,
        block="picker",
        status_code=status_code,
        headers=headers,
    )


@router.get(
    "/whatsapp/conversations/{conversation_id}/template-picker", name="whatsapp.template_picker"
)
async def template_picker(
    request: Request,
    conversation_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    viewer: PageUser,
    storage: StorageDep,
    template_id: uuid.UUID | None = None,
) -> Response:
    conversation = await _whatsapp_conversation(session, viewer, conversation_id)
    return await _render(request, session, viewer, settings, storage, conversation, template_id)


# --- sending ---------------------------------------------------------------------------------------


def _values_of(form: FormData, prefix: str, names: list[str], named: bool) -> Any:
    got = {name: str(form.get(f"{prefix}.{name}") or "") for name in names}
    return got if named else [got[name] for name in names]


def _form_field(error_field: str, chosen: Chosen | None) -> str:
    """An error of render_for_send (``template.parameters.body.0``) as the picker's field."""
    if error_field == "template.template_id":
        return "template_id"
    name = error_field.removeprefix(PREFIX)
    if chosen is not None and not chosen.named:
        for where, variables in (
            ("body", chosen.parts.body_variables or ["1"]),
            ("header_text", chosen.parts.header_variables),
        ):
            head, _, index = name.partition(".")
            if head == where and index.isdigit() and int(index) < len(variables):
                return f"{where}.{variables[int(index)]}"
    return name


async def _upload(
    session: SessionDep,
    viewer: Viewer,
    settings: Settings,
    storage: Storage,
    upload: UploadFile,
) -> uuid.UUID:
    async def chunks() -> AsyncIterator[bytes]:
        while chunk := await upload.read(UPLOAD_CHUNK):
            yield chunk

    asset = await media_library.store_upload(
        session, settings, storage, viewer.principal, chunks(), upload.filename or ""
    )
    return asset.id


@router.post(
    "/whatsapp/conversations/{conversation_id}/template",
    name="whatsapp.send_template",
    dependencies=[CsrfProtected],
)
async def send_template(
    request: Request,
    conversation_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    viewer: PageUser,
    meta: MetaDep,
    box: SecretBoxDep,
    storage: StorageDep,
) -> Response:
    """Send the chosen template with its values, through the same path as a reply (stored as
    pending, sent to Meta, settled by its statuses)."""
    t = request_translator(request)
    conversation = await _whatsapp_conversation(session, viewer, conversation_id)
    form = await request.form()
    values = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    raw_id = str(form.get("template_id") or "")
    try:
        template_id: uuid.UUID | None = uuid.UUID(raw_id)
    except ValueError:
        template_id = None
    chosen = await _chosen(session, viewer, settings, storage, conversation, template_id)
    errors: dict[str, str] = {}
    message: Message | None = None
    if chosen is None:
        errors["template_id"] = t.gettext("Choose an approved template.")
    else:
        tp = chosen.parts
        body_names = tp.body_variables
        if chosen.template.category == "AUTHENTICATION":
            body_names = ["1"]
        try:
            media_id: uuid.UUID | None = None
            upload = form.get("header_media_file")
            if chosen.media_kind and isinstance(upload, UploadFile) and upload.filename:
                async with session.begin_nested():
                    media_id = await _upload(session, viewer, settings, storage, upload)
                values["header_media_id"] = str(media_id)
            elif form.get("header_media_id"):
                media_id = uuid.UUID(str(form.get("header_media_id")))
            send = TemplateSend(
                template_id=chosen.template.id,
                parameters=TemplateParameters(
                    header_text=_values_of(form, "header_text", tp.header_variables, chosen.named),
                    header_media_id=media_id,
                    body=_values_of(form, "body", body_names, chosen.named),
                    buttons=[str(form.get(f"buttons.{b.index}") or "") for b in tp.buttons],
                ),
            )
            message = await _send(session, meta, box, settings, storage, viewer, conversation, send)
        except ValidationError as exc:
            errors = validation_messages(exc.errors(), t)
        except ValueError:
            errors["header_media_id"] = t.gettext("Choose a file from the list.")
        except AppError as exc:
            errors = {
                _form_field(k, chosen) if k != FORM_ERROR else k: v
                for k, v in app_error_messages(exc, t).items()
            }
    if message is None:
        return await _render(
            request,
            session,
            viewer,
            settings,
            storage,
            conversation,
            template_id,
            errors=errors or {FORM_ERROR: t.gettext("The template was not sent.")},
            values=values,
            status_code=422,
        )
    if not is_htmx(request):
        return redirect(
            request, url_path(request, "inbox.conversation", conversation_id=conversation.id)
        )
    events: dict[str, Any] = {
        "inbox:upsert": {"conversation": str(conversation.id), "messages": [str(message.id)]}
    }
    if message.status == MessageStatus.failed:
        events["toast"] = {
            "level": "error",
            "message": t.gettext("The message was not sent; the reason is under it."),
        }
    return await _render(
        request,
        session,
        viewer,
        settings,
        storage,
        conversation,
        None,
        sent=message,
        headers={"HX-Trigger": json.dumps(events, ensure_ascii=True)},
    )


async def _send(
    session: SessionDep,
    meta: MetaDep,
    box: SecretBoxDep,
    settings: Settings,
    storage: Storage,
    viewer: Viewer,
    conversation: Conversation,
    send: TemplateSend,
) -> Message:
    """The inbox's reply flow: store pending, commit, then call Meta and settle."""
    outbox = inbox.Outbox(meta, box, settings)
    data = MessageCreate(template=send)
    try:
        message, _ = await inbox.prepare_reply(
            session, outbox, storage, viewer.principal, conversation.id, data, None
        )
    except IntegrityError:  # pragma: no cover - only with an idempotency key
        await rollback(session)
        raise
    await commit(session)
    try:
        return await inbox.deliver(session, outbox, message.id)
    except AppError:
        # The number needs reconnecting: the message is stored as failed with the reason.
        return await inbox.get_message(session, viewer.principal, message.id)
