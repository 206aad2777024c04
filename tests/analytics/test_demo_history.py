"""`make run`'s demo shows 90 days of insights, fetched from the sandbox by the real refresh."""

from __future__ import annotations

from pydantic import SecretStr
from sqlalchemy import func, select

from meta_sandbox.testing import Sandbox
from socialsell.analytics.models import AccountInsight, AnalyticsMedia
from socialsell.db import create_engine, create_sessionmaker
from socialsell.demo import DEMO_HISTORY_DAYS, DEMO_POSTS, seed_demo
from socialsell.settings import Settings
from tests.conftest import LiveServer


async def test_the_demo_fetches_90_days_once(
    settings: Settings, sandbox: Sandbox, live_server: LiveServer
) -> None:
    settings = settings.model_copy(
        update={"meta_webhook_verify_token": SecretStr(sandbox.verify_token)}
    )
    await seed_demo(settings, sandbox_url=sandbox.url, app_url=live_server.url)

    engine = create_engine(settings.db_url)
    try:
        async with create_sessionmaker(engine)() as db:
            reach_days = await db.scalar(
                select(func.count()).where(
                    AccountInsight.metric == "reach", AccountInsight.value.is_not(None)
                )
            )
            posts = await db.scalar(select(func.count()).select_from(AnalyticsMedia))
        assert reach_days == DEMO_HISTORY_DAYS
        assert posts == len(DEMO_POSTS)
        calls_before = len(sandbox.client.get("/_sandbox/calls?limit=5000").json().get("data", []))

        await seed_demo(settings, sandbox_url=sandbox.url, app_url=live_server.url)

        async with create_sessionmaker(engine)() as db:
            total = await db.scalar(select(func.count()).select_from(AccountInsight))
            again = await db.scalar(select(func.count()).where(AccountInsight.metric == "reach"))
        assert again == DEMO_HISTORY_DAYS
        assert total is not None
        calls_after = len(sandbox.client.get("/_sandbox/calls?limit=5000").json().get("data", []))
        assert calls_after - calls_before < 10  # no second history fetch
    finally:
        await engine.dispose()
