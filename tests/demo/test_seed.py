"""`make run`'s demo seed: the demo account connected through the sandbox's real OAuth flow."""

from __future__ import annotations

from pydantic import SecretStr
from sqlalchemy import select

from meta_sandbox.testing import Sandbox
from socialsell.channels.models import Channel
from socialsell.db import create_engine, create_sessionmaker
from socialsell.demo import DEMO_EMAIL, DEMO_INSTAGRAM, seed_demo
from socialsell.integrations import secret_box
from socialsell.settings import Settings
from tests.conftest import LiveServer


def _wired(settings: Settings, sandbox: Sandbox) -> Settings:
    return settings.model_copy(
        update={
            "meta_graph_url": sandbox.url,
            "meta_oauth_url": sandbox.url,
            "meta_authorize_url": sandbox.url,
            "meta_facebook_graph_url": sandbox.url,
            "meta_app_id": sandbox.app_id,
            "meta_app_secret": SecretStr(sandbox.app_secret),
            "meta_webhook_verify_token": SecretStr(sandbox.verify_token),
        }
    )


async def test_the_demo_connects_its_account_through_oauth_once(
    settings: Settings, sandbox: Sandbox, live_server: LiveServer
) -> None:
    settings = _wired(settings, sandbox)
    first = await seed_demo(settings, sandbox_url=sandbox.url, app_url=live_server.url)
    assert first.email == DEMO_EMAIL
    assert first.instagram_connected_now is True

    engine = create_engine(settings.db_url)
    try:
        async with create_sessionmaker(engine)() as db:
            channel = (
                await db.scalars(select(Channel).where(Channel.platform == "instagram"))
            ).one()
        assert channel.username == DEMO_INSTAGRAM
        assert channel.status == "active"
        # The token came out of the OAuth exchange: the sandbox knows it as a long-lived token.
        token = secret_box(settings).decrypt(channel.token_encrypted or "")
        info = sandbox.client.get(f"/_sandbox/tokens/{token}").json()
        assert info["long_lived"] is True
        # The sandbox delivers this account's webhooks to the app.
        hooks = sandbox.client.get("/_sandbox/webhooks").json()
        assert any(h["callback_url"].startswith(live_server.url) for h in hooks["data"])

        again = await seed_demo(settings, sandbox_url=sandbox.url, app_url=live_server.url)
        assert again.instagram_connected_now is False
        async with create_sessionmaker(engine)() as db:
            instagram = select(Channel).where(Channel.platform == "instagram")
            assert len((await db.scalars(instagram)).all()) == 1
    finally:
        await engine.dispose()
