"""Sandbox tests: everything goes over HTTP to a sandbox started by ``meta_sandbox.testing``."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from meta_sandbox.testing import Sandbox, WebhookReceiver


def pytest_configure(config: pytest.Config) -> None:
    # The suite-level conftest registers the plugin; this keeps `pytest tests/sandbox` working
    # on its own too.
    if not config.pluginmanager.has_plugin("meta_sandbox.testing"):
        config.pluginmanager.import_plugin("meta_sandbox.testing")


ALL_FIELDS = "messages,message_echoes,message_reactions,messaging_seen,comments"


def independent_signature(secret: str, body: bytes) -> str:
    """HMAC-SHA256 computed here, not with the sandbox's code, to check its signatures."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class IG:
    sandbox: Sandbox
    account: dict[str, Any]
    token: str
    graph: httpx.Client

    @property
    def id(self) -> str:
        return str(self.account["id"])

    def inbound(
        self, from_username: str = "alice", text: str | None = "Hi", **extra: Any
    ) -> dict[str, Any]:
        return self.sandbox.inbound(self.id, from_username, text, **extra)

    def persona_id(self, username: str) -> str:
        personas = self.sandbox.client.get("/_sandbox/instagram/personas").json()["data"]
        return str(next(p["id"] for p in personas if p["username"] == username))

    def send_text(self, recipient_id: str, text: str, **extra: Any) -> httpx.Response:
        body = {"recipient": {"id": recipient_id}, "message": {"text": text}, **extra}
        return self.graph.post(f"/{self.id}/messages", json=body)


def graph_client(sandbox: Sandbox, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=f"{sandbox.url}/v23.0", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )


@pytest.fixture
def ig(sandbox: Sandbox) -> Iterator[IG]:
    """A test business account with a long-lived all-scopes token and a Graph client."""
    account = sandbox.create_account("shop")
    with graph_client(sandbox, account["access_token"]) as client:
        yield IG(sandbox=sandbox, account=account, token=account["access_token"], graph=client)


@pytest.fixture
def hooked(ig: IG, webhook_receiver: WebhookReceiver) -> IG:
    """``ig`` with the app's Instagram callback on ``webhook_receiver`` and the account
    subscribed to the usual fields."""
    ig.sandbox.subscribe_webhooks("instagram", webhook_receiver.url, webhook_receiver.verify_token)
    response = ig.graph.post(f"/{ig.id}/subscribed_apps", params={"subscribed_fields": ALL_FIELDS})
    assert response.json() == {"success": True}
    return ig


def error_of(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    assert "error" in body, body
    error: dict[str, Any] = body["error"]
    return error
