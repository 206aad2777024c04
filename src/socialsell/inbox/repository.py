"""Every query of the inbox. :class:`InboxRepository` is scoped to one workspace (routes);
:class:`GlobalInbox` serves webhook processing and jobs, which find the workspace from the
channel, and is never reachable from a route by id."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    and_,
    case,
    delete,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from socialsell.channels.models import Channel, ChannelStatus, Platform
from socialsell.core.pagination import PageParams, paginate
from socialsell.db import UTCDateTime, utcnow
from socialsell.inbox.models import (
    ChannelSync,
    Contact,
    Conversation,
    ConversationKind,
    ConversationStatus,
    Direction,
    InboxEvent,
    Message,
    MessageStatus,
)
from socialsell.settings import ConfigurationError


def insert_for(session: AsyncSession, model: Any) -> postgresql.Insert | sqlite.Insert:
    """A dialect INSERT that supports ON CONFLICT (both our databases do)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(model)
    if dialect == "sqlite":
        return sqlite.insert(model)
    raise ConfigurationError(f"unsupported database {dialect!r}: use PostgreSQL or SQLite")


def _ts(value: datetime) -> Any:
    # Typed, so SQLite stores it in the same (naive UTC) form as the column it is compared to.
    return literal(value, type_=UTCDateTime())


class ConversationFilters:
    def __init__(
        self,
        *,
        channel_id: uuid.UUID | None = None,
        status: ConversationStatus | None = None,
        unread: bool | None = None,
        assignee_id: uuid.UUID | None = None,
        unassigned: bool = False,
        kind: ConversationKind | None = None,
        platform: Platform | None = None,
    ) -> None:
        self.platform = platform
        self.channel_id = channel_id
        self.status = status
        self.unread = unread
        self.assignee_id = assignee_id
        self.unassigned = unassigned
        self.kind = kind


class InboxRepository:
    def __init__(self, session: AsyncSession, workspace_id: uuid.UUID) -> None:
        self.session = session
        self.workspace_id = workspace_id

    async def conversation(self, conversation_id: uuid.UUID) -> Conversation | None:
        return await self.session.scalar(
            select(Conversation)
            .options(joinedload(Conversation.contact), joinedload(Conversation.channel))
            .where(
                Conversation.id == conversation_id,
                Conversation.workspace_id == self.workspace_id,
            )
        )

    async def conversations_by_ids(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Conversation]:
        if not ids:
            return {}
        rows = await self.session.scalars(
            select(Conversation)
            .options(joinedload(Conversation.contact), joinedload(Conversation.channel))
            .where(Conversation.id.in_(ids), Conversation.workspace_id == self.workspace_id)
        )
        return {c.id: c for c in rows}

    async def conversations(
        self, filters: ConversationFilters, params: PageParams
    ) -> tuple[Sequence[Conversation], str | None]:
        stmt = (
            select(Conversation)
            .options(joinedload(Conversation.contact), joinedload(Conversation.channel))
            .where(Conversation.workspace_id == self.workspace_id)
        )
        if filters.channel_id is not None:
            stmt = stmt.where(Conversation.channel_id == filters.channel_id)
        if filters.status is not None:
            stmt = stmt.where(Conversation.status == filters.status)
        if filters.unread is True:
            stmt = stmt.where(Conversation.unread_count > 0)
        elif filters.unread is False:
            stmt = stmt.where(Conversation.unread_count == 0)
        if filters.assignee_id is not None:
            stmt = stmt.where(Conversation.assignee_id == filters.assignee_id)
        elif filters.unassigned:
            stmt = stmt.where(Conversation.assignee_id.is_(None))
        if filters.kind is not None:
            stmt = stmt.where(Conversation.kind == filters.kind)
        if filters.platform is not None:
            stmt = stmt.where(
                Conversation.channel_id.in_(
                    select(Channel.id).where(
                        Channel.workspace_id == self.workspace_id,
                        Channel.platform == filters.platform,
                    )
                )
            )
        return await paginate(
            self.session,
            stmt,
            order_by=Conversation.last_message_at,
            id_column=Conversation.id,
            params=params,
            descending=True,
        )

    async def messages(
        self, conversation_id: uuid.UUID, params: PageParams
    ) -> tuple[Sequence[Message], str | None]:
        """Newest first; the cursor walks to older messages."""
        stmt = select(Message).where(
            Message.conversation_id == conversation_id,
            Message.workspace_id == self.workspace_id,
        )
        return await paginate(
            self.session,
            stmt,
            order_by=Message.sent_at,
            id_column=Message.id,
            params=params,
            descending=True,
        )

    async def message(self, message_id: uuid.UUID) -> Message | None:
        return await self.session.scalar(
            select(Message).where(
                Message.id == message_id, Message.workspace_id == self.workspace_id
            )
        )

    async def messages_by_ids(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Message]:
        if not ids:
            return {}
        rows = await self.session.scalars(
            select(Message).where(Message.id.in_(ids), Message.workspace_id == self.workspace_id)
        )
        return {m.id: m for m in rows}

    async def message_by_idempotency_key(self, key: str) -> Message | None:
        return await self.session.scalar(
            select(Message).where(
                Message.workspace_id == self.workspace_id, Message.idempotency_key == key
            )
        )

    async def latest_inbound(self, conversation_id: uuid.UUID) -> Message | None:
        return await self.session.scalar(
            select(Message)
            .where(
                Message.conversation_id == conversation_id,
                Message.workspace_id == self.workspace_id,
                Message.direction == Direction.inbound,
            )
            .order_by(Message.sent_at.desc(), Message.id.desc())
            .limit(1)
        )

    async def private_reply_exists(self, comment_external_id: str) -> bool:
        found = await self.session.scalar(
            select(func.count())
            .select_from(Message)
            .where(
                Message.workspace_id == self.workspace_id,
                Message.reply_to_external_id == comment_external_id,
                Message.direction == Direction.outbound,
                Message.status != MessageStatus.failed,
                Message.details["mode"].as_string() == "private",
            )
        )
        return bool(found)

    async def set_read(self, conversation_id: uuid.UUID, read: bool) -> None:
        await self.session.execute(
            update(Conversation)
            .where(
                Conversation.id == conversation_id,
                Conversation.workspace_id == self.workspace_id,
            )
            .values(
                unread_count=0
                if read
                else case((Conversation.unread_count == 0, 1), else_=Conversation.unread_count),
                updated_at=utcnow(),
            )
            .execution_options(synchronize_session=False)
        )

    async def is_member(self, user_id: uuid.UUID) -> bool:
        from socialsell.accounts.models import Membership

        found = await self.session.scalar(
            select(Membership.id).where(
                Membership.user_id == user_id, Membership.workspace_id == self.workspace_id
            )
        )
        return found is not None

    async def events_after(self, last_id: int, limit: int) -> Sequence[InboxEvent]:
        rows = await self.session.scalars(
            select(InboxEvent)
            .where(InboxEvent.workspace_id == self.workspace_id, InboxEvent.id > last_id)
            .order_by(InboxEvent.id)
            .limit(limit)
        )
        return rows.all()

    async def oldest_event_id(self) -> int | None:
        value = await self.session.scalar(
            select(func.min(InboxEvent.id)).where(InboxEvent.workspace_id == self.workspace_id)
        )
        return int(value) if value is not None else None


class GlobalInbox:
    """Queries above tenancy, for webhook processing and jobs."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def channel_by_external_id(self, platform: Platform, external_id: str) -> Channel | None:
        return await self.session.scalar(
            select(Channel).where(Channel.platform == platform, Channel.external_id == external_id)
        )

    async def channel(self, channel_id: uuid.UUID) -> Channel | None:
        return await self.session.get(Channel, channel_id)

    async def upsert_contact(
        self, channel: Channel, external_id: str, *, username: str | None, name: str | None
    ) -> Contact:
        now = utcnow()
        await self.session.execute(
            insert_for(self.session, Contact)
            .values(
                id=uuid.uuid4(),
                workspace_id=channel.workspace_id,
                channel_id=channel.id,
                external_id=external_id,
                username=username,
                name=name,
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["channel_id", "external_id"])
        )
        contact = await self.session.scalar(
            select(Contact).where(
                Contact.channel_id == channel.id, Contact.external_id == external_id
            )
        )
        assert contact is not None  # noqa: S101 - inserted or already there
        if (username and contact.username != username) or (name and contact.name != name):
            contact.username = username or contact.username
            contact.name = name or contact.name
            await self.session.flush()
        return contact

    async def upsert_conversation(
        self,
        channel: Channel,
        contact: Contact,
        *,
        kind: ConversationKind,
        thread_key: str,
        media_id: str | None,
        first_at: datetime,
    ) -> Conversation:
        now = utcnow()
        await self.session.execute(
            insert_for(self.session, Conversation)
            .values(
                id=uuid.uuid4(),
                workspace_id=channel.workspace_id,
                channel_id=channel.id,
                contact_id=contact.id,
                kind=kind,
                thread_key=thread_key,
                media_id=media_id,
                status=ConversationStatus.open,
                unread_count=0,
                last_message_at=first_at,
                last_message_preview="",
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(
                index_elements=["channel_id", "contact_id", "kind", "thread_key"]
            )
        )
        conversation = await self.session.scalar(
            select(Conversation)
            .options(joinedload(Conversation.contact), joinedload(Conversation.channel))
            .where(
                Conversation.channel_id == channel.id,
                Conversation.contact_id == contact.id,
                Conversation.kind == kind,
                Conversation.thread_key == thread_key,
            )
        )
        assert conversation is not None  # noqa: S101
        return conversation

    async def insert_message(self, values: dict[str, Any]) -> uuid.UUID | None:
        """Insert unless a message with the same (channel, external id) exists; the new id, or
        None when it was already there. The unique constraint decides, not a lookup."""
        message_id = uuid.uuid4()
        result = await self.session.execute(
            insert_for(self.session, Message)
            .values(id=message_id, **values)
            .on_conflict_do_nothing(index_elements=["channel_id", "external_id"])
            .returning(Message.id)
        )
        return result.scalar_one_or_none()

    async def touch_conversation(
        self,
        conversation_id: uuid.UUID,
        *,
        at: datetime,
        preview: str,
        inbound: bool,
        unread_increment: int,
    ) -> None:
        """Account for a new message in one UPDATE (safe against concurrent jobs): the preview
        and last activity move only forward in Meta's time, so a late, older message does not
        take the top of the thread."""
        newer = Conversation.last_message_at <= _ts(at)
        values: dict[str, Any] = {
            "last_message_at": case((newer, _ts(at)), else_=Conversation.last_message_at),
            "last_message_preview": case(
                (newer, literal(preview[:200])), else_=Conversation.last_message_preview
            ),
            "unread_count": Conversation.unread_count + unread_increment,
            "updated_at": utcnow(),
        }
        if inbound:
            # The window runs on our clock: a customer's time ahead of ours (Meta's clock, or
            # the sandbox's moved one) must not stretch it past 24 hours from now.
            inbound_at = _ts(min(at, utcnow()))
            values["last_inbound_at"] = case(
                (
                    (Conversation.last_inbound_at.is_(None))
                    | (Conversation.last_inbound_at < inbound_at),
                    inbound_at,
                ),
                else_=Conversation.last_inbound_at,
            )
            values["status"] = ConversationStatus.open
        await self.session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )

    async def conversation(self, conversation_id: uuid.UUID) -> Conversation | None:
        return await self.session.scalar(
            select(Conversation)
            .options(joinedload(Conversation.contact), joinedload(Conversation.channel))
            .where(Conversation.id == conversation_id)
            .execution_options(populate_existing=True)
        )

    async def message(self, message_id: uuid.UUID) -> Message | None:
        return await self.session.scalar(
            select(Message)
            .where(Message.id == message_id)
            .execution_options(populate_existing=True)
        )

    async def message_by_external_id(
        self, channel_id: uuid.UUID, external_id: str
    ) -> Message | None:
        return await self.session.scalar(
            select(Message)
            .where(Message.channel_id == channel_id, Message.external_id == external_id)
            .execution_options(populate_existing=True)
        )

    async def known_external_ids(
        self, channel_id: uuid.UUID, external_ids: Sequence[str]
    ) -> set[str]:
        if not external_ids:
            return set()
        rows = await self.session.scalars(
            select(Message.external_id).where(
                Message.channel_id == channel_id, Message.external_id.in_(external_ids)
            )
        )
        return {r for r in rows if r is not None}

    async def delete_message(self, message_id: uuid.UUID) -> None:
        await self.session.execute(delete(Message).where(Message.id == message_id))

    async def mark_outbound_read(
        self, conversation_id: uuid.UUID, up_to: datetime, at: datetime
    ) -> list[uuid.UUID]:
        """Instagram's read receipt names the latest message seen: every outbound message up to
        it is read."""
        ids = list(
            await self.session.scalars(
                select(Message.id).where(
                    Message.conversation_id == conversation_id,
                    Message.direction == Direction.outbound,
                    Message.sent_at <= _ts(up_to),
                    Message.status.in_([MessageStatus.sent, MessageStatus.delivered]),
                )
            )
        )
        if ids:
            await self.session.execute(
                update(Message)
                .where(Message.id.in_(ids))
                .values(status=MessageStatus.read, read_at=at, updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )
        return ids

    async def stuck_sends(self, before: datetime, limit: int) -> list[Message]:
        rows = await self.session.scalars(
            select(Message)
            .where(
                Message.direction == Direction.outbound,
                Message.status == MessageStatus.pending,
                Message.external_id.is_(None),
                Message.updated_at < _ts(before),
            )
            .limit(limit)
        )
        return list(rows)

    async def unclaimed_echo(self, message: Message) -> Message | None:
        """An outbound message that arrived by webhook (no author, no key) in the same thread,
        with the same text, not before ``message`` was written: its echo."""
        return await self.session.scalar(
            select(Message)
            .where(
                Message.conversation_id == message.conversation_id,
                Message.direction == Direction.outbound,
                Message.id != message.id,
                Message.idempotency_key.is_(None),
                Message.author_id.is_(None),
                Message.external_id.is_not(None),
                Message.text == message.text,
                Message.received_at >= _ts(message.created_at),
            )
            .order_by(Message.received_at)
            .limit(1)
        )

    # --- attachments ----------------------------------------------------------------------------

    async def claim_media_due(
        self, now: datetime, retry_at: datetime, limit: int
    ) -> list[uuid.UUID]:
        due = (
            select(Message.id)
            .where(
                Message.media_pending.is_(True),
                Message.media_next_attempt_at <= _ts(now),
            )
            .limit(limit)
            .scalar_subquery()
        )
        result = await self.session.execute(
            update(Message)
            .where(Message.id.in_(due), Message.media_next_attempt_at <= _ts(now))
            .values(media_next_attempt_at=retry_at)
            .returning(Message.id)
            .execution_options(synchronize_session=False)
        )
        return list(result.scalars())

    # --- contact profiles -------------------------------------------------------------------------

    async def claim_contacts_for_profile(
        self, stale_before: datetime, now: datetime, limit: int
    ) -> list[uuid.UUID]:
        """Contacts whose profile was never fetched, or not since ``stale_before``: stamp them
        (the claim; a concurrent tick gets nothing back) and return their ids."""
        due = (
            select(Contact.id)
            .where(
                or_(
                    Contact.profile_fetched_at.is_(None),
                    Contact.profile_fetched_at < _ts(stale_before),
                )
            )
            .limit(limit)
            .scalar_subquery()
        )
        result = await self.session.execute(
            update(Contact)
            .where(
                Contact.id.in_(due),
                or_(
                    Contact.profile_fetched_at.is_(None),
                    Contact.profile_fetched_at < _ts(stale_before),
                ),
            )
            .values(profile_fetched_at=now)
            .returning(Contact.id)
            .execution_options(synchronize_session=False)
        )
        return list(result.scalars())

    async def contact(self, contact_id: uuid.UUID) -> Contact | None:
        return await self.session.get(Contact, contact_id)

    # --- reconciliation ---------------------------------------------------------------------------

    async def claim_unreconciled_channels(self) -> list[uuid.UUID]:
        """Active Instagram channels never reconciled: give each a sync row (the claim: a
        concurrent tick inserting the same row gets nothing back)."""
        candidates = (
            await self.session.execute(
                select(Channel.id, Channel.workspace_id)
                .outerjoin(ChannelSync, ChannelSync.channel_id == Channel.id)
                .where(
                    ChannelSync.channel_id.is_(None),
                    Channel.platform == Platform.instagram,
                    Channel.status == ChannelStatus.active,
                )
                .limit(100)
            )
        ).all()
        claimed = []
        for channel_id, workspace_id in candidates:
            result = await self.session.execute(
                insert_for(self.session, ChannelSync)
                .values(channel_id=channel_id, workspace_id=workspace_id)
                .on_conflict_do_nothing(index_elements=["channel_id"])
                .returning(ChannelSync.channel_id)
            )
            if result.scalar_one_or_none() is not None:
                claimed.append(channel_id)
        return claimed

    async def active_instagram_channels(self) -> list[uuid.UUID]:
        rows = await self.session.scalars(
            select(Channel.id).where(
                Channel.platform == Platform.instagram, Channel.status == ChannelStatus.active
            )
        )
        return list(rows)

    async def record_reconciled(self, channel: Channel, at: datetime, error: str | None) -> None:
        await self.session.execute(
            insert_for(self.session, ChannelSync)
            .values(channel_id=channel.id, workspace_id=channel.workspace_id)
            .on_conflict_do_nothing(index_elements=["channel_id"])
        )
        await self.session.execute(
            update(ChannelSync)
            .where(ChannelSync.channel_id == channel.id)
            .values(last_reconciled_at=at, last_error=error)
            .execution_options(synchronize_session=False)
        )

    # --- events ---------------------------------------------------------------------------------

    async def prune_events(self, older_than: datetime, keep_per_workspace: int) -> int:
        result = await self.session.execute(
            delete(InboxEvent).where(InboxEvent.created_at < _ts(older_than))
        )
        removed = int(getattr(result, "rowcount", 0) or 0)
        # Bound per workspace: drop what lies beyond the newest `keep_per_workspace` ids.
        heads = (
            await self.session.execute(
                select(InboxEvent.workspace_id, func.max(InboxEvent.id), func.count()).group_by(
                    InboxEvent.workspace_id
                )
            )
        ).all()
        for workspace_id, max_id, count in heads:
            if count > keep_per_workspace:
                cut = await self.session.execute(
                    delete(InboxEvent).where(
                        and_(
                            InboxEvent.workspace_id == workspace_id,
                            InboxEvent.id <= max_id - keep_per_workspace,
                        )
                    )
                )
                removed += int(getattr(cut, "rowcount", 0) or 0)
        return removed
