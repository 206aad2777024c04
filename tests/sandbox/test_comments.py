"""Comments on media: persona comments by webhook, listing, replies, hiding, deleting."""

from __future__ import annotations

from typing import Any

from meta_sandbox.testing import WebhookReceiver

from .conftest import IG, error_of
from .shapes import assert_matches_fixture


def seed_post(ig: IG, caption: str = "New collection") -> dict[str, Any]:
    response = ig.sandbox.client.post(
        f"/_sandbox/instagram/accounts/{ig.id}/media", json={"caption": caption}
    )
    response.raise_for_status()
    post: dict[str, Any] = response.json()
    return post


def comment(ig: IG, media_id: str, text: str, who: str = "carla", **extra: Any) -> dict[str, Any]:
    response = ig.sandbox.client.post(
        f"/_sandbox/instagram/accounts/{ig.id}/comments",
        json={"from_username": who, "media_id": media_id, "text": text, **extra},
    )
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


def test_persona_comment_is_delivered(hooked: IG, webhook_receiver: WebhookReceiver) -> None:
    post = seed_post(hooked)
    made = comment(hooked, post["id"], "How much?")
    payload = webhook_receiver.wait_for(1)[0].json()
    assert_matches_fixture(payload, "ig_webhook_comment.json")
    change = payload["entry"][0]["changes"][0]
    assert change["field"] == "comments"
    assert change["value"] == {
        "from": {"id": made["persona"]["id"], "username": "carla"},
        "media": {"id": post["id"], "media_product_type": "FEED"},
        "id": made["id"],
        "text": "How much?",
    }


def test_comments_field_subscription_is_required(ig: IG, webhook_receiver: WebhookReceiver) -> None:
    ig.sandbox.subscribe_webhooks("instagram", webhook_receiver.url, webhook_receiver.verify_token)
    ig.graph.post(f"/{ig.id}/subscribed_apps", params={"subscribed_fields": "messages"})
    comment(ig, seed_post(ig)["id"], "hello")
    ig.sandbox.client.post("/_sandbox/webhooks/flush")
    assert ig.sandbox.deliveries() == []


def test_list_reply_hide_delete(ig: IG) -> None:
    post = seed_post(ig)
    first = comment(ig, post["id"], "Love it")
    comment(ig, post["id"], "Size M?", who="dan")
    listed = ig.graph.get(f"/{post['id']}/comments").json()["data"]
    assert [c["text"] for c in listed] == ["Size M?", "Love it"]
    assert set(listed[0]) == {"id", "text", "timestamp"}
    reply = ig.graph.post(f"/{first['id']}/replies", params={"message": "Thank you!"})
    assert reply.status_code == 200
    replies = ig.graph.get(f"/{first['id']}/replies", params={"fields": "text,username"}).json()[
        "data"
    ]
    assert replies == [{"text": "Thank you!", "username": "shop", "id": reply.json()["id"]}]
    detail = ig.graph.get(f"/{first['id']}", params={"fields": "text,from,replies,hidden"}).json()
    assert detail["from"]["username"] == "carla"
    assert detail["replies"]["data"][0]["text"] == "Thank you!"
    assert ig.graph.post(f"/{first['id']}", params={"hide": "true"}).json() == {"success": True}
    assert ig.graph.get(f"/{first['id']}", params={"fields": "hidden"}).json()["hidden"] is True
    own = ig.graph.post(f"/{post['id']}/comments", params={"message": "Restocked!"})
    assert own.status_code == 200
    assert ig.graph.delete(f"/{own.json()['id']}").json() == {"success": True}
    assert error_of(ig.graph.get(f"/{own.json()['id']}"))["error_subcode"] == 33
    counts = ig.graph.get(f"/{post['id']}", params={"fields": "comments_count"}).json()
    assert counts["comments_count"] == 3
    empty = ig.graph.post(f"/{post['id']}/comments")
    assert error_of(empty)["code"] == 100


def test_comment_scope_is_required(ig: IG) -> None:
    post = seed_post(ig)
    token = ig.sandbox.client.post(
        "/_sandbox/tokens", json={"subject_id": ig.id, "scopes": ["instagram_business_basic"]}
    ).json()["access_token"]
    response = ig.graph.get(f"/{post['id']}/comments", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    assert error_of(response)["code"] == 10
