"""Telling a workspace that something needs attention."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from socialsell.accounts.service import Principal
from socialsell.core.errors import NotFound
from socialsell.core.pagination import PageParams, paginate
from socialsell.db import utcnow
from socialsell.notifications.models import Notification


async def notify(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    *,
    kind: str,
    title: str,
    body: str = "",
    link: str | None = None,
    severity: str = "info",
) -> Notification:
    notification = Notification(
        workspace_id=workspace_id, kind=kind, title=title, body=body, link=link, severity=severity
    )
    session.add(notification)
    await session.flush()
    return notification


async def list_notifications(
    session: AsyncSession, principal: Principal, params: PageParams
) -> tuple[Sequence[Notification], str | None]:
    stmt = select(Notification).where(Notification.workspace_id == principal.workspace_id)
    return await paginate(
        session,
        stmt,
        order_by=Notification.created_at,
        id_column=Notification.id,
        params=params,
        descending=True,
    )


async def unread_count(session: AsyncSession, principal: Principal) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.workspace_id == principal.workspace_id, Notification.read_at.is_(None))
    )
    return int(count or 0)


async def mark_read(
    session: AsyncSession, principal: Principal, notification_id: uuid.UUID
) -> None:
    result = await session.execute(
        update(Notification)
        .where(
            Notification.id == notification_id,
            Notification.workspace_id == principal.workspace_id,
        )
        .values(read_at=func.coalesce(Notification.read_at, utcnow()))
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFound("This notification does not exist.")
