"""OAuth (Instagram API with Instagram Login): dialog, code exchange, long-lived, refresh."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from meta_sandbox.testing import Sandbox

from .conftest import error_of, graph_client
from .shapes import assert_matches_fixture

REDIRECT = "https://app.example.com/oauth/instagram/callback"
SCOPES = "instagram_business_basic,instagram_business_manage_messages"
DAY = 86_400


def _dialog(sandbox: Sandbox, **overrides: str) -> dict[str, str]:
    return {
        "client_id": sandbox.app_id,
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": SCOPES,
        "state": "xyz-123",
        **overrides,
    }


def _authorize(
    sandbox: Sandbox, account_id: str, decision: str = "allow", **form: str
) -> httpx.Response:
    data = {**_dialog(sandbox), "account_id": account_id, "decision": decision, **form}
    return sandbox.client.post("/oauth/authorize", data=data)


def _code(sandbox: Sandbox, account_id: str) -> str:
    location = _authorize(sandbox, account_id).headers["location"]
    return parse_qs(urlsplit(location).query)["code"][0]


def _exchange(sandbox: Sandbox, code: str, **overrides: str) -> httpx.Response:
    data = {
        "client_id": sandbox.app_id,
        "client_secret": sandbox.app_secret,
        "grant_type": "authorization_code",
        "redirect_uri": REDIRECT,
        "code": code,
        **overrides,
    }
    return sandbox.client.post("/oauth/access_token", data=data)


def test_authorize_page_lists_test_accounts(sandbox: Sandbox) -> None:
    sandbox.create_account("shop_one")
    sandbox.create_account("shop_two")
    page = sandbox.client.get("/oauth/authorize", params=_dialog(sandbox))
    assert page.status_code == 200
    assert "@shop_one" in page.text
    assert "@shop_two" in page.text
    assert "instagram_business_manage_messages" in page.text


def test_authorize_page_rejects_bad_client_and_scopes(sandbox: Sandbox) -> None:
    bad_client = sandbox.client.get("/oauth/authorize", params=_dialog(sandbox, client_id="nope"))
    assert bad_client.status_code == 400
    assert "Invalid platform app" in bad_client.text
    bad_scope = sandbox.client.get(
        "/oauth/authorize", params=_dialog(sandbox, scope="business_basic")
    )
    assert bad_scope.status_code == 400
    assert "Invalid Scopes" in bad_scope.text


def test_registered_redirect_uris_are_enforced(sandbox: Sandbox) -> None:
    sandbox.configure(oauth_redirect_uris=[REDIRECT])
    ok = sandbox.client.get("/oauth/authorize", params=_dialog(sandbox))
    assert ok.status_code == 200
    other = sandbox.client.get(
        "/oauth/authorize", params=_dialog(sandbox, redirect_uri="https://evil.example/cb")
    )
    assert other.status_code == 400
    assert "redirect_uri" in other.text


def test_allow_redirects_with_code_and_state(sandbox: Sandbox) -> None:
    account = sandbox.create_account("shop")
    response = _authorize(sandbox, account["id"])
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(REDIRECT + "?")
    assert location.endswith("#_")
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == ["xyz-123"]
    assert query["code"][0]


def test_deny_redirects_with_meta_error_parameters(sandbox: Sandbox) -> None:
    account = sandbox.create_account("shop")
    location = _authorize(sandbox, account["id"], decision="deny").headers["location"]
    query = parse_qs(urlsplit(location).query)
    assert query == {
        "error": ["access_denied"],
        "error_reason": ["user_denied"],
        "error_description": ["The user denied your request"],
        "state": ["xyz-123"],
    }


def test_code_exchange_returns_short_lived_token(sandbox: Sandbox) -> None:
    account = sandbox.create_account("shop")
    response = _exchange(sandbox, _code(sandbox, account["id"]))
    assert response.status_code == 200
    body = response.json()
    assert_matches_fixture(body, "ig_code_exchange.json", exact=True)
    item = body["data"][0]
    assert item["user_id"] == account["app_scoped_id"]
    assert item["permissions"] == SCOPES
    assert item["access_token"].startswith("IGAA")
    me = graph_client(sandbox, item["access_token"]).get(
        "/me", params={"fields": "user_id,username"}
    )
    assert me.json()["user_id"] == account["id"]
    sandbox.advance(3601)  # short-lived tokens last one hour
    expired = graph_client(sandbox, item["access_token"]).get("/me")
    assert error_of(expired)["code"] == 190
    assert error_of(expired)["error_subcode"] == 463


def test_code_is_single_use(sandbox: Sandbox) -> None:
    account = sandbox.create_account("shop")
    code = _code(sandbox, account["id"])
    assert _exchange(sandbox, code).status_code == 200
    again = _exchange(sandbox, code)
    assert again.status_code == 400
    assert again.json() == {
        "error_type": "OAuthException",
        "code": 400,
        "error_message": "Matching code was not found or was already used",
    }
    assert_matches_fixture(again.json(), "ig_code_exchange_error.json", exact=True)


def test_code_expires_after_an_hour(sandbox: Sandbox) -> None:
    account = sandbox.create_account("shop")
    code = _code(sandbox, account["id"])
    sandbox.advance(3601)
    response = _exchange(sandbox, code)
    assert response.status_code == 400
    assert "expired" in response.json()["error_message"]


def test_code_exchange_checks_secret_and_redirect_uri(sandbox: Sandbox) -> None:
    account = sandbox.create_account("shop")
    wrong_secret = _exchange(sandbox, _code(sandbox, account["id"]), client_secret="wrong")
    assert wrong_secret.json()["error_message"] == "Error validating client secret."
    wrong_uri = _exchange(sandbox, _code(sandbox, account["id"]), redirect_uri=REDIRECT + "/x")
    assert "redirect_uri" in wrong_uri.json()["error_message"]


def test_granted_scopes_are_what_the_person_ticked(sandbox: Sandbox) -> None:
    account = sandbox.create_account("shop")
    location = _authorize(
        sandbox,
        account["id"],
        scope=SCOPES + ",instagram_business_content_publish",
        granted="instagram_business_content_publish",
    ).headers["location"]
    code = parse_qs(urlsplit(location).query)["code"][0]
    item = _exchange(sandbox, code).json()["data"][0]
    assert item["permissions"] == "instagram_business_basic,instagram_business_content_publish"
    graph = graph_client(sandbox, item["access_token"])
    denied = graph.get("/me/conversations")
    assert denied.status_code == 403
    assert error_of(denied)["code"] == 10


def _short_token(sandbox: Sandbox) -> tuple[dict[str, str], str]:
    account = sandbox.create_account("shop")
    token = _exchange(sandbox, _code(sandbox, account["id"])).json()["data"][0]["access_token"]
    return account, token


def test_exchange_for_long_lived_token(sandbox: Sandbox) -> None:
    _, short = _short_token(sandbox)
    response = sandbox.client.get(
        "/access_token",
        params={
            "grant_type": "ig_exchange_token",
            "client_secret": sandbox.app_secret,
            "access_token": short,
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert_matches_fixture(body, "ig_long_lived_token.json", exact=True)
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 60 * DAY
    sandbox.advance(30 * DAY)
    assert graph_client(sandbox, body["access_token"]).get("/me").status_code == 200
    sandbox.advance(30 * DAY + 1)
    expired = graph_client(sandbox, body["access_token"]).get("/me")
    assert (error_of(expired)["code"], error_of(expired)["error_subcode"]) == (190, 463)


def test_long_lived_exchange_errors(sandbox: Sandbox) -> None:
    _, short = _short_token(sandbox)
    wrong_secret = sandbox.client.get(
        "/access_token",
        params={"grant_type": "ig_exchange_token", "client_secret": "x", "access_token": short},
    )
    assert wrong_secret.status_code == 400
    assert error_of(wrong_secret)["message"] == "Error validating client secret."
    bad_token = sandbox.client.get(
        "/access_token",
        params={
            "grant_type": "ig_exchange_token",
            "client_secret": sandbox.app_secret,
            "access_token": "IGAAnope",
        },
    )
    assert error_of(bad_token)["code"] == 190


def test_refresh_long_lived_token(sandbox: Sandbox) -> None:
    account = sandbox.create_account("shop")
    token = account["access_token"]
    params = {"grant_type": "ig_refresh_token", "access_token": token}
    too_early = sandbox.client.get("/refresh_access_token", params=params)
    assert error_of(too_early)["code"] == 100
    assert "24 hours" in error_of(too_early)["message"]
    sandbox.advance(50 * DAY)
    refreshed = sandbox.client.get("/refresh_access_token", params=params)
    assert refreshed.status_code == 200
    assert_matches_fixture(refreshed.json(), "ig_long_lived_token.json", exact=True)
    assert refreshed.json()["expires_in"] == 60 * DAY
    sandbox.advance(59 * DAY)  # would have expired without the refresh
    assert graph_client(sandbox, refreshed.json()["access_token"]).get("/me").status_code == 200


def test_expired_token_cannot_be_refreshed(sandbox: Sandbox) -> None:
    account = sandbox.create_account("shop")
    sandbox.advance(61 * DAY)
    response = sandbox.client.get(
        "/refresh_access_token",
        params={"grant_type": "ig_refresh_token", "access_token": account["access_token"]},
    )
    assert (error_of(response)["code"], error_of(response)["error_subcode"]) == (190, 463)


def test_expire_and_revoke_tokens_via_control_api(sandbox: Sandbox) -> None:
    one = sandbox.create_account("one")
    two = sandbox.create_account("two")
    sandbox.client.post(f"/_sandbox/tokens/{one['access_token']}/expire").raise_for_status()
    sandbox.client.post(f"/_sandbox/tokens/{two['access_token']}/revoke").raise_for_status()
    expired = graph_client(sandbox, one["access_token"]).get("/me")
    revoked = graph_client(sandbox, two["access_token"]).get("/me")
    assert (error_of(expired)["code"], error_of(expired)["error_subcode"]) == (190, 463)
    assert (error_of(revoked)["code"], error_of(revoked)["error_subcode"]) == (190, 458)


def test_scoped_token_from_control_api(sandbox: Sandbox) -> None:
    account = sandbox.create_account("shop")
    token = sandbox.client.post(
        "/_sandbox/tokens",
        json={"subject_id": account["id"], "scopes": ["instagram_business_basic"]},
    ).json()["access_token"]
    graph = graph_client(sandbox, token)
    assert graph.get("/me").status_code == 200
    for method, path in (
        ("POST", f"/{account['id']}/media"),
        ("GET", f"/{account['id']}/insights"),
    ):
        response = graph.request(method, path)
        assert response.status_code == 403
        assert error_of(response)["code"] == 10
