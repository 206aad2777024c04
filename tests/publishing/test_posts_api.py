"""Composing, validating, editing and deleting posts through the API; the calendar; tenancy."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from meta_sandbox.testing import Sandbox
from socialsell import db
from socialsell.accounts.models import Workspace
from socialsell.channels.models import Channel, ChannelStatus
from tests.helpers.instagram import Shop, connect_shop
from tests.helpers.tenancy import assert_other_workspace_gets_404
from tests.publishing.helpers import in_an_hour, make_due, post_row, schedule, tick, upload_image


def _errors(response: httpx.Response) -> dict[str, list[str]]:
    assert response.status_code == 422, response.text
    found: dict[str, list[str]] = {}
    for error in response.json()["errors"]:
        found.setdefault(error["field"], []).append(error["message"])
    return found


async def _create(client: httpx.AsyncClient, shop: Shop, **body: Any) -> httpx.Response:
    payload = {
        "channel_ids": [str(shop.channel_id)],
        "kind": "feed",
        "caption": "",
        "media_ids": [],
        "scheduled_at": in_an_hour(),
        **body,
    }
    return await client.post("/api/v1/posts", json=payload, headers=shop.seller.headers)


async def test_caption_rules_name_the_field_and_the_rule(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    media_id = await upload_image(client, shop.seller)
    caption = "x" * 2190 + " #a" * 31
    response = await _create(client, shop, caption=caption, media_ids=[media_id])
    messages = _errors(response)["caption"]
    assert any("2,283 characters; Instagram allows at most 2,200" in m for m in messages)
    assert any("31 hashtags; Instagram allows at most 30" in m for m in messages)

    mentions = " ".join(f"@friend{i}" for i in range(21))
    response = await _create(client, shop, caption=mentions, media_ids=[media_id])
    assert _errors(response)["caption"] == [
        "The caption mentions 21 accounts; Instagram allows at most 20 @mentions."
    ]


async def test_media_rules_per_kind(client: httpx.AsyncClient, shop: Shop) -> None:
    square = await upload_image(client, shop.seller)
    tall = await upload_image(client, shop.seller, width=500, height=1000)

    response = await _create(client, shop, media_ids=[tall])
    [message] = _errors(response)["media_ids.0"]
    assert "between 4:5 (portrait) and 1.91:1 (landscape)" in message
    assert "500x1000 (0.50:1)" in message

    response = await _create(client, shop, kind="carousel", media_ids=[square])
    assert _errors(response)["media_ids"] == [
        "A carousel has 2 to 10 photos or videos; this one has 1."
    ]
    response = await _create(client, shop, kind="reel", media_ids=[square])
    assert _errors(response)["media_ids.0"] == ["A reel is a video; this file is a photo."]
    response = await _create(client, shop, kind="story", caption="hi", media_ids=[tall])
    assert _errors(response)["caption"] == [
        "Instagram stories have no caption; remove it to schedule."
    ]
    response = await _create(client, shop, media_ids=[str(uuid.uuid4())])
    assert _errors(response)["media_ids.0"] == ["This media file does not exist."]


async def test_video_durations_per_kind(
    client: httpx.AsyncClient, shop: Shop, sandbox: Sandbox
) -> None:
    from tests.publishing.helpers import upload

    long_video = sandbox.client.get("/_sandbox/samples/video.mp4", params={"duration": 75}).content
    response = await upload(client, shop.seller, long_video, "clip.mp4")
    assert response.status_code == 201, response.text
    video = response.json()
    assert video["kind"] == "video"
    assert video["duration_seconds"] == pytest.approx(75.0)

    response = await _create(client, shop, kind="story", media_ids=[video["id"]])
    assert _errors(response)["media_ids.0"] == [
        "Story videos last 3 to 60 seconds; this one lasts 75.0 seconds."
    ]
    response = await _create(client, shop, kind="reel", caption="New", media_ids=[video["id"]])
    assert response.status_code == 201, response.text


async def test_time_and_channel_rules(app: FastAPI, client: httpx.AsyncClient, shop: Shop) -> None:
    media_id = await upload_image(client, shop.seller)
    past = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    response = await _create(client, shop, media_ids=[media_id], scheduled_at=past)
    [message] = _errors(response)["scheduled_at"]
    assert message.startswith("The time must be in the future")
    response = await _create(client, shop, media_ids=[media_id], scheduled_at=None)
    assert _errors(response)["scheduled_at"] == ["Choose when to publish."]

    async with db.unit_of_work(app.state.sessionmaker) as session:
        await session.execute(
            update(Channel).values(status=ChannelStatus.token_expired, scopes=["x"])
        )
    response = await _create(client, shop, media_ids=[media_id])
    [message] = _errors(response)["channel_ids.0"]
    assert "token expired; reconnect it on the Channels page" in message

    async with db.unit_of_work(app.state.sessionmaker) as session:
        await session.execute(
            update(Channel).values(status=ChannelStatus.active, scopes=["instagram_business_basic"])
        )
    response = await _create(client, shop, media_ids=[media_id])
    [message] = _errors(response)["channel_ids.0"]
    assert "did not grant the permission to publish" in message

    # A draft is saved as it is, unchecked.
    response = await _create(client, shop, media_ids=[], draft=True, scheduled_at=None)
    assert response.status_code == 201, response.text
    assert response.json()["items"][0]["status"] == "draft"


async def test_one_request_for_several_channels_makes_one_post_each(
    client: httpx.AsyncClient, sandbox: Sandbox, consent: Any, shop: Shop
) -> None:
    other = await connect_shop(client, sandbox, consent, shop.seller, username="second_shop")
    media_id = await upload_image(client, shop.seller)
    posts = await schedule(
        client, shop.seller, [shop.channel_id, other.channel_id], [media_id], caption="Both"
    )
    assert {p["channel_id"] for p in posts} == {str(shop.channel_id), str(other.channel_id)}
    assert len({p["group_id"] for p in posts}) == 1
    assert all(
        p["status"] == "scheduled" and p["items"][0]["media"]["id"] == media_id for p in posts
    )

    listing = await client.get(
        "/api/v1/posts", params={"channel_id": str(other.channel_id)}, headers=shop.seller.headers
    )
    assert [p["channel_id"] for p in listing.json()["items"]] == [str(other.channel_id)]


async def test_edit_reschedule_and_delete_until_publishing_starts(
    app: FastAPI, client: httpx.AsyncClient, shop: Shop
) -> None:
    media_id = await upload_image(client, shop.seller)
    [post] = await schedule(client, shop.seller, [shop.channel_id], [media_id])
    later = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    response = await client.patch(
        f"/api/v1/posts/{post['id']}",
        json={"caption": "New words", "scheduled_at": later},
        headers=shop.seller.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["caption"] == "New words"

    response = await client.patch(
        f"/api/v1/posts/{post['id']}", json={"draft": True}, headers=shop.seller.headers
    )
    assert response.json()["status"] == "draft"
    response = await client.patch(
        f"/api/v1/posts/{post['id']}", json={"caption": "#a " * 31}, headers=shop.seller.headers
    )
    assert response.status_code == 200, "a draft is not checked"
    response = await client.patch(
        f"/api/v1/posts/{post['id']}", json={"draft": False}, headers=shop.seller.headers
    )
    assert "caption" in _errors(response), "scheduling it again is"

    # Once the tick has claimed it, it is the publisher's.
    await client.patch(
        f"/api/v1/posts/{post['id']}",
        json={"caption": "Ready", "draft": False},
        headers=shop.seller.headers,
    )
    await make_due(app, post["id"])
    async with db.unit_of_work(app.state.sessionmaker) as session:
        from socialsell.publishing.repository import GlobalPosts

        await GlobalPosts(session).claim_due(
            db.utcnow(), db.utcnow() + timedelta(minutes=5), "someone", 10
        )
    for method, body in (("PATCH", {"caption": "Too late"}), ("DELETE", None)):
        response = await client.request(
            method, f"/api/v1/posts/{post['id']}", json=body, headers=shop.seller.headers
        )
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "post_locked"
    assert (await post_row(app, post["id"])).caption == "Ready"


async def test_calendar_groups_by_day_in_the_workspace_time_zone(
    app: FastAPI, client: httpx.AsyncClient, shop: Shop
) -> None:
    async with db.unit_of_work(app.state.sessionmaker) as session:
        await session.execute(update(Workspace).values(timezone="America/Sao_Paulo"))
    media_id = await upload_image(client, shop.seller)
    # 2030-03-10 01:30 UTC is still March 9th in São Paulo (UTC-3).
    for moment in ("2030-03-10T01:30:00+00:00", "2030-03-10T15:00:00+00:00"):
        await schedule(client, shop.seller, [shop.channel_id], [media_id], scheduled_at=moment)
    response = await client.get(
        "/api/v1/calendar",
        params={"from": "2030-03-01", "to": "2030-03-31"},
        headers=shop.seller.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["timezone"] == "America/Sao_Paulo"
    assert [(d["date"], len(d["posts"])) for d in body["days"]] == [
        ("2030-03-09", 1),
        ("2030-03-10", 1),
    ]
    response = await client.get(
        "/api/v1/calendar",
        params={"from": "2030-03-31", "to": "2030-03-01"},
        headers=shop.seller.headers,
    )
    assert _errors(response)["to"] == ["`to` must not be before `from`."]


async def test_every_post_and_media_route_answers_404_to_another_workspace(
    app: FastAPI, client: httpx.AsyncClient, shop: Shop
) -> None:
    media_id = await upload_image(client, shop.seller)
    [post] = await schedule(client, shop.seller, [shop.channel_id], [media_id])
    for method, path, body in (
        ("GET", f"/api/v1/posts/{post['id']}", None),
        ("PATCH", f"/api/v1/posts/{post['id']}", {"caption": "mine now"}),
        ("DELETE", f"/api/v1/posts/{post['id']}", None),
        ("POST", f"/api/v1/posts/{post['id']}/retry", None),
        ("GET", f"/api/v1/media/{media_id}", None),
        ("DELETE", f"/api/v1/media/{media_id}", None),
    ):
        await assert_other_workspace_gets_404(client, method, path, json=body)
    # Listings and the calendar show nothing of it; a post on its channel or media is refused.
    from tests.helpers.factories import register

    outsider = await register(client, name="Outsider")
    listing = await client.get("/api/v1/posts", headers=outsider.headers)
    assert listing.json()["items"] == []
    media = await client.get("/api/v1/media", headers=outsider.headers)
    assert media.json()["items"] == []
    response = await client.post(
        "/api/v1/posts",
        json={
            "channel_ids": [str(shop.channel_id)],
            "kind": "feed",
            "media_ids": [media_id],
            "draft": True,
        },
        headers=outsider.headers,
    )
    errors = _errors(response)
    assert errors["channel_ids.0"] == ["This channel does not exist."]
    assert errors.get("media_ids.0") in (None, ["This media file does not exist."])
    assert (await post_row(app, post["id"])).status == "scheduled"
    assert await tick(app) == 0
