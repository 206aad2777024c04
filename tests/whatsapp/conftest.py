from __future__ import annotations

import httpx
import pytest

from meta_sandbox.testing import Sandbox
from socialsell.settings import Settings
from tests.channels.conftest import Consent
from tests.helpers.factories import ApiUser, register
from tests.helpers.instagram import sandbox_settings


@pytest.fixture
def settings(settings: Settings, sandbox: Sandbox) -> Settings:
    return sandbox_settings(settings, sandbox)


@pytest.fixture
async def seller(client: httpx.AsyncClient) -> ApiUser:
    return await register(client, name="Shop Owner")


@pytest.fixture
def consent(sandbox: Sandbox) -> Consent:
    return Consent(sandbox)
