"""Every template query. :class:`Templates` is scoped by workspace; :class:`GlobalTemplates` is
for webhooks and jobs, which act for whichever workspace owns the number."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from socialsell.channels.models import Channel, Platform
from socialsell.whatsapp.templates.models import WhatsAppTemplate, WhatsAppTemplateSync


class Templates:
    def __init__(self, session: AsyncSession, workspace_id: uuid.UUID) -> None:
        self.session = session
        self.workspace_id = workspace_id

    async def number(self, channel_id: uuid.UUID) -> Channel | None:
        return await self.session.scalar(
            select(Channel).where(
                Channel.id == channel_id,
                Channel.workspace_id == self.workspace_id,
                Channel.platform == Platform.whatsapp,
            )
        )

    async def numbers(self) -> Sequence[Channel]:
        result = await self.session.scalars(
            select(Channel)
            .where(Channel.workspace_id == self.workspace_id, Channel.platform == Platform.whatsapp)
            .order_by(Channel.created_at)
        )
        return result.all()

    async def list(
        self, channel_id: uuid.UUID, *, status: str | None = None
    ) -> Sequence[WhatsAppTemplate]:
        query = select(WhatsAppTemplate).where(
            WhatsAppTemplate.workspace_id == self.workspace_id,
            WhatsAppTemplate.channel_id == channel_id,
        )
        if status:
            query = query.where(WhatsAppTemplate.status == status)
        result = await self.session.scalars(
            query.order_by(WhatsAppTemplate.name, WhatsAppTemplate.language)
        )
        return result.all()

    async def counts(self, channel_id: uuid.UUID) -> dict[str, int]:
        rows = await self.session.execute(
            select(WhatsAppTemplate.status, func.count())
            .where(
                WhatsAppTemplate.workspace_id == self.workspace_id,
                WhatsAppTemplate.channel_id == channel_id,
            )
            .group_by(WhatsAppTemplate.status)
        )
        return {str(status): int(count) for status, count in rows.all()}

    async def get(
        self, template_id: uuid.UUID, channel_id: uuid.UUID | None = None
    ) -> WhatsAppTemplate | None:
        query = select(WhatsAppTemplate).where(
            WhatsAppTemplate.id == template_id,
            WhatsAppTemplate.workspace_id == self.workspace_id,
        )
        if channel_id is not None:
            query = query.where(WhatsAppTemplate.channel_id == channel_id)
        return await self.session.scalar(query)

    async def sync_state(self, channel_id: uuid.UUID) -> WhatsAppTemplateSync | None:
        return await self.session.scalar(
            select(WhatsAppTemplateSync).where(
                WhatsAppTemplateSync.channel_id == channel_id,
                WhatsAppTemplateSync.workspace_id == self.workspace_id,
            )
        )


class GlobalTemplates:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of_channel(self, channel_id: uuid.UUID) -> Sequence[WhatsAppTemplate]:
        result = await self.session.scalars(
            select(WhatsAppTemplate).where(WhatsAppTemplate.channel_id == channel_id)
        )
        return result.all()

    async def find(
        self, channel_id: uuid.UUID, external_id: str | None, name: str | None, language: str | None
    ) -> WhatsAppTemplate | None:
        """By Meta's id, else by name and language (a webhook may carry either)."""
        if external_id:
            found = await self.session.scalar(
                select(WhatsAppTemplate).where(
                    WhatsAppTemplate.channel_id == channel_id,
                    WhatsAppTemplate.external_id == external_id,
                )
            )
            if found is not None:
                return found
        if name and language:
            return await self.session.scalar(
                select(WhatsAppTemplate).where(
                    WhatsAppTemplate.channel_id == channel_id,
                    WhatsAppTemplate.name == name,
                    WhatsAppTemplate.language == language,
                )
            )
        return None

    async def request_sync(self, channel: Channel, at: datetime) -> None:
        """Ask for a sync of the number's templates (an upsert: concurrent askers are fine)."""
        values = {
            "channel_id": channel.id,
            "workspace_id": channel.workspace_id,
            "requested_at": at,
        }
        dialect = self.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert(WhatsAppTemplateSync).values(**values)
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[WhatsAppTemplateSync.channel_id],
                set_={"requested_at": statement.excluded.requested_at},
            )
        )

    async def sync_row(self, channel: Channel) -> WhatsAppTemplateSync:
        """The number's sync row, created if missing (concurrent creators are fine)."""
        dialect = self.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        await self.session.execute(
            insert(WhatsAppTemplateSync)
            .values(channel_id=channel.id, workspace_id=channel.workspace_id)
            .on_conflict_do_nothing(index_elements=[WhatsAppTemplateSync.channel_id])
        )
        row = await self.session.get(WhatsAppTemplateSync, channel.id, populate_existing=True)
        if row is None:  # pragma: no cover - inserted just above
            raise RuntimeError("the template sync row vanished")
        return row

    async def claim_requested(
        self, now: datetime, claimed_until: datetime, limit: int
    ) -> Sequence[uuid.UUID]:
        """Requested syncs not already claimed by a live run become this tick's, in one UPDATE."""
        due = and_(
            WhatsAppTemplateSync.requested_at.is_not(None),
            or_(
                WhatsAppTemplateSync.claimed_until.is_(None),
                WhatsAppTemplateSync.claimed_until <= now,
            ),
        )
        batch = (
            select(WhatsAppTemplateSync.channel_id)
            .where(due)
            .order_by(WhatsAppTemplateSync.requested_at)
            .limit(limit)
        )
        result = await self.session.execute(
            update(WhatsAppTemplateSync)
            .where(WhatsAppTemplateSync.channel_id.in_(batch.scalar_subquery()), due)
            .values(claimed_until=claimed_until)
            .returning(WhatsAppTemplateSync.channel_id)
            .execution_options(synchronize_session=False)
        )
        return list(result.scalars().all())

    async def sync_state(self, channel_id: uuid.UUID) -> WhatsAppTemplateSync | None:
        return await self.session.get(WhatsAppTemplateSync, channel_id, populate_existing=True)

    async def whatsapp_channel_ids(self) -> Sequence[uuid.UUID]:
        from socialsell.channels.models import ChannelStatus

        result = await self.session.scalars(
            select(Channel.id).where(
                Channel.platform == Platform.whatsapp, Channel.status == ChannelStatus.active
            )
        )
        return result.all()
