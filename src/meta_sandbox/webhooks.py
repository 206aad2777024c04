"""Webhook subscriptions and deliveries, the way Meta does them.

- ``subscribe`` performs the verification handshake (``GET callback?hub.mode=subscribe&
  hub.verify_token=..&hub.challenge=..``) and fails unless the challenge is echoed with a 200.
- ``emit`` queues one ``entry``; entries of the same object pending within the batch window go out
  together in one POST ``{"object": ..., "entry": [...]}`` (at most ``webhook_batch_max_entries``).
- Each POST is signed with ``X-Hub-Signature-256`` over the exact bytes sent. The body is compact
  JSON with non-ASCII and ``/`` escaped, as Meta sends it, so a receiver that re-serialises the
  JSON before checking the signature fails here as it would in production.
- A delivery not answered 200 within ``webhook_timeout_seconds`` is retried: once immediately,
  then after base, 2*base, 4*base, ... (capped at 240*base) on the sandbox clock, until
  ``webhook_retry_max_age_seconds`` (36 h) have passed since the first attempt; then it is dropped
  (state ``failed``). Tests move the controlled clock to walk through the schedule.
- Fault plans ``webhook_drop``, ``webhook_duplicate`` and ``webhook_reorder`` apply here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from meta_sandbox.errors import GraphAPIError
from meta_sandbox.signing import signature_256
from meta_sandbox.state import (
    Delivery,
    DeliveryAttempt,
    FaultPlan,
    SandboxState,
    WebhookSubscription,
)

USER_AGENT = "facebookexternalua"
TICK_SECONDS = 0.02
REORDER_MAX_HOLD_SECONDS = 2.0
RETRY_CAP_FACTOR = 240


def retry_delay(failed_attempts: int, base: float) -> float:
    """Delay before the next attempt after ``failed_attempts`` failures: Meta retries
    immediately, then with decreasing frequency."""
    if failed_attempts <= 1:
        return 0.0
    return base * float(min(2 ** (failed_attempts - 2), RETRY_CAP_FACTOR))


def encode_body(payload: dict[str, Any]) -> bytes:
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=True)
    return text.replace("/", "\\/").encode()


class WebhookDispatcher:
    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self._pending: dict[str, list[tuple[float, dict[str, Any]]]] = {}
        self._held_since: dict[str, float] = {}
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None
        self._release_all = False
        self._hooks_lock: asyncio.Lock | None = None
        self._send_lock: asyncio.Lock | None = None
        self._tick_hooks: list[Callable[[], Awaitable[None]]] = []

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        self._wake = asyncio.Event()
        self._client = httpx.AsyncClient(follow_redirects=False)
        self._task = asyncio.create_task(self._run(), name="webhook-dispatcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._client is not None:
            await self._client.aclose()

    def reset(self) -> None:
        self._pending.clear()
        self._held_since.clear()

    def on_tick(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Run ``hook`` at the start of every dispatcher tick (every ``TICK_SECONDS``, after a
        clock move, on flush): time-driven work that emits webhooks, e.g. WhatsApp statuses and
        template reviews, follows the sandbox clock without a request to trigger it."""
        self._tick_hooks.append(hook)

    add_tick_hook = on_tick

    async def tick_now(self) -> None:
        """Run the tick hooks and batch what is pending now, then let the loop send what is due.

        The control API calls it after moving the clock: state that fell due (e.g. WhatsApp
        statuses) has changed when the call returns, while deliveries go out from the loop right
        after. Sending them here instead would make the clock call wait on the receiver, which
        deadlocks a test whose receiver is served by the same event loop that made the call.
        """
        await self._run_hooks()
        self._batch(force=False)
        self.wake()

    def wake(self) -> None:
        if self._wake is not None:
            self._wake.set()

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(follow_redirects=False)
        return self._client

    # --- subscriptions -------------------------------------------------------------------------

    async def subscribe(
        self, object: str, callback_url: str, verify_token: str, fields: list[str] | None = None
    ) -> None:
        challenge = str(secrets.randbelow(10**9) + 10**9)
        params = {
            "hub.mode": "subscribe",
            "hub.challenge": challenge,
            "hub.verify_token": verify_token,
        }
        timeout = self.state.settings.webhook_timeout_seconds
        try:
            response = await self.client.get(callback_url, params=params, timeout=timeout)
        except httpx.HTTPError as exc:
            raise _verification_failed(
                f"Couldn't connect to server ({type(exc).__name__})"
            ) from exc
        if response.status_code != 200:
            raise _verification_failed(
                f"HTTP Status Code = {response.status_code}; HTTP Message = {response.reason_phrase}"
            )
        if response.text.strip() != challenge:
            raise _verification_failed(
                "The URL couldn't be validated. Response does not match challenge, expected value="
                f'"{challenge}", received="{response.text[:50]}"'
            )
        self.state.subscriptions[object] = WebhookSubscription(
            object=object,
            callback_url=callback_url,
            verify_token=verify_token,
            subscribed_at=self.state.clock.now(),
            fields=list(fields or []),
        )

    def unsubscribe(self, object: str) -> None:
        self.state.subscriptions.pop(object, None)

    # --- emitting ------------------------------------------------------------------------------

    async def emit(self, object: str, entry: dict[str, Any]) -> None:
        """Queue one entry. Dropped silently when the app has no callback for ``object``
        (Meta sends nothing then either)."""
        if object not in self.state.subscriptions:
            return
        self._pending.setdefault(object, []).append((time.monotonic(), entry))
        self.wake()

    async def flush(self) -> None:
        """Batch everything pending now, ignoring the batch window and releasing held
        deliveries; the loop sends them at once (control API helper)."""
        self._batch(force=True)
        self._release_all = True
        self.wake()

    # --- the loop ------------------------------------------------------------------------------

    async def _run(self) -> None:
        assert self._wake is not None  # noqa: S101
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=TICK_SECONDS)
            self._wake.clear()
            try:
                await self._tick()
            except Exception:  # noqa: BLE001 - the loop must survive a bad delivery
                await asyncio.sleep(TICK_SECONDS)

    async def _tick(self) -> None:
        await self._run_hooks()
        self._batch(force=False)
        await self._send_due()

    async def _run_hooks(self) -> None:
        if self._hooks_lock is None:
            self._hooks_lock = asyncio.Lock()
        async with self._hooks_lock:
            for hook in self._tick_hooks:
                await hook()

    def _batch(self, *, force: bool) -> None:
        settings = self.state.settings
        mono = time.monotonic()
        for obj, items in list(self._pending.items()):
            if not items:
                continue
            oldest = items[0][0]
            if (
                force
                or mono - oldest >= settings.webhook_batch_window_seconds
                or len(items) >= settings.webhook_batch_max_entries
            ):
                batch = items[: settings.webhook_batch_max_entries]
                del items[: len(batch)]
                self._make_deliveries(obj, [entry for _, entry in batch])

    async def _send_due(self) -> None:
        if self._send_lock is None:
            self._send_lock = asyncio.Lock()
        async with self._send_lock:
            release_all, self._release_all = self._release_all, False
            mono = time.monotonic()
            now = self.state.clock.now()
            for delivery in list(self.state.deliveries):
                if delivery.state != "pending":
                    continue
                if delivery.held:
                    since = self._held_since.get(delivery.id, mono)
                    if mono - since < REORDER_MAX_HOLD_SECONDS and not release_all:
                        continue
                    delivery.held = False
                if delivery.next_attempt_at <= now:
                    await self._attempt(delivery)
                    self._release_held(delivery)

    def _release_held(self, sent: Delivery) -> None:
        for other in self.state.deliveries:
            if other.held and other.id != sent.id and other.object == sent.object:
                other.held = False
                self._held_since.pop(other.id, None)

    def _take_fault(self) -> FaultPlan | None:
        for plan in self.state.faults:
            if plan.kind.startswith("webhook_") and plan.remaining > 0:
                plan.remaining -= 1
                if plan.remaining <= 0:
                    self.state.faults.remove(plan)
                return plan
        return None

    def _make_deliveries(self, obj: str, entries: list[dict[str, Any]]) -> None:
        subscription = self.state.subscriptions.get(obj)
        if subscription is None:
            return
        fault = self._take_fault()
        kind = fault.kind if fault else None
        if kind == "webhook_reorder" and len(entries) > 1:
            for entry in reversed(entries):
                self._new_delivery(subscription, [entry])
            return
        delivery = self._new_delivery(subscription, entries)
        if kind == "webhook_drop":
            delivery.state = "dropped"
        elif kind == "webhook_duplicate":
            self._new_delivery(subscription, entries)
        elif kind == "webhook_reorder":
            delivery.held = True
            self._held_since[delivery.id] = time.monotonic()

    def _new_delivery(self, sub: WebhookSubscription, entries: list[dict[str, Any]]) -> Delivery:
        body = encode_body({"object": sub.object, "entry": entries})
        now = self.state.clock.now()
        delivery = Delivery(
            id=secrets.token_hex(8),
            object=sub.object,
            callback_url=sub.callback_url,
            body=body.decode(),
            signature_256=signature_256(self.state.settings.app_secret, body),
            created_at=now,
            next_attempt_at=now,
            entry_count=len(entries),
        )
        self.state.deliveries.append(delivery)
        return delivery

    async def _attempt(self, delivery: Delivery) -> None:
        settings = self.state.settings
        body = delivery.body.encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Hub-Signature-256": delivery.signature_256,
        }
        now = self.state.clock.now()
        if delivery.attempts and (
            now - delivery.attempts[0].time > settings.webhook_retry_max_age_seconds
        ):
            # Due inside the window but reached after it (the clock moved past in one step):
            # Meta gives up at 36 h, it does not make a late attempt.
            delivery.state = "failed"
            return
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        try:
            response = await self.client.post(
                delivery.callback_url,
                content=body,
                headers=headers,
                timeout=settings.webhook_timeout_seconds,
            )
            status = response.status_code
        except httpx.TimeoutException:
            error = "timeout"
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        delivery.attempts.append(
            DeliveryAttempt(
                time=now,
                status=status,
                error=error,
                duration_seconds=round(time.monotonic() - started, 4),
            )
        )
        if status == 200:
            delivery.state = "delivered"
            return
        next_at = now + retry_delay(len(delivery.attempts), settings.webhook_retry_base_seconds)
        first = delivery.attempts[0].time
        if next_at - first > settings.webhook_retry_max_age_seconds:
            delivery.state = "failed"
            return
        delivery.next_attempt_at = next_at


def _verification_failed(detail: str) -> GraphAPIError:
    return GraphAPIError(
        f"(#2200) Callback verification failed with the following errors: {detail}",
        code=2200,
    )
