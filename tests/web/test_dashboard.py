"""The dashboard: real numbers from every domain, each card linking to its source; an honest
empty state before anything is connected."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from sqlalchemy import select

from socialsell import db
from socialsell.accounts.models import Membership, User
from socialsell.channels.models import Channel, Platform
from socialsell.inbox.models import (
    Contact,
    Conversation,
    ConversationKind,
    Direction,
    Message,
    MessageKind,
    MessageStatus,
)
from socialsell.notifications import service as notifications
from socialsell.publishing.models import Post, PostKind, PostStatus
from tests.web.conftest import Browser


def _stat(html: str, key: str) -> str:
    match = re.search(rf'data-stat="{key}">.*?class="stat__value">([^<]*)<', html, re.DOTALL)
    assert match, f"no {key} card"
    return match.group(1).strip()


async def test_before_anything_is_connected(seller: Browser) -> None:
    html = (await seller.get("/")).text

    assert "Welcome, Ana" in html
    assert _stat(html, "messages") == "0"
    assert _stat(html, "unread") == "0"
    assert _stat(html, "scheduled") == "0"
    assert _stat(html, "followers") == "—"  # unknown, not zero
    assert "Connect a channel" in html
    assert "Nothing has happened yet" in html
    assert "analytics-data" not in html  # no chart without a channel


async def _workspace(app: FastAPI, email: str) -> uuid.UUID:
    async with app.state.sessionmaker() as session:
        ws = await session.scalar(
            select(Membership.workspace_id)
            .join(User, User.id == Membership.user_id)
            .where(User.email == email)
        )
        assert ws is not None
        return ws


async def test_cards_count_today_and_link_to_their_source(app: FastAPI, seller: Browser) -> None:
    ws = await _workspace(app, seller.email)
    now = datetime.now(UTC)
    async with db.unit_of_work(app.state.sessionmaker) as session:
        channel = Channel(
            workspace_id=ws,
            platform=Platform.instagram,
            external_id=uuid.uuid4().hex[:10],
            username="shop",
        )
        session.add(channel)
        await session.flush()
        contact = Contact(
            workspace_id=ws, channel_id=channel.id, external_id="c1", username="maria"
        )
        session.add(contact)
        await session.flush()
        conv = Conversation(
            workspace_id=ws,
            channel_id=channel.id,
            contact_id=contact.id,
            kind=ConversationKind.dm,
            unread_count=2,
            last_message_preview="Is the blue mug in stock?",
        )
        read = Conversation(
            workspace_id=ws,
            channel_id=channel.id,
            contact_id=contact.id,
            kind=ConversationKind.dm,
            thread_key="other",
            unread_count=0,
        )
        session.add_all([conv, read])
        await session.flush()
        for i in range(3):
            session.add(
                Message(
                    workspace_id=ws,
                    conversation_id=conv.id,
                    channel_id=channel.id,
                    external_id=f"m{i}",
                    direction=Direction.inbound,
                    kind=MessageKind.text,
                    status=MessageStatus.received,
                    text="hi",
                    sent_at=now - timedelta(seconds=i),
                )
            )
        session.add(
            Message(
                workspace_id=ws,
                conversation_id=conv.id,
                channel_id=channel.id,
                external_id="old",
                direction=Direction.inbound,
                kind=MessageKind.text,
                status=MessageStatus.received,
                text="hi",
                sent_at=now - timedelta(days=3),
            )
        )
        session.add(
            Post(
                workspace_id=ws,
                channel_id=channel.id,
                kind=PostKind.feed,
                caption="Soon",
                status=PostStatus.scheduled,
                scheduled_at=now + timedelta(days=2),
            )
        )
        session.add(
            Post(
                workspace_id=ws,
                channel_id=channel.id,
                kind=PostKind.feed,
                caption="Later",
                status=PostStatus.scheduled,
                scheduled_at=now + timedelta(days=9),
            )
        )
        session.add(
            Post(
                workspace_id=ws,
                channel_id=channel.id,
                kind=PostKind.feed,
                caption="Broke",
                status=PostStatus.failed,
                failed_at=now - timedelta(hours=1),
                failure_reason="The image is too small.",
            )
        )
        await notifications.notify(
            session,
            ws,
            kind="channel_needs_reconnect",
            severity="error",
            title="@shop needs to be reconnected",
            body="The token expired.",
            link="/channels",
        )

    html = (await seller.get("/")).text

    assert _stat(html, "unread") == "1"
    assert _stat(html, "scheduled") == "1"
    assert _stat(html, "messages") == "3"  # since midnight in the viewer's timezone (UTC)
    assert 'href="/inbox" data-stat="unread"' in html
    assert 'href="/calendar" data-stat="scheduled"' in html
    assert 'href="/analytics" data-stat="followers"' in html
    assert 'href="/analytics" data-stat="engagement"' in html
    assert "New conversation with @maria" in html
    assert "Post failed to publish" in html
    assert "The image is too small." in html
    assert "@shop needs to be reconnected" in html
    assert 'data-chart="spark"' in html
