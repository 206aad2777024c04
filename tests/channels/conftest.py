"""Channels tests run the product against the Meta sandbox over real HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import SecretStr

from meta_sandbox.testing import Sandbox
from socialsell.settings import Settings
from tests.helpers.factories import ApiUser, register


@pytest.fixture
def settings(settings: Settings, sandbox: Sandbox) -> Settings:
    return settings.model_copy(
        update={
            "meta_graph_url": sandbox.url,
            "meta_oauth_url": sandbox.url,
            "meta_authorize_url": sandbox.url,
            "meta_facebook_graph_url": sandbox.url,
            "meta_app_id": sandbox.app_id,
            "meta_app_secret": SecretStr(sandbox.app_secret),
        }
    )


@dataclass
class Consent:
    """What the person does on Instagram's consent page (the sandbox's)."""

    sandbox: Sandbox

    def decide(
        self,
        authorize_url: str,
        account_id: str,
        *,
        allow: bool = True,
        granted: list[str] | None = None,
    ) -> dict[str, str]:
        """Submit the consent form; return the query Instagram redirects back with."""
        params = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
        page = self.sandbox.client.get("/oauth/authorize", params=params)
        assert page.status_code == 200, page.text
        form: dict[str, Any] = {
            **params,
            "account_id": account_id,
            "decision": "allow" if allow else "deny",
        }
        if granted is not None:
            form["granted"] = granted
        response = self.sandbox.client.post("/oauth/authorize", data=form)
        assert response.status_code == 302, response.text
        location = response.headers["location"].split("#")[0]
        return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@pytest.fixture
def consent(sandbox: Sandbox) -> Consent:
    return Consent(sandbox)


async def connect_instagram(
    client: httpx.AsyncClient,
    consent: Consent,
    user: ApiUser,
    account_id: str,
    **decision: Any,
) -> httpx.Response:
    start = await client.get("/api/v1/channels/instagram/authorize", headers=user.headers)
    assert start.status_code == 200, start.text
    query = consent.decide(start.json()["authorize_url"], account_id, **decision)
    return await client.get(
        "/api/v1/channels/instagram/callback", params=query, headers=user.headers
    )


@pytest.fixture
async def seller(client: httpx.AsyncClient) -> ApiUser:
    return await register(client, name="Shop Owner")
