"""Helpers for the WhatsApp sandbox tests: they talk to the sandbox over HTTP only.

Webhook deliveries are checked with an HMAC-SHA256 computed here, independently of the sandbox's
own signing code, over the raw body the receiver got.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from meta_sandbox.testing import Sandbox, WebhookReceiver

FIXTURES = Path(__file__).parent / "fixtures"
GRAPH = "/v23.0"


def fixture(name: str) -> Any:
    """A JSON example transcribed from Meta's reference (see each file's `_source`)."""
    return json.loads((FIXTURES / f"{name}.json").read_text())["example"]


def json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def assert_shape(actual: Any, expected: Any, path: str = "$") -> None:
    """Same keys at every level and the same JSON types (values may differ)."""
    assert json_type(actual) == json_type(expected), (
        f"{path}: {json_type(actual)} != {json_type(expected)}"
    )
    if isinstance(expected, dict):
        assert set(actual) == set(expected), (
            f"{path}: keys {sorted(actual)} != expected {sorted(expected)}"
        )
        for key, value in expected.items():
            assert_shape(actual[key], value, f"{path}.{key}")
    elif isinstance(expected, list) and expected:
        assert actual, f"{path}: empty list, expected items"
        for index, item in enumerate(actual):
            assert_shape(item, expected[min(index, len(expected) - 1)], f"{path}[{index}]")


def expect_error(response: httpx.Response, code: int, status: int = 400) -> dict[str, Any]:
    """Meta's envelope with `code`; returns the `error` object."""
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code, error
    assert isinstance(error["message"], str)
    assert isinstance(error["type"], str)
    assert isinstance(error["fbtrace_id"], str)
    return error


def expect_wa_error(response: httpx.Response, code: int) -> dict[str, Any]:
    """A send-side WhatsApp error: Graph envelope + `error_data` and no subcode."""
    error = expect_error(response, code)
    assert_shape(response.json(), fixture("whatsapp_send_error"))
    assert error["message"].startswith(f"(#{code}) ")
    assert error["error_data"]["messaging_product"] == "whatsapp"
    return error


def verify_signature(body: bytes, header: str, secret: str) -> None:
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, header), "X-Hub-Signature-256 does not match the body"


class WA:
    """A business on the sandbox: WABA + number + system-user token, and its webhooks."""

    def __init__(
        self,
        sandbox: Sandbox,
        receiver: WebhookReceiver | None = None,
        *,
        subscribe: bool = True,
        **account: Any,
    ) -> None:
        self.sandbox = sandbox
        self.receiver = receiver
        response = sandbox.client.post("/_sandbox/whatsapp/accounts", json=account)
        response.raise_for_status()
        self.account: dict[str, Any] = response.json()
        self.waba_id: str = self.account["waba_id"]
        self.phone_id: str = self.account["phone_number_id"]
        self.number: str = self.account["phone_number"]
        self.token: str = self.account["access_token"]
        self.headers = {"Authorization": f"Bearer {self.token}"}
        if receiver is not None:
            sandbox.subscribe_webhooks(
                "whatsapp_business_account", receiver.url, receiver.verify_token
            )
        if subscribe:
            self.post(f"/{self.waba_id}/subscribed_apps").raise_for_status()

    # --- Graph calls -----------------------------------------------------------------------

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        kwargs.setdefault("headers", self.headers)
        return self.sandbox.client.get(GRAPH + path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        kwargs.setdefault("headers", self.headers)
        return self.sandbox.client.post(GRAPH + path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        kwargs.setdefault("headers", self.headers)
        return self.sandbox.client.delete(GRAPH + path, **kwargs)

    def send(self, to: str, kind: str = "text", **content: Any) -> httpx.Response:
        body: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": kind,
        }
        if kind == "text" and not content:
            content = {"text": {"body": "Hello from the shop"}}
        body.update(content)
        return self.post(f"/{self.phone_id}/messages", json=body)

    def send_ok(self, to: str, kind: str = "text", **content: Any) -> str:
        response = self.send(to, kind, **content)
        assert response.status_code == 200, response.text
        message_id: str = response.json()["messages"][0]["id"]
        return message_id

    # --- control calls ---------------------------------------------------------------------

    def control(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self.sandbox.client.request(method, "/_sandbox/whatsapp" + path, **kwargs)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def persona(self, name: str = "Sheena Nelson", **extra: Any) -> str:
        wa_id: str = self.control("POST", "/personas", json={"name": name, **extra})["wa_id"]
        return wa_id

    def customer_writes(self, wa_id: str, kind: str = "text", **spec: Any) -> dict[str, Any]:
        if kind == "text" and "text" not in spec:
            spec["text"] = "Does it come in another color?"
        return self.control(
            "POST",
            f"/phone_numbers/{self.phone_id}/inbound",
            json={"from": wa_id, "type": kind, **spec},
        )

    def chatting_persona(self, name: str = "Sheena Nelson", **extra: Any) -> str:
        """A persona that has just written, so the customer service window is open."""
        wa_id = self.persona(name, **extra)
        self.customer_writes(wa_id)
        return wa_id

    def sent(self) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = self.control(
            "GET", "/sent", params={"phone_number_id": self.phone_id}
        )["data"]
        return data

    def patch_number(self, **changes: Any) -> dict[str, Any]:
        return self.control("PATCH", f"/phone_numbers/{self.phone_id}", json=changes)

    # --- webhooks --------------------------------------------------------------------------

    def changes(self) -> list[dict[str, Any]]:
        """Every verified `(field, value)` change delivered so far, in order, as payloads."""
        assert self.receiver is not None
        out: list[dict[str, Any]] = []
        for delivery in list(self.receiver.deliveries):
            verify_signature(
                delivery.body, delivery.headers["x-hub-signature-256"], self.sandbox.app_secret
            )
            payload = delivery.json()
            assert payload["object"] == "whatsapp_business_account"
            for entry in payload["entry"]:
                for change in entry["changes"]:
                    out.append({"entry": entry, "field": change["field"], "value": change["value"]})
        return out

    def wait_change(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 5.0
    ) -> dict[str, Any]:
        """The first delivered change matching `predicate` (deliveries are asynchronous)."""
        deadline = time.monotonic() + timeout
        while True:
            for change in self.changes():
                if predicate(change):
                    return change
            if time.monotonic() > deadline:
                fields = [(c["field"], c["value"]) for c in self.changes()]
                raise AssertionError(f"no matching webhook change; got {fields}")
            time.sleep(0.01)

    def wait_status(self, message_id: str, status: str) -> dict[str, Any]:
        change = self.wait_change(
            lambda c: any(
                s["id"] == message_id and s["status"] == status
                for s in c["value"].get("statuses", [])
            )
        )
        return change

    def wait_message(self, message_id: str) -> dict[str, Any]:
        return self.wait_change(
            lambda c: any(m["id"] == message_id for m in c["value"].get("messages", []))
        )

    def statuses_of(self, message_id: str) -> list[str]:
        return [
            s["status"]
            for c in self.changes()
            for s in c["value"].get("statuses", [])
            if s["id"] == message_id
        ]


def payload_of(change: dict[str, Any]) -> dict[str, Any]:
    """Rebuild the one-entry, one-change webhook payload a change came in (for shape checks)."""
    entry = {k: v for k, v in change["entry"].items() if k != "changes"}
    entry["changes"] = [{"value": change["value"], "field": change["field"]}]
    return {"object": "whatsapp_business_account", "entry": [entry]}
