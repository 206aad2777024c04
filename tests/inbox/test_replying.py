"""Replying: stored as pending before Meta is called, one send per Idempotency-Key, Instagram's
messaging window enforced before calling, Meta's refusals in words, and retry."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from meta_sandbox.testing import Sandbox
from socialsell.inbox.models import Message
from socialsell.settings import Settings
from tests.channels.conftest import Consent
from tests.helpers.factories import ApiUser
from tests.helpers.instagram import connect_shop, rows
from tests.inbox.helpers import age_last_message, customer_writes

DAY = 86_400


def _sent(sandbox: Sandbox, ig_id: str) -> list[dict[str, object]]:
    data: list[dict[str, object]] = sandbox.client.get(
        f"/_sandbox/instagram/accounts/{ig_id}/sent"
    ).json()["data"]
    return data


async def test_a_reply_is_sent_once_per_idempotency_key_and_replayed(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    settings: Settings,
) -> None:
    shop = await connect_shop(client, sandbox, consent, seller)
    conversation_id = await customer_writes(client, app, settings, shop, sandbox, "Hello?")
    url = f"/api/v1/conversations/{conversation_id}/messages"
    headers = {**seller.headers, "Idempotency-Key": "reply-1"}
    first = await client.post(url, json={"text": "Yes, in stock!"}, headers=headers)
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["status"] == "sent"
    assert body["external_id"]
    again = await client.post(url, json={"text": "Yes, in stock!"}, headers=headers)
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == body["id"]
    assert again.json()["status"] == "sent"
    assert [m["text"] for m in _sent(sandbox, shop.ig_id)] == ["Yes, in stock!"]
    # The same key for another message is a client bug, said so.
    other = await client.post(url, json={"text": "Something else"}, headers=headers)
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_key_reused"
    outbound = await rows(app, select(Message).where(Message.direction == "outbound"))
    assert len(outbound) == 1
    assert outbound[0].author_id is not None
    # Instagram counts 1000 bytes, not characters: refused before anything is stored.
    too_long = await client.post(url, json={"text": "é" * 501}, headers=seller.headers)
    assert too_long.status_code == 422
    assert too_long.json()["errors"][0]["field"] == "text"


async def test_the_24_hour_window_and_the_human_agent_tag(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    settings: Settings,
) -> None:
    shop = await connect_shop(client, sandbox, consent, seller)
    conversation_id = await customer_writes(client, app, settings, shop, sandbox, "Hi")
    url = f"/api/v1/conversations/{conversation_id}/messages"
    # Two days later: only a person answering with the HUMAN_AGENT tag may reply (Meta checks).
    sandbox.advance(2 * DAY)
    await age_last_message(app, conversation_id, timedelta(days=2))
    state = (
        await client.get(f"/api/v1/conversations/{conversation_id}", headers=seller.headers)
    ).json()
    assert state["window"]["can_reply"] is True
    assert state["window"]["needs_human_agent_tag"] is True
    tagged = await client.post(url, json={"text": "Sorry for the delay"}, headers=seller.headers)
    assert tagged.status_code == 201, tagged.text
    assert tagged.json()["status"] == "sent"
    assert tagged.json()["details"]["human_agent"] is True
    # Eight days later nothing may be sent: refused before calling Meta, and nothing stored.
    sandbox.advance(6 * DAY)
    await age_last_message(app, conversation_id, timedelta(days=8))
    calls = len(sandbox.client.get("/_sandbox/calls").json()["data"])
    closed = await client.post(url, json={"text": "Still there?"}, headers=seller.headers)
    assert closed.status_code == 409
    assert closed.json()["code"] == "messaging_window_closed"
    assert "24 hours" in closed.json()["message"]
    assert "7 days" in closed.json()["message"]
    assert len(sandbox.client.get("/_sandbox/calls").json()["data"]) == calls
    assert len(await rows(app, select(Message).where(Message.direction == "outbound"))) == 1


async def test_without_the_human_agent_feature_the_window_is_24_hours(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    settings: Settings,
) -> None:
    app.state.settings = settings.model_copy(update={"inbox_human_agent_tag": False})
    shop = await connect_shop(client, sandbox, consent, seller)
    conversation_id = await customer_writes(client, app, settings, shop, sandbox, "Hi")
    await age_last_message(app, conversation_id, timedelta(hours=25))
    closed = await client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"text": "Hello"},
        headers=seller.headers,
    )
    assert closed.status_code == 409
    assert "24 hours" in closed.json()["message"]


async def test_a_refusal_by_meta_fails_the_message_with_the_reason_and_retry_sends_it(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    settings: Settings,
) -> None:
    shop = await connect_shop(client, sandbox, consent, seller)
    conversation_id = await customer_writes(client, app, settings, shop, sandbox, "Hi")
    sandbox.fault("rate_limit", code=4, path_contains="/messages", method="POST")
    failed = await client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"text": "Here is the link"},
        headers={**seller.headers, "Idempotency-Key": "k-9"},
    )
    assert failed.status_code == 201
    message = failed.json()
    assert message["status"] == "failed"
    assert message["error_code"].startswith("meta_4")
    assert "limiting" in message["error_message"]
    assert message["actions"] == ["retry"]
    assert _sent(sandbox, shop.ig_id) == []
    retried = await client.post(f"/api/v1/messages/{message['id']}/retry", headers=seller.headers)
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "sent"
    assert retried.json()["id"] == message["id"]
    assert [m["text"] for m in _sent(sandbox, shop.ig_id)] == ["Here is the link"]
    again = await client.post(f"/api/v1/messages/{message['id']}/retry", headers=seller.headers)
    assert again.status_code == 409
    assert again.json()["code"] == "message_not_retryable"


async def test_meta_closing_the_window_is_never_shown_as_sent(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    settings: Settings,
) -> None:
    shop = await connect_shop(client, sandbox, consent, seller)
    conversation_id = await customer_writes(client, app, settings, shop, sandbox, "Hi")
    sandbox.advance(8 * DAY)  # Meta's clock says the window closed; ours did not notice
    response = await client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"text": "Late answer"},
        headers=seller.headers,
    )
    message = response.json()
    assert message["status"] == "failed"
    assert message["error_code"] == "meta_10_2534022"
    assert "window" in message["error_message"]


async def test_a_dead_token_refuses_sending_with_channel_unavailable(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    settings: Settings,
) -> None:
    from socialsell.channels.models import Channel
    from socialsell.integrations import secret_box

    shop = await connect_shop(client, sandbox, consent, seller)
    conversation_id = await customer_writes(client, app, settings, shop, sandbox, "Hi")
    (channel,) = await rows(app, select(Channel))
    token = secret_box(settings).decrypt(channel.token_encrypted or "")
    sandbox.client.post(f"/_sandbox/tokens/{token}/revoke").raise_for_status()
    url = f"/api/v1/conversations/{conversation_id}/messages"
    first = await client.post(url, json={"text": "Hello"}, headers=seller.headers)
    assert first.status_code == 409
    assert first.json()["code"] == "channel_needs_reconnect"
    (message,) = await rows(app, select(Message).where(Message.direction == "outbound"))
    assert message.status == "failed"  # stored, and never shown as sent
    second = await client.post(url, json={"text": "Hello?"}, headers=seller.headers)
    assert second.status_code == 409
    assert second.json()["code"] == "channel_needs_reconnect"
    assert len(await rows(app, select(Message).where(Message.direction == "outbound"))) == 1


async def test_an_uploaded_image_is_hosted_for_meta_to_fetch(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    settings: Settings,
    live_server: object,
) -> None:
    # Meta (the sandbox) fetches the image from our signed URL: base_url must be reachable.
    app.state.settings = settings.model_copy(update={"base_url": live_server.url})  # type: ignore[attr-defined]
    shop = await connect_shop(client, sandbox, consent, seller)
    conversation_id = await customer_writes(client, app, settings, shop, sandbox, "Photo?")
    jpeg = sandbox.client.get(
        "/_sandbox/samples/image.jpg", params={"width": 64, "height": 64}
    ).content
    upload = await client.post(
        "/api/v1/inbox/uploads",
        files={"file": ("dress.jpg", jpeg, "image/jpeg")},
        headers=seller.headers,
    )
    assert upload.status_code == 201, upload.text
    key = upload.json()["key"]
    async with httpx.AsyncClient() as outside:
        fetched = await outside.get(upload.json()["url"])
        forged = await outside.get(upload.json()["url"].replace("sig=", "sig=0"))
    assert fetched.status_code == 200
    assert fetched.content == jpeg
    response = await client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"image_key": key},
        headers=seller.headers,
    )
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "sent", response.json()
    assert response.json()["kind"] == "image"
    (sent,) = _sent(sandbox, shop.ig_id)
    assert sent["attachments"][0]["type"] == "image"  # type: ignore[index]
    # Not an image: refused. A forged or expired link: 404.
    bad = await client.post(
        "/api/v1/inbox/uploads",
        files={"file": ("x.jpg", b"not an image", "image/jpeg")},
        headers=seller.headers,
    )
    assert bad.status_code == 422
    assert forged.status_code == 404


async def test_a_send_cut_off_after_the_commit_is_settled_by_the_tick(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The process dies between committing the pending row and storing Meta's answer: with
    Meta's echo, the two rows become one sent message; without, it fails with Retry."""
    from sqlalchemy import update

    from socialsell.core.tick import Tick
    from socialsell.db import utcnow
    from socialsell.inbox import service
    from tests.helpers.instagram import post_delivery
    from tests.webhooks import payloads

    shop = await connect_shop(client, sandbox, consent, seller)
    conversation_id = await customer_writes(client, app, settings, shop, sandbox, "Hi")

    async def crash(session: object, outbox: object, message_id: object) -> Message:
        raise RuntimeError("killed before storing Meta's answer")

    monkeypatch.setattr(service, "deliver", crash)
    url = f"/api/v1/conversations/{conversation_id}/messages"
    for words in ["Meta got this one", "Meta never got this one"]:
        response = await client.post(url, json={"text": words}, headers=seller.headers)
        assert response.status_code == 500
    monkeypatch.undo()
    # Meta did send the first: its echo arrives as an outbound message we cannot match by id.
    persona = sandbox.client.get("/_sandbox/instagram/personas").json()["data"][0]["id"]
    echo = payloads.body(
        payloads.messaging(
            shop.ig_id,
            payloads.echo(
                shop.ig_id,
                persona,
                int(sandbox.now() * 1000) + 5,
                message={"mid": "m_echo_1", "text": "Meta got this one", "is_echo": True},
            ),
        )
    )
    await post_delivery(client, settings.meta_app_secret.get_secret_value(), echo)
    await app.state.jobs.drain()
    assert len(await rows(app, select(Message).where(Message.direction == "outbound"))) == 3
    async with app.state.sessionmaker() as session:
        await session.execute(
            update(Message)
            .where(Message.status == "pending")
            .values(updated_at=utcnow() - timedelta(minutes=6))
        )
        await session.commit()
    await Tick(app.state.jobs, claimers=[], periodics=["inbox.settle_stuck_sends"]).run_once()
    outbound = {
        m.text: m for m in await rows(app, select(Message).where(Message.direction == "outbound"))
    }
    assert len(outbound) == 2
    got = outbound["Meta got this one"]
    assert (got.status, got.external_id) == ("sent", "m_echo_1")
    assert got.author_id is not None  # our row survived, with its author and key
    lost = outbound["Meta never got this one"]
    assert (lost.status, lost.error_code) == ("failed", "send_unconfirmed")
