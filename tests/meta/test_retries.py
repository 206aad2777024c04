"""Transient failures are retried (at most 3 retries, growing delays); nothing else is."""

from __future__ import annotations

import httpx
import pytest
import respx

from socialsell.meta import (
    InvalidParameter,
    MetaClient,
    MetaConfig,
    MetaError,
    OutsideMessagingWindow,
    PermissionDenied,
    RateLimited,
    TokenExpired,
    TransientError,
)
from socialsell.meta.http import MetaTransport

from .helpers import FB, IG, TOKEN, FakeTime, graph_error

PROFILE = {"id": "1", "user_id": "17841", "username": "shop"}


async def test_transient_failures_then_success(
    meta: MetaClient, router: respx.MockRouter, fake_time: FakeTime
) -> None:
    route = router.get(f"{IG}/me").mock(
        side_effect=[
            httpx.Response(502),
            graph_error(2, is_transient=True),
            httpx.Response(200, json=PROFILE),
        ]
    )

    profile = await meta.instagram(TOKEN).get_profile()

    assert profile.username == "shop"
    assert route.call_count == 3
    assert fake_time.sleeps == [1.0, 2.0]


async def test_gives_up_after_three_retries(
    meta: MetaClient, router: respx.MockRouter, fake_time: FakeTime
) -> None:
    route = router.get(f"{IG}/me").mock(return_value=httpx.Response(503))

    with pytest.raises(TransientError) as info:
        await meta.instagram(TOKEN).get_profile()

    assert route.call_count == 4
    assert fake_time.sleeps == [1.0, 2.0, 4.0]
    assert info.value.http_status == 503


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (graph_error(100), InvalidParameter),
        (graph_error(190, 463), TokenExpired),
        (graph_error(10), PermissionDenied),
        (graph_error(4), RateLimited),
        (graph_error(131047), OutsideMessagingWindow),
        (httpx.Response(404), MetaError),
    ],
)
async def test_non_transient_errors_are_not_retried(
    meta: MetaClient,
    router: respx.MockRouter,
    fake_time: FakeTime,
    response: httpx.Response,
    expected: type[MetaError],
) -> None:
    route = router.get(f"{IG}/me").mock(return_value=response)

    with pytest.raises(expected):
        await meta.instagram(TOKEN).get_profile()

    assert route.call_count == 1
    assert fake_time.sleeps == []


async def test_rate_limit_goes_back_to_caller_without_sleeping(
    meta: MetaClient, router: respx.MockRouter, fake_time: FakeTime
) -> None:
    router.get(f"{IG}/me").mock(return_value=graph_error(17, is_transient=True))

    with pytest.raises(RateLimited):
        await meta.instagram(TOKEN).get_profile()

    assert fake_time.sleeps == []


async def test_timeouts_on_reads_are_retried(
    meta: MetaClient, router: respx.MockRouter, fake_time: FakeTime
) -> None:
    route = router.get(f"{IG}/me").mock(
        side_effect=[httpx.ReadTimeout("slow"), httpx.Response(200, json=PROFILE)]
    )

    await meta.instagram(TOKEN).get_profile()

    assert route.call_count == 2


async def test_connection_errors_exhausting_retries_raise_transient(
    meta: MetaClient, router: respx.MockRouter
) -> None:
    route = router.get(f"{IG}/me").mock(side_effect=httpx.ConnectError("refused"))

    with pytest.raises(TransientError, match=r"ConnectError on GET /v23\.0/me") as info:
        await meta.instagram(TOKEN).get_profile()

    assert route.call_count == 4
    assert isinstance(info.value.__cause__, httpx.ConnectError)


async def test_send_is_not_retried_after_an_ambiguous_failure(
    meta: MetaClient, router: respx.MockRouter
) -> None:
    # The message may have been delivered; only the caller's idempotency key can tell.
    route = router.post(f"{IG}/17841/messages").mock(side_effect=httpx.ReadTimeout("slow"))

    with pytest.raises(TransientError):
        await meta.instagram(TOKEN, "17841").send_text("igsid", "hello")

    assert route.call_count == 1


async def test_send_is_not_retried_on_a_bare_5xx(
    meta: MetaClient, router: respx.MockRouter
) -> None:
    route = router.post(f"{FB}/555/messages").mock(return_value=httpx.Response(500))

    with pytest.raises(TransientError):
        await meta.whatsapp(TOKEN, "555").send_text("+1555", "hello")

    assert route.call_count == 1


async def test_media_publish_is_not_retried_on_a_bare_5xx(
    meta: MetaClient, router: respx.MockRouter
) -> None:
    route = router.post(f"{IG}/17841/media_publish").mock(return_value=httpx.Response(502))

    with pytest.raises(TransientError):
        await meta.instagram(TOKEN, "17841").publish("c1")

    assert route.call_count == 1


async def test_send_is_retried_when_meta_answers_with_a_transient_envelope(
    meta: MetaClient, router: respx.MockRouter
) -> None:
    route = router.post(f"{IG}/17841/messages").mock(
        side_effect=[
            graph_error(2, status=500, is_transient=True),
            httpx.Response(200, json={"recipient_id": "igsid", "message_id": "mid.1"}),
        ]
    )

    result = await meta.instagram(TOKEN, "17841").send_text("igsid", "hello")

    assert result.message_id == "mid.1"
    assert route.call_count == 2


async def test_send_is_retried_when_the_connection_was_never_made(
    meta: MetaClient, router: respx.MockRouter
) -> None:
    route = router.post(f"{IG}/17841/messages").mock(
        side_effect=[
            httpx.ConnectError("refused"),
            httpx.Response(200, json={"recipient_id": "igsid", "message_id": "mid.1"}),
        ]
    )

    await meta.instagram(TOKEN, "17841").send_text("igsid", "hello")

    assert route.call_count == 2


async def test_container_creation_is_retried_as_harmless(
    meta: MetaClient, router: respx.MockRouter
) -> None:
    route = router.post(f"{IG}/17841/media").mock(
        side_effect=[httpx.ReadTimeout("slow"), httpx.Response(200, json={"id": "c1"})]
    )

    assert await meta.instagram(TOKEN, "17841").create_image_container("https://x/a.jpg") == "c1"
    assert route.call_count == 2


async def test_max_retries_zero_means_one_attempt(
    config: MetaConfig, router: respx.MockRouter, fake_time: FakeTime
) -> None:
    route = router.get(f"{IG}/me").mock(return_value=httpx.Response(503))
    async with MetaClient(
        config.with_changes(max_retries=0), sleep=fake_time.sleep, clock=fake_time.clock
    ) as meta:
        with pytest.raises(TransientError):
            await meta.instagram(TOKEN).get_profile()

    assert route.call_count == 1


def test_backoff_doubles_and_is_capped(config: MetaConfig) -> None:
    transport = MetaTransport(
        config.with_changes(backoff_base_seconds=1.0, backoff_max_seconds=10.0), jitter=lambda: 1.0
    )

    assert [transport.backoff_delay(n) for n in range(6)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_jitter_scales_delay_between_half_and_full(config: MetaConfig) -> None:
    low = MetaTransport(config, jitter=lambda: 0.0)
    high = MetaTransport(config, jitter=lambda: 0.999)

    assert low.backoff_delay(2) == 2.0
    assert 3.99 < high.backoff_delay(2) <= 4.0
