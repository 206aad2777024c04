"""Instagram Login OAuth: authorize URL, code exchange, long-lived tokens, refresh; secrets kept."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import respx

from socialsell.meta import (
    AuthorizationDenied,
    InstagramOAuth,
    MetaClient,
    MetaConfig,
    OAuthError,
    TokenExpired,
    TransientError,
)

from .helpers import APP_ID, APP_SECRET, AUTHORIZE, GRAPH, IG, OAUTH, TOKEN, FakeTime, graph_error

REDIRECT = "https://app.test/channels/instagram/callback"


def test_authorize_url(meta: MetaClient) -> None:
    url = httpx.URL(
        meta.oauth.authorize_url(
            redirect_uri=REDIRECT,
            scopes=["instagram_business_basic", "instagram_business_manage_messages"],
            state="csrf-123",
            force_reauth=True,
        )
    )

    assert str(url).startswith(f"{AUTHORIZE}/oauth/authorize?")
    assert dict(url.params) == {
        "client_id": APP_ID,
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": "instagram_business_basic,instagram_business_manage_messages",
        "state": "csrf-123",
        "force_reauth": "true",
    }


def test_authorize_url_needs_a_scope(meta: MetaClient) -> None:
    with pytest.raises(ValueError, match="scope"):
        meta.oauth.authorize_url(redirect_uri=REDIRECT, scopes=[])


def test_code_from_redirect_strips_meta_suffix() -> None:
    assert InstagramOAuth.code_from_redirect({"code": "AQBx#_", "state": "s"}) == "AQBx"


def test_user_cancel_is_authorization_denied() -> None:
    query = {
        "error": "access_denied",
        "error_reason": "user_denied",
        "error_description": "The user denied your request",
    }

    with pytest.raises(AuthorizationDenied, match="The user denied your request"):
        InstagramOAuth.code_from_redirect(query)


def test_redirect_without_code_or_error() -> None:
    with pytest.raises(OAuthError):
        InstagramOAuth.code_from_redirect({"state": "s"})


async def test_exchange_code(
    meta: MetaClient, router: respx.MockRouter, fake_time: FakeTime
) -> None:
    route = router.post(f"{OAUTH}/oauth/access_token").mock(
        return_value=httpx.Response(
            200,
            json={
                "data": [
                    {
                        "access_token": "IGAAshort",
                        "user_id": "17841400000",
                        "permissions": "instagram_business_basic,instagram_business_manage_messages",
                    }
                ]
            },
        )
    )

    token = await meta.oauth.exchange_code(code="AQBx#_", redirect_uri=REDIRECT)

    request = route.calls.last.request
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert dict(httpx.QueryParams(request.content.decode())) == {
        "client_id": APP_ID,
        "client_secret": APP_SECRET,
        "grant_type": "authorization_code",
        "redirect_uri": REDIRECT,
        "code": "AQBx",
    }
    assert "Authorization" not in request.headers
    assert token.access_token.get_secret_value() == "IGAAshort"
    assert token.user_id == "17841400000"
    assert token.permissions == [
        "instagram_business_basic",
        "instagram_business_manage_messages",
    ]
    assert token.expires_at == datetime.fromtimestamp(fake_time.now, UTC) + timedelta(hours=1)


async def test_exchange_code_accepts_legacy_flat_shape(
    meta: MetaClient, router: respx.MockRouter
) -> None:
    router.post(f"{OAUTH}/oauth/access_token").mock(
        return_value=httpx.Response(200, json={"access_token": "IGAAshort", "user_id": 17841})
    )

    token = await meta.oauth.exchange_code(code="c", redirect_uri=REDIRECT)

    assert token.user_id == "17841"


async def test_used_code_is_an_oauth_error_and_not_retried(
    meta: MetaClient, router: respx.MockRouter
) -> None:
    route = router.post(f"{OAUTH}/oauth/access_token").mock(
        return_value=httpx.Response(
            400,
            json={
                "error_type": "OAuthException",
                "code": 400,
                "error_message": "Matching code was not found or was already used",
            },
        )
    )

    with pytest.raises(OAuthError, match="already used"):
        await meta.oauth.exchange_code(code="c", redirect_uri=REDIRECT)

    assert route.call_count == 1


async def test_exchange_for_long_lived(
    meta: MetaClient, router: respx.MockRouter, fake_time: FakeTime
) -> None:
    route = router.get(f"{GRAPH}/access_token").mock(
        return_value=httpx.Response(
            200, json={"access_token": "IGAAlong", "token_type": "bearer", "expires_in": 5183944}
        )
    )

    token = await meta.oauth.exchange_for_long_lived("IGAAshort")

    assert dict(route.calls.last.request.url.params) == {
        "grant_type": "ig_exchange_token",
        "client_secret": APP_SECRET,
        "access_token": "IGAAshort",
    }
    assert token.expires_in == 5183944
    assert token.token_type == "bearer"
    assert token.expires_at == datetime.fromtimestamp(fake_time.now, UTC) + timedelta(
        seconds=5183944
    )


async def test_refresh_long_lived(meta: MetaClient, router: respx.MockRouter) -> None:
    route = router.get(f"{GRAPH}/refresh_access_token").mock(
        return_value=httpx.Response(
            200, json={"access_token": "IGAAnew", "token_type": "bearer", "expires_in": 5184000}
        )
    )

    token = await meta.oauth.refresh_long_lived("IGAAlong")

    assert dict(route.calls.last.request.url.params) == {
        "grant_type": "ig_refresh_token",
        "access_token": "IGAAlong",
    }
    assert token.access_token.get_secret_value() == "IGAAnew"


async def test_refresh_of_expired_token(meta: MetaClient, router: respx.MockRouter) -> None:
    router.get(f"{GRAPH}/refresh_access_token").mock(return_value=graph_error(190, 463))

    with pytest.raises(TokenExpired):
        await meta.oauth.refresh_long_lived("IGAAlong")


# --- secrets stay secret ---------------------------------------------------------------------


def test_config_repr_hides_app_secret(config: MetaConfig) -> None:
    assert APP_SECRET not in repr(config)
    assert APP_SECRET not in str(config)
    assert "app_secret='***'" in repr(config)


def test_single_host_config_points_everything_at_the_sandbox() -> None:
    config = MetaConfig.single_host("http://127.0.0.1:8100/", app_id="1", app_secret="s")

    assert {
        config.graph_url,
        config.facebook_graph_url,
        config.oauth_url,
        config.authorize_url,
    } == {"http://127.0.0.1:8100"}


@pytest.mark.parametrize(
    "changes",
    [{"api_version": "23.0"}, {"graph_url": "graph.instagram.com"}, {"max_retries": -1}],
)
def test_config_rejects_bad_values(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - one message per field
        MetaConfig(app_id="1", app_secret="s", **changes)  # type: ignore[arg-type]


async def test_token_result_repr_hides_token(meta: MetaClient, router: respx.MockRouter) -> None:
    router.get(f"{GRAPH}/refresh_access_token").mock(
        return_value=httpx.Response(200, json={"access_token": "IGAAnew", "expires_in": 1})
    )

    token = await meta.oauth.refresh_long_lived("IGAAlong")

    assert "IGAAnew" not in repr(token)
    assert "IGAAnew" not in str(token.model_dump())


async def test_logs_and_errors_never_carry_tokens_or_secret(
    meta: MetaClient, router: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="socialsell.meta")
    caplog.set_level(logging.INFO, logger="httpx")  # httpx logs full request URLs
    router.get(f"{IG}/me").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json={"id": "1"})]
    )
    router.get(f"{GRAPH}/refresh_access_token").mock(
        return_value=httpx.Response(200, json={"access_token": "IGAAnew-secret"})
    )
    router.get(f"{GRAPH}/access_token").mock(side_effect=httpx.ConnectError("refused"))

    await meta.instagram(TOKEN).get_profile()
    await meta.oauth.refresh_long_lived("IGAAlong-secret")
    with pytest.raises(TransientError) as info:
        await meta.oauth.exchange_for_long_lived("IGAAshort-secret")

    logged = " ".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    assert "refresh_access_token" in logged  # the calls were logged ...
    for secret in (TOKEN, "IGAAshort-secret", "IGAAlong-secret", "IGAAnew-secret", APP_SECRET):
        assert secret not in logged  # ... without secrets
        assert secret not in str(info.value)
        assert secret not in repr(info.value)
