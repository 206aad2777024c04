"""Publishing tests run the product against the Meta sandbox over real HTTP, with the app also
served by uvicorn (``media_server``) so that the sandbox can download the signed media URLs the
publisher hands it, as Meta does."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from meta_sandbox.testing import Sandbox
from socialsell.app import create_app
from socialsell.settings import Settings
from tests.channels.conftest import Consent
from tests.conftest import LiveServer, free_port
from tests.helpers.factories import ApiUser, register
from tests.helpers.instagram import Shop, connect_shop, sandbox_settings


@pytest.fixture
def media_port() -> int:
    return free_port()


@pytest.fixture
def settings(settings: Settings, sandbox: Sandbox, media_port: int) -> Settings:
    return sandbox_settings(settings, sandbox).model_copy(
        update={
            "base_url": f"http://127.0.0.1:{media_port}",
            # Tests move the sandbox's clock instead of waiting: one look at a container, then
            # the post goes back to the tick.
            "publishing_inline_poll_seconds": 0.0,
        }
    )


@pytest.fixture
def media_server(settings: Settings, media_port: int) -> Iterator[LiveServer]:
    """The app on ``settings.base_url``: what the signed media URLs point at."""
    server = LiveServer(create_app(settings), media_port)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def consent(sandbox: Sandbox) -> Consent:
    return Consent(sandbox)


@pytest.fixture
async def seller(client: httpx.AsyncClient) -> ApiUser:
    return await register(client, name="Shop Owner")


@pytest.fixture
async def shop(
    client: httpx.AsyncClient, sandbox: Sandbox, consent: Consent, seller: ApiUser
) -> Shop:
    return await connect_shop(client, sandbox, consent, seller)
