"""Receiving: the handshake, signatures, and storing every delivery before answering 200."""

from __future__ import annotations

import json

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from meta_sandbox.testing import Sandbox
from socialsell.settings import Settings
from socialsell.webhooks.models import WebhookDelivery
from tests.conftest import BACKEND
from tests.helpers.instagram import count, post_delivery, rows, sign
from tests.webhooks import payloads


async def test_handshake_echoes_the_challenge_for_our_verify_token(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    token = settings.meta_webhook_verify_token.get_secret_value()
    ok = await client.get(
        "/webhooks/instagram",
        params={"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": token},
    )
    assert ok.status_code == 200
    assert ok.text == "1158201444"
    wrong = await client.get(
        "/webhooks/instagram",
        params={"hub.mode": "subscribe", "hub.challenge": "1", "hub.verify_token": "guess"},
    )
    assert wrong.status_code == 403
    assert wrong.json()["code"] == "forbidden"


async def test_the_sandbox_subscribes_through_the_handshake(
    live_server: object, sandbox: Sandbox, settings: Settings
) -> None:
    url = f"{live_server.url}/webhooks/instagram"  # type: ignore[attr-defined]
    sandbox.subscribe_webhooks(
        "instagram", url, settings.meta_webhook_verify_token.get_secret_value()
    )
    subs = sandbox.client.get("/_sandbox/webhooks").json()["data"]
    assert subs[0]["callback_url"] == url


async def test_bad_or_missing_signatures_store_nothing(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    body = payloads.text("17841400000000001", "99", "hi", at_ms=payloads.BASE_MS)
    secret = settings.meta_app_secret.get_secret_value()
    for signature in ["", "sha256=" + "0" * 64, sign("another-secret", body), "sha1=abc"]:
        response = await post_delivery(client, secret, body, signature=signature)
        assert response.status_code == 401, signature
        assert response.json()["code"] == "invalid_signature"
    missing = await client.post("/webhooks/instagram", content=body)
    assert missing.status_code == 401
    # A body changed after signing (re-serialised JSON) fails too.
    reserialised = json.dumps(json.loads(body), indent=1).encode()
    response = await post_delivery(client, secret, reserialised, signature=sign(secret, body))
    assert response.status_code == 401
    assert await count(app, WebhookDelivery) == 0


async def test_malformed_json_is_stored_as_unprocessable_and_answered_200(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    secret = settings.meta_app_secret.get_secret_value()
    for body in [b"{not json", b'{"object": "page", "entry": []}', b"[]", b"\xff\xfe"]:
        response = await post_delivery(client, secret, body)
        assert response.status_code == 200
    await app.state.jobs.drain()
    stored = await rows(app, select(WebhookDelivery))
    assert len(stored) == 4
    assert {d.status for d in stored} == {"unprocessable"}
    assert all(d.note for d in stored)


async def test_unknown_event_kinds_are_stored_as_unprocessable(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    secret = settings.meta_app_secret.get_secret_value()
    event = payloads.incoming(
        "17841400000000001", "99", payloads.BASE_MS, postback={"mid": "m", "payload": "BUY"}
    )
    body = payloads.body(payloads.messaging("17841400000000001", event))
    assert (await post_delivery(client, secret, body)).status_code == 200
    await app.state.jobs.drain()
    (delivery,) = await rows(app, select(WebhookDelivery))
    assert delivery.status == "unprocessable"
    assert "postback" in (delivery.note or "")
    assert delivery.body == body  # the exact bytes, for a replay after a fix


async def test_deliveries_are_stored_after_the_database_dropped_our_connections(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    """PostgreSQL restarted (every connection of the intake's pool dead): the next delivery is
    still stored and answered 200, once."""
    secret = settings.meta_app_secret.get_secret_value()
    first = payloads.text("17841400000000001", "99", "before", at_ms=payloads.BASE_MS)
    assert (await post_delivery(client, secret, first)).status_code == 200
    if BACKEND == "postgres":
        dropped = await _drop_other_connections(settings.database_url)
        assert dropped >= 1, "the intake held a connection"
    second = payloads.text("17841400000000001", "99", "after", at_ms=payloads.BASE_MS + 1)
    assert (await post_delivery(client, secret, second)).status_code == 200
    await app.state.jobs.drain()
    bodies = sorted(d.body for d in await rows(app, select(WebhookDelivery)))
    assert bodies == sorted([first, second])


async def _drop_other_connections(database_url: str) -> int:
    import asyncpg

    dsn = database_url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        return len(
            await conn.fetch(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    finally:
        await conn.close()
