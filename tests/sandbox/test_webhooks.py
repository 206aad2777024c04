"""Webhooks: verification handshake, signatures, batching, retries with back-off, faults."""

from __future__ import annotations

import itertools
import json
import time

from meta_sandbox.testing import Sandbox, WebhookReceiver
from meta_sandbox.webhooks import retry_delay

from .conftest import IG, independent_signature


def test_subscribe_performs_the_hub_handshake(
    sandbox: Sandbox, webhook_receiver: WebhookReceiver
) -> None:
    response = sandbox.client.put(
        "/_sandbox/webhooks",
        json={
            "object": "instagram",
            "callback_url": webhook_receiver.url,
            "verify_token": webhook_receiver.verify_token,
        },
    )
    assert response.status_code == 200
    assert response.json()["callback_url"] == webhook_receiver.url
    (handshake,) = webhook_receiver.handshakes
    assert handshake["hub.mode"] == "subscribe"
    assert handshake["hub.verify_token"] == webhook_receiver.verify_token
    assert handshake["hub.challenge"].isdigit()
    listed = sandbox.client.get("/_sandbox/webhooks").json()["data"]
    assert [s["object"] for s in listed] == ["instagram"]


def test_subscribe_fails_on_wrong_token(
    sandbox: Sandbox, webhook_receiver: WebhookReceiver
) -> None:
    response = sandbox.client.put(
        "/_sandbox/webhooks",
        json={"object": "instagram", "callback_url": webhook_receiver.url, "verify_token": "wrong"},
    )
    assert response.status_code == 400
    assert response.json()["detail"]["code"] == 2200
    assert "403" in response.json()["detail"]["message"]
    assert sandbox.client.get("/_sandbox/webhooks").json()["data"] == []


def test_subscribe_fails_when_challenge_is_not_echoed(
    sandbox: Sandbox, webhook_receiver: WebhookReceiver
) -> None:
    webhook_receiver.echo_challenge = False
    response = sandbox.client.put(
        "/_sandbox/webhooks",
        json={
            "object": "instagram",
            "callback_url": webhook_receiver.url,
            "verify_token": webhook_receiver.verify_token,
        },
    )
    assert response.status_code == 400
    assert "does not match challenge" in response.json()["detail"]["message"]


def test_subscribe_fails_when_unreachable(sandbox: Sandbox) -> None:
    response = sandbox.client.put(
        "/_sandbox/webhooks",
        json={
            "object": "instagram",
            "callback_url": "http://127.0.0.1:9/nothing",
            "verify_token": "x",
        },
    )
    assert response.status_code == 400


def test_signature_is_hmac_sha256_of_the_raw_body(
    hooked: IG, webhook_receiver: WebhookReceiver
) -> None:
    hooked.inbound("alice", "Ciao! Ça coûte combien? https://shop.example/p/1")
    delivery = webhook_receiver.wait_for(1)[0]
    signature = delivery.headers["x-hub-signature-256"]
    assert signature == independent_signature(hooked.sandbox.app_secret, delivery.body)
    # Meta escapes non-ASCII and "/": re-serialising the JSON would not give these bytes.
    assert b"\\u00c7" in delivery.body
    assert b"https:\\/\\/shop.example" in delivery.body
    reserialised = json.dumps(delivery.json()).encode()
    assert independent_signature(hooked.sandbox.app_secret, reserialised) != signature
    assert independent_signature("another-secret", delivery.body) != signature


def test_pending_events_are_batched_into_one_post(
    hooked: IG, webhook_receiver: WebhookReceiver
) -> None:
    hooked.sandbox.configure(webhook_batch_window_seconds=0.5)
    for i in range(3):
        hooked.inbound(f"p{i}", f"message {i}")
    deliveries = webhook_receiver.wait_for(1)
    time.sleep(0.1)
    assert len(webhook_receiver.deliveries) == 1
    texts = [e["messaging"][0]["message"]["text"] for e in deliveries[0].json()["entry"]]
    assert texts == ["message 0", "message 1", "message 2"]


def test_retry_schedule_on_errors(hooked: IG, webhook_receiver: WebhookReceiver) -> None:
    base = 10.0  # webhook_retry_base_seconds in the test settings
    assert [retry_delay(n, base) for n in range(1, 6)] == [0.0, 10.0, 20.0, 40.0, 80.0]
    webhook_receiver.responses = [500, 500, 503, 404]
    hooked.inbound("alice", "hello")
    webhook_receiver.wait_for(2)  # first attempt, then an immediate retry
    time.sleep(0.1)
    assert len(webhook_receiver.deliveries) == 2
    hooked.sandbox.advance(9)
    time.sleep(0.1)
    assert len(webhook_receiver.deliveries) == 2  # not due yet
    hooked.sandbox.advance(1)
    webhook_receiver.wait_for(3)
    hooked.sandbox.advance(20)
    webhook_receiver.wait_for(4)
    hooked.sandbox.advance(40)
    received = webhook_receiver.wait_for(5)
    assert len({d.body for d in received}) == 1  # the same signed body every time
    (delivery,) = hooked.sandbox.deliveries("instagram")
    assert delivery["state"] == "delivered"
    times = [a["time"] for a in delivery["attempts"]]
    gaps = [round(b - a) for a, b in itertools.pairwise(times)]
    assert gaps == [0, 10, 20, 40]
    assert [a["status"] for a in delivery["attempts"]] == [500, 500, 503, 404, 200]


def test_slow_answers_count_as_failures(hooked: IG, webhook_receiver: WebhookReceiver) -> None:
    hooked.sandbox.configure(webhook_timeout_seconds=0.2)
    webhook_receiver.delay_seconds = 0.5
    hooked.inbound("alice", "hello")
    webhook_receiver.wait_for(2, timeout=5)
    webhook_receiver.delay_seconds = 0
    hooked.sandbox.advance(10)
    webhook_receiver.wait_for(3)
    # The receiver counts the request before the sandbox has read its answer.
    deadline = time.monotonic() + 5
    while (delivery := hooked.sandbox.deliveries()[0])["state"] != "delivered":
        assert time.monotonic() < deadline, delivery
        time.sleep(0.05)
    assert [a["error"] for a in delivery["attempts"]][:2] == ["timeout", "timeout"]


def test_deliveries_are_dropped_after_36_hours(
    hooked: IG, webhook_receiver: WebhookReceiver
) -> None:
    webhook_receiver.responses = [500] * 1000
    hooked.inbound("alice", "hello")
    webhook_receiver.wait_for(2)
    for _ in range(60):
        hooked.sandbox.advance(3600)
        (delivery,) = hooked.sandbox.deliveries()
        if delivery["state"] != "pending":
            break
    assert delivery["state"] == "failed"
    assert delivery["attempts"][-1]["time"] - delivery["attempts"][0]["time"] <= 36 * 3600


def test_fault_drop_duplicate_reorder(hooked: IG, webhook_receiver: WebhookReceiver) -> None:
    sandbox = hooked.sandbox
    sandbox.fault("webhook_drop")
    hooked.inbound("alice", "dropped")
    sandbox.client.post("/_sandbox/webhooks/flush")
    assert sandbox.deliveries()[0]["state"] == "dropped"

    sandbox.fault("webhook_duplicate")
    hooked.inbound("alice", "twice")
    first, second = webhook_receiver.wait_for(2)
    assert first.body == second.body

    sandbox.fault("webhook_reorder")
    hooked.inbound("alice", "one")
    time.sleep(0.15)  # past the batch window: "one" is held back
    hooked.inbound("alice", "two")
    received = webhook_receiver.wait_for(4)
    texts = [d.json()["entry"][0]["messaging"][0]["message"]["text"] for d in received[2:]]
    assert texts == ["two", "one"]


def test_object_without_callback_gets_nothing(ig: IG) -> None:
    ig.graph.post(f"/{ig.id}/subscribed_apps", params={"subscribed_fields": "messages"})
    ig.inbound("alice", "anyone?")
    ig.sandbox.client.post("/_sandbox/webhooks/flush")
    assert ig.sandbox.deliveries() == []


def test_unsubscribe_stops_deliveries(hooked: IG, webhook_receiver: WebhookReceiver) -> None:
    assert hooked.sandbox.client.delete("/_sandbox/webhooks/instagram").json() == {"success": True}
    hooked.inbound("alice", "hi")
    hooked.sandbox.client.post("/_sandbox/webhooks/flush")
    assert hooked.sandbox.deliveries() == []


def test_app_subscriptions_through_the_graph_api(
    sandbox: Sandbox, webhook_receiver: WebhookReceiver
) -> None:
    app_token = f"{sandbox.app_id}|{sandbox.app_secret}"
    path = f"/v23.0/{sandbox.app_id}/subscriptions"
    params = {
        "object": "instagram",
        "callback_url": webhook_receiver.url,
        "fields": "messages,comments",
        "verify_token": webhook_receiver.verify_token,
        "access_token": app_token,
    }
    assert sandbox.client.post(path, params=params).json() == {"success": True}
    assert len(webhook_receiver.handshakes) == 1
    listed = sandbox.client.get(path, params={"access_token": app_token}).json()["data"]
    assert listed[0]["object"] == "instagram"
    assert listed[0]["callback_url"] == webhook_receiver.url
    assert [f["name"] for f in listed[0]["fields"]] == ["messages", "comments"]
    failed = sandbox.client.post(path, params={**params, "verify_token": "wrong"})
    assert failed.json()["error"]["code"] == 2200
    user_token = sandbox.create_account("shop")["access_token"]
    assert (
        sandbox.client.get(path, params={"access_token": user_token}).json()["error"]["code"] == 15
    )
    wrong_secret = sandbox.client.get(path, params={"access_token": f"{sandbox.app_id}|nope"})
    assert wrong_secret.json()["error"]["code"] == 190
    deleted = sandbox.client.delete(path, params={"object": "instagram", "access_token": app_token})
    assert deleted.json() == {"success": True}
    assert sandbox.client.get(path, params={"access_token": app_token}).json() == {"data": []}
