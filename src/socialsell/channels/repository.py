"""Every query of the channels domain, scoped by workspace unless it says otherwise."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from socialsell.channels.models import Channel, ChannelStatus, OAuthState, Platform
from socialsell.core.pagination import PageParams, paginate


class ChannelsRepository:
    def __init__(self, session: AsyncSession, workspace_id: uuid.UUID) -> None:
        self.session = session
        self.workspace_id = workspace_id

    async def get(self, channel_id: uuid.UUID) -> Channel | None:
        return await self.session.scalar(
            select(Channel).where(
                Channel.id == channel_id, Channel.workspace_id == self.workspace_id
            )
        )

    async def page(self, params: PageParams) -> tuple[Sequence[Channel], str | None]:
        stmt = select(Channel).where(Channel.workspace_id == self.workspace_id)
        return await paginate(
            self.session, stmt, order_by=Channel.connected_at, id_column=Channel.id, params=params
        )

    async def all(self) -> Sequence[Channel]:
        result = await self.session.scalars(
            select(Channel)
            .where(Channel.workspace_id == self.workspace_id)
            .order_by(Channel.connected_at, Channel.id)
        )
        return result.all()


class GlobalChannels:
    """Queries above tenancy, for the connect flow's uniqueness check and for jobs that serve
    every workspace (token refresh). Nothing here is reachable from a route by id."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_external_id(self, platform: Platform, external_id: str) -> Channel | None:
        return await self.session.scalar(
            select(Channel).where(Channel.platform == platform, Channel.external_id == external_id)
        )

    async def by_id(self, channel_id: uuid.UUID) -> Channel | None:
        return await self.session.get(Channel, channel_id)

    async def tokens_expiring_before(self, moment: datetime) -> Sequence[uuid.UUID]:
        result = await self.session.scalars(
            select(Channel.id).where(
                Channel.platform == Platform.instagram,
                Channel.status == ChannelStatus.active,
                Channel.token_encrypted.is_not(None),
                Channel.token_expires_at < moment,
            )
        )
        return result.all()

    async def oauth_state(self, state_hash: str) -> OAuthState | None:
        return await self.session.scalar(
            select(OAuthState).where(OAuthState.state_hash == state_hash)
        )

    async def spend_oauth_state(self, state_id: uuid.UUID, now: datetime) -> bool:
        """Atomically mark a state used; False if a concurrent callback spent it first."""
        result = await self.session.execute(
            update(OAuthState)
            .where(OAuthState.id == state_id, OAuthState.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]
