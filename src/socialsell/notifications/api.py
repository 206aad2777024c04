"""JSON API: the workspace's in-app notifications."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, status

from socialsell.core.constants import API_PREFIX
from socialsell.core.deps import CurrentPrincipal, SessionDep
from socialsell.core.pagination import Page, PageParams, page_params
from socialsell.notifications import service
from socialsell.notifications.schemas import NotificationRead

router = APIRouter(prefix=f"{API_PREFIX}/notifications", tags=["notifications"])


@router.get("", response_model=Page[NotificationRead])
async def list_notifications(
    principal: CurrentPrincipal,
    session: SessionDep,
    params: Annotated[PageParams, Depends(page_params)],
) -> Page[NotificationRead]:
    rows, cursor = await service.list_notifications(session, principal, params)
    return Page(items=[NotificationRead.model_validate(r) for r in rows], next_cursor=cursor)


@router.post("/{notification_id}/read", status_code=status.HTTP_204_NO_CONTENT)
async def mark_read(
    notification_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> None:
    await service.mark_read(session, principal, notification_id)
