"""Usage headers are parsed, remembered per app/account, and pace later calls."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from socialsell.meta import MetaClient, MetaConfig, RateLimited, UsageReading
from socialsell.meta.usage import (
    InMemoryUsageTracker,
    parse_ad_account_usage,
    parse_app_usage,
    parse_business_use_case_usage,
)

from .helpers import APP_ID, IG, TOKEN, FakeTime, buc_header

NOW = 1_000.0
PROFILE = {"id": "1", "username": "shop"}


def app_usage(call_count: float, total_time: float = 1, total_cputime: float = 1) -> dict[str, str]:
    value = {"call_count": call_count, "total_time": total_time, "total_cputime": total_cputime}
    return {"X-App-Usage": json.dumps(value)}


# --- parsing --------------------------------------------------------------------------------


def test_app_usage_percent_is_the_worst_of_the_three() -> None:
    reading = parse_app_usage(
        '{"call_count":28,"total_time":91,"total_cputime":25}', now=NOW, default_block_seconds=10
    )

    assert reading is not None
    assert reading.percent == 91
    assert reading.call_count == 28
    assert reading.blocked_until is None


def test_app_usage_at_100_blocks_for_the_default_time() -> None:
    reading = parse_app_usage('{"call_count":100}', now=NOW, default_block_seconds=10)

    assert reading is not None
    assert reading.blocked_until == NOW + 10


def test_business_use_case_usage_keeps_worst_entry_per_object() -> None:
    header = json.dumps(
        {
            "17841": [
                {"type": "instagram", "call_count": 50, "total_cputime": 1, "total_time": 1},
                {
                    "type": "instagram",
                    "call_count": 100,
                    "total_cputime": 1,
                    "total_time": 1,
                    "estimated_time_to_regain_access": 3,
                },
            ],
            "waba1": [{"type": "whatsapp", "call_count": 5, "total_cputime": 1, "total_time": 1}],
        }
    )

    readings = parse_business_use_case_usage(header, now=NOW, default_block_seconds=10)

    assert set(readings) == {"17841", "waba1"}
    assert readings["17841"].regain_access_minutes == 3
    assert readings["17841"].blocked_until == NOW + 180
    assert readings["waba1"].percent == 5
    assert readings["waba1"].kind == "whatsapp"


def test_ad_account_usage() -> None:
    reading = parse_ad_account_usage(
        '{"acc_id_util_pct":9.67,"reset_time_duration":100,"ads_api_access_tier":"standard_access"}',
        now=NOW,
    )

    assert reading is not None
    assert reading.percent == pytest.approx(9.67)
    assert reading.blocked_until is None


@pytest.mark.parametrize("header", [None, "", "not json", "[1,2]", '{"call_count":"lots"}'])
def test_malformed_headers_do_not_fail(header: str | None) -> None:
    reading = parse_app_usage(header, now=NOW, default_block_seconds=10)

    assert reading is None or reading.percent == 0
    assert parse_business_use_case_usage(header, now=NOW, default_block_seconds=10) == {}


# --- pacing -----------------------------------------------------------------------------------


async def test_usage_headers_are_recorded_per_app_and_account(
    meta: MetaClient, router: respx.MockRouter
) -> None:
    router.get(f"{IG}/me").mock(
        return_value=httpx.Response(
            200, json=PROFILE, headers={**app_usage(12), **buc_header("17841", percent=34)}
        )
    )

    await meta.instagram(TOKEN).get_profile()

    app = await meta.usage_tracker.get(f"app:{APP_ID}")
    account = await meta.usage_tracker.get("buc:17841")
    assert app is not None
    assert app.percent == 12
    assert account is not None
    assert account.percent == 34


async def test_no_slowdown_below_threshold(
    meta: MetaClient, router: respx.MockRouter, fake_time: FakeTime
) -> None:
    router.get(f"{IG}/me").mock(
        return_value=httpx.Response(200, json=PROFILE, headers=app_usage(80))
    )
    client = meta.instagram(TOKEN)

    await client.get_profile()
    await client.get_profile()

    assert fake_time.sleeps == []


@pytest.mark.parametrize(("percent", "delay"), [(85, 2.5), (90, 5.0), (99, 9.5)])
async def test_slowdown_is_proportional_past_80_percent(
    meta: MetaClient,
    router: respx.MockRouter,
    fake_time: FakeTime,
    percent: float,
    delay: float,
) -> None:
    # usage_slowdown_max_delay_seconds defaults to 10 s at 100 %
    router.get(f"{IG}/me").mock(
        return_value=httpx.Response(200, json=PROFILE, headers=app_usage(percent))
    )
    client = meta.instagram(TOKEN)

    await client.get_profile()
    await client.get_profile()

    assert fake_time.sleeps == [pytest.approx(delay)]


async def test_waits_for_regain_access_time_then_calls(
    config: MetaConfig, router: respx.MockRouter, fake_time: FakeTime
) -> None:
    route = router.get(f"{IG}/17841/media").mock(
        side_effect=[
            httpx.Response(
                200, json={"data": []}, headers=buc_header("17841", percent=100, regain_minutes=2)
            ),
            httpx.Response(200, json={"data": []}),
        ]
    )
    async with MetaClient(
        config.with_changes(usage_max_wait_seconds=300),
        sleep=fake_time.sleep,
        clock=fake_time.clock,
    ) as meta:
        client = meta.instagram(TOKEN, "17841")
        await client.list_media()
        await client.list_media()

    assert fake_time.sleeps == [120.0]
    assert route.call_count == 2


async def test_refuses_without_calling_when_wait_exceeds_max_wait(
    meta: MetaClient, router: respx.MockRouter, fake_time: FakeTime
) -> None:
    route = router.get(f"{IG}/17841/media").mock(
        return_value=httpx.Response(
            200, json={"data": []}, headers=buc_header("17841", percent=100, regain_minutes=5)
        )
    )
    client = meta.instagram(TOKEN, "17841")
    await client.list_media()
    fake_time.advance(60)

    with pytest.raises(RateLimited) as info:
        await client.list_media()

    assert route.call_count == 1
    assert info.value.called is False
    assert info.value.retry_after_seconds == pytest.approx(240)
    assert fake_time.sleeps == []


async def test_block_on_one_account_does_not_slow_another(
    meta: MetaClient, router: respx.MockRouter, fake_time: FakeTime
) -> None:
    router.get(f"{IG}/111/media").mock(
        return_value=httpx.Response(
            200, json={"data": []}, headers=buc_header("111", percent=100, regain_minutes=30)
        )
    )
    other = router.get(f"{IG}/222/media").mock(return_value=httpx.Response(200, json={"data": []}))

    await meta.instagram(TOKEN, "111").list_media()
    await meta.instagram(TOKEN, "222").list_media()

    assert other.call_count == 1
    assert fake_time.sleeps == []


async def test_app_wide_block_applies_to_every_account(
    meta: MetaClient, router: respx.MockRouter, fake_time: FakeTime
) -> None:
    router.get(f"{IG}/111/media").mock(
        return_value=httpx.Response(200, json={"data": []}, headers=app_usage(100))
    )
    await meta.instagram(TOKEN, "111").list_media()
    other = router.get(f"{IG}/222/media").mock(return_value=httpx.Response(200, json={"data": []}))

    # Meta names no time in X-App-Usage: the default (10 s) is within max_wait, so it waits.
    await meta.instagram(TOKEN, "222").list_media()

    assert other.call_count == 1
    assert fake_time.sleeps == [10.0]


async def test_expired_block_and_stale_readings_no_longer_slow_calls(
    meta: MetaClient, router: respx.MockRouter, fake_time: FakeTime
) -> None:
    router.get(f"{IG}/17841/media").mock(
        side_effect=[
            httpx.Response(200, json={"data": []}, headers=app_usage(95)),
            httpx.Response(200, json={"data": []}),
        ]
    )
    client = meta.instagram(TOKEN, "17841")
    await client.list_media()
    fake_time.advance(601)  # past usage_ttl_seconds

    await client.list_media()

    assert fake_time.sleeps == []


async def test_usage_tracker_is_injectable(config: MetaConfig, router: respx.MockRouter) -> None:
    class RecordingTracker(InMemoryUsageTracker):
        def __init__(self) -> None:
            super().__init__()
            self.keys: list[str] = []

        async def record(self, key: str, reading: UsageReading) -> None:
            self.keys.append(key)
            await super().record(key, reading)

    tracker = RecordingTracker()
    router.get(f"{IG}/me").mock(
        return_value=httpx.Response(
            200, json=PROFILE, headers={**app_usage(1), **buc_header("17841", percent=1)}
        )
    )
    async with MetaClient(config, usage_tracker=tracker) as meta:
        await meta.instagram(TOKEN).get_profile()

    assert tracker.keys == [f"app:{APP_ID}", "buc:17841"]


async def test_error_responses_update_usage_too(meta: MetaClient, router: respx.MockRouter) -> None:
    router.get(f"{IG}/17841/media").mock(
        return_value=httpx.Response(
            400,
            json={"error": {"message": "(#80002) too many", "code": 80002}},
            headers=buc_header("17841", percent=100, regain_minutes=10),
        )
    )

    with pytest.raises(RateLimited):
        await meta.instagram(TOKEN, "17841").list_media()

    reading = await meta.usage_tracker.get("buc:17841")
    assert reading is not None
    assert reading.regain_access_minutes == 10
