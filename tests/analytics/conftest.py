"""Analytics tests run the product against the Meta sandbox over real HTTP."""

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
    # Short, fixed schedules keep the call count well under the sandbox's test rate limits.
    return sandbox_settings(settings, sandbox).model_copy(
        update={"analytics_backfill_days": 10, "analytics_daily_days": 3}
    )


@pytest.fixture
def consent(sandbox: Sandbox) -> Consent:
    return Consent(sandbox)


@pytest.fixture
async def seller(client: httpx.AsyncClient) -> ApiUser:
    return await register(client, name="Shop Owner")
