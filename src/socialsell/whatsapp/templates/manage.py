"""Managing a number's templates on Meta: list, sync, create, delete. Services only flush."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from socialsell.accounts.service import Principal
from socialsell.channels.models import Channel
from socialsell.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from socialsell.core.storage import Storage
from socialsell.db import utcnow
from socialsell.meta import MetaError
from socialsell.meta.models import Template
from socialsell.meta.whatsapp import WhatsAppClient
from socialsell.settings import Settings
from socialsell.whatsapp import service as numbers
from socialsell.whatsapp.errors import WhatsAppMetaError
from socialsell.whatsapp.templates import rules, samples
from socialsell.whatsapp.templates.models import WhatsAppTemplate, WhatsAppTemplateSync
from socialsell.whatsapp.templates.repository import GlobalTemplates, Templates
from socialsell.whatsapp.templates.schemas import SyncResult, TemplateCreate

log = structlog.get_logger(__name__)

# Meta lists at most this many templates per page; a sync reads at most MAX_PAGES pages.
PAGE_SIZE = 100
MAX_PAGES = 50
STATUS_FILTERS: tuple[str, ...] = (
    "APPROVED",
    "PENDING",
    "REJECTED",
    "PAUSED",
    "DISABLED",
    "FLAGGED",
    "IN_APPEAL",
)


class SyncRunning(Conflict):
    code = "whatsapp_templates_syncing"
    default_message = "The templates are being synced right now; try again in a moment."


@dataclass(frozen=True, slots=True)
class TemplateListing:
    number: Channel
    templates: Sequence[WhatsAppTemplate]
    counts: dict[str, int]
    sync: WhatsAppTemplateSync | None


async def listing(
    session: AsyncSession, principal: Principal, channel_id: uuid.UUID, status: str | None = None
) -> TemplateListing:
    number = await numbers.get_number(session, principal, channel_id)
    repo = Templates(session, principal.workspace_id)
    status = status.upper() if status else None
    return TemplateListing(
        number=number,
        templates=await repo.list(channel_id, status=status),
        counts=await repo.counts(channel_id),
        sync=await repo.sync_state(channel_id),
    )


async def get_template(
    session: AsyncSession, principal: Principal, channel_id: uuid.UUID, template_id: uuid.UUID
) -> WhatsAppTemplate:
    await numbers.get_number(session, principal, channel_id)
    template = await Templates(session, principal.workspace_id).get(template_id, channel_id)
    if template is None:
        raise NotFound("This template does not exist.")
    return template


# --- sync ----------------------------------------------------------------------------------------


def _quality(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("score")
    return str(value).upper() if isinstance(value, str) and value else None


def _apply(row: WhatsAppTemplate, meta: Template, now: datetime) -> bool:
    """Copy Meta's view of a template onto our row; returns whether anything changed."""
    status = (meta.status or row.status or "PENDING").upper()
    fields: dict[str, Any] = {
        "external_id": meta.id,
        "category": (meta.category or row.category or "UTILITY").upper(),
        "previous_category": meta.previous_category or row.previous_category,
        "components": meta.components,
        "parameter_format": (meta.parameter_format or "POSITIONAL").upper(),
        "quality_score": _quality(meta.quality_score) or row.quality_score,
        "rejected_reason": (
            (meta.rejected_reason if meta.rejected_reason not in (None, "NONE") else None)
            if status == "REJECTED"
            else None
        ),
    }
    changed = False
    for name, value in fields.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    if row.status != status:
        row.status = status
        changed = True
    row.synced_at = now
    return changed


async def sync_number_templates(
    session: AsyncSession, settings: Settings, channel: Channel
) -> SyncResult:
    """Read every template of the number's account from Meta and make ours match: new ones
    added, changed ones updated, ones Meta no longer lists (deleted there) removed."""
    started = utcnow()
    found: dict[tuple[str, str], Template] = {}
    after: str | None = None
    for _ in range(MAX_PAGES):

        async def page_of(client: WhatsAppClient, cursor: str | None = after) -> Any:
            return await client.list_templates(after=cursor, limit=PAGE_SIZE)

        try:
            page = await numbers.call_whatsapp(session, settings, channel, page_of)
        except (MetaError, ValidationError) as exc:
            said = (
                exc.user_msg or exc.message
                if isinstance(exc, MetaError)
                else "an answer that could not be read"
            )
            await _record_sync(session, channel, started, error=said)
            raise WhatsAppMetaError(
                f"WhatsApp did not list the templates ({said}). Try again in a few minutes."
            ) from exc
        for item in page.data:
            if item.name and item.language:
                found[(item.name, item.language)] = item
        if not page.has_next:
            break
        after = page.next_cursor

    try:
        async with session.begin_nested():
            created = updated = removed = 0
            existing = {
                (t.name, t.language): t
                for t in await GlobalTemplates(session).of_channel(channel.id)
            }
            for key, meta in found.items():
                row = existing.pop(key, None)
                if row is None:
                    row = WhatsAppTemplate(
                        workspace_id=channel.workspace_id,
                        channel_id=channel.id,
                        name=meta.name,
                        language=meta.language or "",
                        status=(meta.status or "PENDING").upper(),
                        category=(meta.category or "UTILITY").upper(),
                        status_updated_at=started,
                    )
                    _apply(row, meta, started)
                    session.add(row)
                    created += 1
                elif _apply(row, meta, started):
                    updated += 1
            for row in existing.values():
                await session.delete(row)
                removed += 1
            await _record_sync(session, channel, started, error=None)
            await session.flush()
    except IntegrityError as exc:
        # Another sync of this number stored the same template a moment before.
        raise SyncRunning from exc
    log.info(
        "whatsapp_templates_synced",
        channel_id=str(channel.id),
        created=created,
        updated=updated,
        removed=removed,
    )
    return SyncResult(created=created, updated=updated, removed=removed, total=len(found))


async def _record_sync(
    session: AsyncSession, channel: Channel, started: datetime, *, error: str | None
) -> None:
    state = await GlobalTemplates(session).sync_row(channel)
    # A request made while this sync ran is not answered by it: keep it for the next tick.
    if state.requested_at is not None and state.requested_at <= started:
        state.requested_at = None
    state.claimed_until = None
    state.last_error = error
    if error is None:
        state.synced_at = utcnow()
    await session.flush()


async def sync_templates(
    session: AsyncSession, principal: Principal, settings: Settings, channel_id: uuid.UUID
) -> SyncResult:
    number = await numbers.get_number(session, principal, channel_id)
    return await sync_number_templates(session, settings, number)


# --- create and delete ---------------------------------------------------------------------------


def _create_refusal(exc: MetaError, media_header: bool = False) -> Exception:
    said = exc.user_msg or exc.message
    if exc.code == 100 or exc.subcode in rules.SUBCODE_FIELDS:
        field = rules.SUBCODE_FIELDS.get(exc.subcode or 0, "")
        if media_header and field == "header_text":
            # A media header's format errors are about its sample.
            field = samples.FIELD
        title = f"{exc.user_title}: " if exc.user_title else ""
        message = f"WhatsApp refused the template. {title}{said}"
        return ValidationFailed(message, errors=[FieldError(field or "template", message)])
    return WhatsAppMetaError(f"WhatsApp did not create the template ({said}). Try again later.")


async def _sample(
    session: AsyncSession,
    principal: Principal,
    storage: Storage | None,
    data: TemplateCreate,
    sample_file: tuple[bytes, str] | None,
) -> samples.SampleFile:
    """The media header's sample: the file sent with the form, else the media-library file."""
    found: samples.SampleFile | FieldError
    if sample_file is not None:
        found = samples.checked(data.header_format, *sample_file)
    elif data.header_media_id is not None and storage is not None:
        found = await samples.from_asset(
            session, storage, principal.workspace_id, data.header_media_id, data.header_format
        )
    else:
        found = FieldError(
            samples.FIELD,
            f"Choose {samples.KIND_WORDS[data.header_format]} as the header's sample.",
        )
    if isinstance(found, FieldError):
        raise ValidationFailed(found.message, errors=[found])
    return found


async def _upload_sample(
    session: AsyncSession, settings: Settings, number: Channel, sample: samples.SampleFile
) -> str:
    async def upload(client: WhatsAppClient) -> str:
        return await client.upload_resumable(
            sample.content, file_name=sample.file_name, mime_type=sample.mime_type
        )

    try:
        return await numbers.call_whatsapp(session, settings, number, upload)
    except MetaError as exc:
        if exc.code == 100:
            message = f"WhatsApp refused the sample file: {exc.user_msg or exc.message}"
            raise ValidationFailed(message, errors=[FieldError(samples.FIELD, message)]) from exc
        raise WhatsAppMetaError(
            f"WhatsApp did not take the sample file ({exc.user_msg or exc.message}). "
            "Try again later."
        ) from exc


async def create_template(
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    channel_id: uuid.UUID,
    data: TemplateCreate,
    *,
    storage: Storage | None = None,
    sample_file: tuple[bytes, str] | None = None,
) -> WhatsAppTemplate:
    """Check the template against Meta's rules (errors per field), submit it for review, and
    keep it as PENDING until the review's webhook (or a sync) says how it went.

    A photo, video or document header needs a sample: ``sample_file`` (bytes and file name) or
    the media-library file ``data.header_media_id`` read from ``storage``; it is uploaded through
    Meta's Resumable Upload API and its handle becomes the header's example."""
    number = await numbers.get_number(session, principal, channel_id)
    built, errors = rules.build(data)
    if built is None:
        raise ValidationFailed(errors=errors)
    repo = GlobalTemplates(session)
    if await repo.find(number.id, None, built.name, built.language) is not None:
        message = "This number already has a template with this name in this language."
        raise ValidationFailed(message, errors=[FieldError("name", message)])
    media_header = data.header_format in rules.MEDIA_HEADERS
    if media_header:
        sample = await _sample(session, principal, storage, data, sample_file)
        handle = await _upload_sample(session, settings, number, sample)
        for component in built.components:
            if component["type"] == "HEADER":
                component["example"] = {"header_handle": [handle]}

    async def submit(client: WhatsAppClient) -> Any:
        return await client.create_template(
            name=built.name,
            category=built.category,  # type: ignore[arg-type]
            language=built.language,
            components=built.components,
            parameter_format=built.parameter_format,  # type: ignore[arg-type]
        )

    try:
        created = await numbers.call_whatsapp(session, settings, number, submit)
    except MetaError as exc:
        raise _create_refusal(exc, media_header) from exc
    except ValidationError as exc:
        # Sent, but the answer had no id: the next sync brings the template in.
        raise WhatsAppMetaError(
            "WhatsApp's answer could not be read; the template shows here after a sync."
        ) from exc
    now = utcnow()
    template = WhatsAppTemplate(
        workspace_id=number.workspace_id,
        channel_id=number.id,
        external_id=created.id,
        name=built.name,
        language=built.language,
        category=(created.category or built.category).upper(),
        status=(created.status or "PENDING").upper(),
        components=built.components,
        parameter_format=built.parameter_format,
        synced_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(template)
            await session.flush()
    except IntegrityError:
        # A sync running meanwhile already brought it in from Meta: that row is this template.
        existing = await repo.find(number.id, created.id, built.name, built.language)
        if existing is None:
            raise
        return existing
    return template


async def delete_template(
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    channel_id: uuid.UUID,
    template_id: uuid.UUID,
) -> None:
    """Delete one template (this language only) on Meta and here. Meta keeps the name reserved
    for 30 days."""
    template = await get_template(session, principal, channel_id, template_id)
    number = await numbers.get_number(session, principal, channel_id)

    async def remove(client: WhatsAppClient) -> None:
        await client.delete_template(template.name, template_id=template.external_id)

    try:
        await numbers.call_whatsapp(session, settings, number, remove)
    except MetaError as exc:
        if exc.code != 100:
            raise WhatsAppMetaError(
                f"WhatsApp did not delete the template ({exc.user_msg or exc.message}). "
                "Try again later."
            ) from exc
        # Meta does not know it any more (deleted in WhatsApp Manager): forget it here too.
        log.info("whatsapp_template_already_gone", template_id=str(template.id))
    await session.delete(template)
    await session.flush()
