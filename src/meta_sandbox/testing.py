"""Pytest plugin: run the sandbox for tests, over real HTTP.

Use it with ``pytest_plugins = ["meta_sandbox.testing"]``. Fixtures:

- ``sandbox_server`` (session): the sandbox app in uvicorn on a free 127.0.0.1 port, in a
  background thread, with a controlled clock, short delays and low rate limits
  (see ``TEST_SETTINGS``).
- ``sandbox`` (function): resets the sandbox and yields a :class:`Sandbox` handle (``url``,
  ``app_id``, ``app_secret``, ``verify_token``, ``client`` for ``/_sandbox`` calls, ``advance()``
  and a few shortcuts). Tests see the sandbox over HTTP only.
- ``webhook_receiver`` (function): a tiny HTTP server on a free port that answers the hub
  handshake and records every POST with its raw body and headers.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
import uvicorn

from meta_sandbox.app import create_app
from meta_sandbox.settings import SandboxSettings

TEST_SETTINGS: dict[str, Any] = {
    "controlled_clock": True,
    "container_processing_seconds": 5.0,
    "template_review_seconds": 5.0,
    "webhook_batch_window_seconds": 0.05,
    "webhook_retry_base_seconds": 10.0,
    "webhook_timeout_seconds": 2.0,
    "rate_limit_calls_per_hour": 200,
    "app_rate_limit_calls_per_hour": 2000,
}


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@dataclass
class SandboxServer:
    url: str
    settings: SandboxSettings
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start_sandbox_server(**overrides: Any) -> SandboxServer:
    """Start a sandbox in a background thread on a free port (for fixtures and scripts)."""
    sock = _free_socket()
    port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    settings = SandboxSettings(**{**TEST_SETTINGS, "public_url": url, **overrides})
    config = uvicorn.Config(create_app(settings), log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the sandbox did not start")
        time.sleep(0.01)
    return SandboxServer(url=url, settings=settings, server=server, thread=thread)


@dataclass
class Sandbox:
    """A test's handle on the sandbox: HTTP only."""

    url: str
    app_id: str
    app_secret: str
    verify_token: str
    client: httpx.Client

    def async_client(self) -> httpx.AsyncClient:
        """An async client on the base URL, for async tests whose own event loop serves the
        product (a blocking call would keep it from answering the sandbox's webhooks)."""
        return httpx.AsyncClient(base_url=self.url, timeout=10)

    def advance(self, seconds: float) -> None:
        self.client.post("/_sandbox/clock", json={"advance_seconds": seconds}).raise_for_status()

    def now(self) -> float:
        return float(self.client.get("/_sandbox/clock").json()["now"])

    def configure(self, **settings: Any) -> dict[str, Any]:
        response = self.client.patch("/_sandbox/settings", json=settings)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def create_account(self, username: str, **extra: Any) -> dict[str, Any]:
        response = self.client.post(
            "/_sandbox/instagram/accounts", json={"username": username, **extra}
        )
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def subscribe_webhooks(self, object_name: str, callback_url: str, verify_token: str) -> None:
        response = self.client.put(
            "/_sandbox/webhooks",
            json={
                "object": object_name,
                "callback_url": callback_url,
                "verify_token": verify_token,
            },
        )
        if response.is_error:  # say why: the handshake's own answer is in the body
            raise AssertionError(f"subscribing {callback_url} failed: {response.text}")

    def inbound(
        self, ig_id: str, from_username: str, text: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        response = self.client.post(
            f"/_sandbox/instagram/accounts/{ig_id}/inbound",
            json={"from_username": from_username, "text": text, **extra},
        )
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def deliveries(self, object_name: str | None = None) -> list[dict[str, Any]]:
        params = {"object": object_name} if object_name else {}
        data: list[dict[str, Any]] = self.client.get(
            "/_sandbox/webhooks/deliveries", params=params
        ).json()["data"]
        return data

    def fault(self, kind: str, **plan: Any) -> dict[str, Any]:
        response = self.client.post("/_sandbox/faults", json={"kind": kind, **plan})
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    server = start_sandbox_server()
    yield server
    server.stop()


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> Iterator[Sandbox]:
    with httpx.Client(base_url=sandbox_server.url, timeout=10) as client:
        client.post("/_sandbox/reset").raise_for_status()
        settings = client.get("/_sandbox/settings").json()
        yield Sandbox(
            url=sandbox_server.url,
            app_id=settings["app_id"],
            app_secret=settings["app_secret"],
            verify_token=settings["verify_token"],
            client=client,
        )


# --- webhook receiver ----------------------------------------------------------------------------


@dataclass
class ReceivedDelivery:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """Answers the hub handshake for ``verify_token`` and records POSTs. Set ``responses`` to a
    list of statuses to answer the next POSTs with (then 200), ``delay_seconds`` to answer slowly,
    ``echo_challenge=False`` to fail the handshake."""

    url: str = ""
    verify_token: str = "receiver-verify-token"  # noqa: S105
    echo_challenge: bool = True
    responses: list[int] = field(default_factory=list)
    delay_seconds: float = 0.0
    deliveries: list[ReceivedDelivery] = field(default_factory=list)
    handshakes: list[dict[str, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _event: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedDelivery]:
        """Wait until at least ``count`` POSTs arrived; return them all."""
        deadline = time.monotonic() + timeout
        with self._event:
            while len(self.deliveries) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} deliveries, got {len(self.deliveries)}")
                self._event.wait(left)
            return list(self.deliveries)

    def wait_for_entries(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Wait until the deliveries hold at least ``count`` entries in all (entries pending
        together are batched into one POST); return every entry in arrival order."""
        deadline = time.monotonic() + timeout
        with self._event:
            while len(self.events()) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} entries, got {len(self.events())}")
                self._event.wait(left)
            return self.events()

    def events(self) -> list[dict[str, Any]]:
        """Every entry of every delivery, in arrival order."""
        return [entry for d in self.deliveries for entry in d.json()["entry"]]


def _handler(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_GET(self) -> None:
            query = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
            receiver.handshakes.append(query)
            ok = (
                query.get("hub.mode") == "subscribe"
                and query.get("hub.verify_token") == receiver.verify_token
            )
            body = (
                query.get("hub.challenge", "").encode()
                if ok and receiver.echo_challenge
                else b"nope"
            )
            self.send_response(200 if ok else 403)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            with receiver._lock:
                status = receiver.responses.pop(0) if receiver.responses else 200
            if receiver.delay_seconds:
                time.sleep(receiver.delay_seconds)
            with receiver._event:
                receiver.deliveries.append(
                    ReceivedDelivery(
                        path=self.path,
                        headers={k.lower(): v for k, v in self.headers.items()},
                        body=body,
                    )
                )
                receiver._event.notify_all()
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/webhook"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()
