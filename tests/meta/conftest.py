"""Fixtures for the Meta client's unit tests: fake time, recorded sleeps, a respx router."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import respx

from socialsell.meta import MetaClient, MetaConfig

from .helpers import APP_ID, APP_SECRET, AUTHORIZE, FACEBOOK, GRAPH, OAUTH, FakeTime


@pytest.fixture
def config() -> MetaConfig:
    return MetaConfig(
        app_id=APP_ID,
        app_secret=APP_SECRET,
        graph_url=GRAPH,
        facebook_graph_url=FACEBOOK,
        oauth_url=OAUTH,
        authorize_url=AUTHORIZE,
    )


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as mock:
        yield mock


@pytest.fixture
async def meta(config: MetaConfig, fake_time: FakeTime) -> AsyncIterator[MetaClient]:
    # jitter pinned to 1.0 so backoff delays are exactly base * 2**retry
    async with MetaClient(
        config, sleep=fake_time.sleep, clock=fake_time.clock, jitter=lambda: 1.0
    ) as client:
        yield client
