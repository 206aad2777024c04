"""JSON API: a WhatsApp number's message templates (list, sync, create, read, delete)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response

from socialsell.core.constants import API_PREFIX
from socialsell.core.deps import CurrentPrincipal, SessionDep, SettingsDep
from socialsell.core.storage import Storage, get_storage
from socialsell.whatsapp.templates import manage
from socialsell.whatsapp.templates.schemas import (
    SyncResult,
    TemplateCreate,
    TemplateList,
    TemplateRead,
)

StorageDep = Annotated[Storage, Depends(get_storage)]

router = APIRouter(
    prefix=f"{API_PREFIX}/whatsapp/numbers/{{channel_id}}/templates", tags=["whatsapp templates"]
)


@router.get("", response_model=TemplateList)
async def list_templates(
    channel_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    status: str | None = None,
) -> TemplateList:
    """The number's templates as last synced, optionally of one status (APPROVED, REJECTED,
    ...), with the count per status and when they were last synced from Meta."""
    found = await manage.listing(session, principal, channel_id, status)
    return TemplateList(
        data=[TemplateRead.model_validate(t) for t in found.templates],
        counts=found.counts,
        synced_at=found.sync.synced_at if found.sync else None,
        sync_error=found.sync.last_error if found.sync else None,
    )


@router.post("/sync", response_model=SyncResult)
async def sync_templates(
    channel_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep, settings: SettingsDep
) -> SyncResult:
    """Read every template of the number's account from Meta now."""
    return await manage.sync_templates(session, principal, settings, channel_id)


@router.post("", response_model=TemplateRead, status_code=201)
async def create_template(
    channel_id: uuid.UUID,
    data: TemplateCreate,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
) -> TemplateRead:
    """Submit a template for Meta's review. Meta's rules are checked first and each mistake is
    answered next to its field; the template is PENDING until Meta decides. A photo or video
    header takes its sample from the media library (`header_media_id`, POST /api/v1/media)."""
    template = await manage.create_template(
        session, principal, settings, channel_id, data, storage=storage
    )
    return TemplateRead.model_validate(template)


@router.get("/{template_id}", response_model=TemplateRead)
async def read_template(
    channel_id: uuid.UUID, template_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> TemplateRead:
    template = await manage.get_template(session, principal, channel_id, template_id)
    return TemplateRead.model_validate(template)


@router.delete("/{template_id}", status_code=204)
async def delete_template(
    channel_id: uuid.UUID,
    template_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    """Delete the template (this language) on Meta and here."""
    await manage.delete_template(session, principal, settings, channel_id, template_id)
    return Response(status_code=204)
