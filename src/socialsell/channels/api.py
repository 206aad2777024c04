"""JSON API: the workspace's channels, and the Instagram connect flow for API clients."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from socialsell.channels import service
from socialsell.channels.deps import MetaDep, SecretBoxDep
from socialsell.channels.schemas import AuthorizeOut, ChannelRead, ChannelUpdate
from socialsell.core.constants import API_PREFIX
from socialsell.core.deps import CurrentPrincipal, SessionDep, SettingsDep
from socialsell.core.pagination import Page, PageParams, page_params

router = APIRouter(prefix=f"{API_PREFIX}/channels", tags=["channels"])


def api_redirect_uri(request: Request, base_url: str) -> str:
    return f"{base_url.rstrip('/')}{request.app.url_path_for('api_instagram_callback')}"


@router.get("", response_model=Page[ChannelRead])
async def list_channels(
    principal: CurrentPrincipal,
    session: SessionDep,
    params: Annotated[PageParams, Depends(page_params)],
) -> Page[ChannelRead]:
    rows, cursor = await service.list_channels(session, principal, params)
    return Page(items=[service.channel_read(c) for c in rows], next_cursor=cursor)


@router.get("/instagram/authorize", response_model=AuthorizeOut)
async def instagram_authorize(
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    meta: MetaDep,
) -> AuthorizeOut:
    """Start connecting an Instagram account: send the user to `authorize_url`. Instagram
    redirects back to the callback with `code` and `state`, bound to this session."""
    url = await service.start_instagram_connect(
        session, meta, principal, redirect_uri=api_redirect_uri(request, settings.base_url)
    )
    return AuthorizeOut(authorize_url=url, expires_in=int(service.STATE_TTL.total_seconds()))


@router.get("/instagram/callback", response_model=ChannelRead, name="api_instagram_callback")
async def instagram_callback(
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    meta: MetaDep,
    box: SecretBoxDep,
) -> ChannelRead:
    """Finish the flow with the query Instagram redirected to (`code`, `state`, or `error`)."""
    channel = await service.complete_instagram_connect(
        session, meta, box, principal, dict(request.query_params)
    )
    return service.channel_read(channel)


@router.get("/{channel_id}", response_model=ChannelRead)
async def read_channel(
    channel_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> ChannelRead:
    return service.channel_read(await service.get_channel(session, principal, channel_id))


@router.patch("/{channel_id}", response_model=ChannelRead)
async def update_channel(
    channel_id: uuid.UUID, data: ChannelUpdate, principal: CurrentPrincipal, session: SessionDep
) -> ChannelRead:
    return service.channel_read(await service.update_channel(session, principal, channel_id, data))


@router.post("/{channel_id}/disconnect", response_model=ChannelRead)
async def disconnect_channel(
    channel_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    meta: MetaDep,
    box: SecretBoxDep,
) -> ChannelRead:
    return service.channel_read(await service.disconnect(session, meta, box, principal, channel_id))


@router.post("/{channel_id}/sync", response_model=ChannelRead)
async def sync_channel(
    channel_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    meta: MetaDep,
    box: SecretBoxDep,
) -> ChannelRead:
    """Re-read the profile (name, picture, followers) from Instagram."""
    return service.channel_read(
        await service.sync_channel(session, meta, box, principal, channel_id)
    )


@router.post("/{channel_id}/webhooks", response_model=ChannelRead)
async def repair_webhooks(
    channel_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    meta: MetaDep,
    box: SecretBoxDep,
) -> ChannelRead:
    """Subscribe the account to the webhook fields again and read back what Meta recorded."""
    return service.channel_read(
        await service.repair_webhooks(session, meta, box, principal, channel_id)
    )
