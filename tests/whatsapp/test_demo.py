"""`make run`'s demo also connects a sandbox WhatsApp number through the real connect path, with
customers who wrote (one more than 24 hours ago) and an approved template."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from meta_sandbox.testing import Sandbox
from socialsell.channels.models import Channel
from socialsell.db import create_engine, create_sessionmaker
from socialsell.demo import seed_demo
from socialsell.inbox.models import Conversation, Message
from socialsell.inbox.present import window
from socialsell.integrations import secret_box
from socialsell.settings import Settings
from socialsell.whatsapp.demo import DEMO_CUSTOMERS, DEMO_TEMPLATE
from socialsell.whatsapp.templates.models import WhatsAppTemplate
from tests.conftest import LiveServer
from tests.demo.test_seed import _wired
from tests.helpers.instagram import wait_until


async def test_the_demo_seeds_a_whatsapp_number_with_one_closed_window(
    settings: Settings, sandbox: Sandbox, live_server: LiveServer
) -> None:
    settings = _wired(settings, sandbox)
    await seed_demo(settings, sandbox_url=sandbox.url, app_url=live_server.url)
    engine = create_engine(settings.db_url)
    sessionmaker = create_sessionmaker(engine)
    try:
        async with sessionmaker() as db:
            (number,) = (
                await db.scalars(select(Channel).where(Channel.platform == "whatsapp"))
            ).all()
        assert number.status == "active"
        assert number.details["verified_name"] == "Sunny Crafts"
        # The token is the sandbox's system-user token, verified on its Graph API.
        token = secret_box(settings).decrypt(number.token_encrypted or "")
        phone = sandbox.client.get(
            f"/v23.0/{number.external_id}", headers={"Authorization": f"Bearer {token}"}
        )
        assert phone.status_code == 200

        async def threads() -> list[Any]:
            async with sessionmaker() as db:
                rows = (
                    await db.scalars(
                        select(Conversation)
                        .where(Conversation.channel_id == number.id)
                        .options(*_loaded())
                    )
                ).all()
            return list(rows) if len(rows) == len(DEMO_CUSTOMERS) else []

        conversations = await wait_until(threads, within=20, what="the demo's conversations")
        windows = {c.contact.external_id: window(c, settings) for c in conversations}
        assert windows["5511987650001"] is not None
        assert windows["5511987650001"].can_reply is False  # wrote 26.5 h ago
        assert windows["5511987650002"] is not None
        assert windows["5511987650002"].can_reply is True

        async def answered() -> int:
            async with sessionmaker() as db:
                found = await db.scalar(
                    select(func.count())
                    .select_from(Message)
                    .where(
                        Message.channel_id == number.id,
                        Message.direction == "outbound",
                        Message.status.in_(["sent", "delivered", "read"]),
                    )
                )
            return int(found or 0)

        assert await wait_until(answered, what="the seller's answer") == 1
        async with sessionmaker() as db:
            template = await db.scalar(
                select(WhatsAppTemplate).where(WhatsAppTemplate.channel_id == number.id)
            )
        assert template is not None
        assert template.name == DEMO_TEMPLATE
        assert template.status == "APPROVED"

        # Again: nothing new.
        await seed_demo(settings, sandbox_url=sandbox.url, app_url=live_server.url)
        async with sessionmaker() as db:
            assert (
                await db.scalar(
                    select(func.count()).select_from(Channel).where(Channel.platform == "whatsapp")
                )
                == 1
            )
            assert await db.scalar(
                select(func.count())
                .select_from(Conversation)
                .where(Conversation.channel_id == number.id)
            ) == len(DEMO_CUSTOMERS)
    finally:
        await engine.dispose()


def _loaded() -> list[Any]:
    from sqlalchemy.orm import joinedload

    return [joinedload(Conversation.contact), joinedload(Conversation.channel)]
