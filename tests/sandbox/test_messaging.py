"""Instagram messaging: inbound DMs by webhook, conversations, messages, the send API and its
24-hour window."""

from __future__ import annotations

from meta_sandbox.testing import WebhookReceiver

from .conftest import IG, error_of, independent_signature
from .shapes import assert_matches_fixture

DAY = 86_400


def test_inbound_dm_is_delivered_signed_to_the_subscribed_callback(
    hooked: IG, webhook_receiver: WebhookReceiver
) -> None:
    result = hooked.inbound("alice", "Is the red dress available?")
    delivery = webhook_receiver.wait_for(1)[0]
    assert delivery.headers["content-type"] == "application/json"
    assert delivery.headers["x-hub-signature-256"] == independent_signature(
        hooked.sandbox.app_secret, delivery.body
    )
    payload = delivery.json()
    assert_matches_fixture(payload, "ig_webhook_message.json")
    event = payload["entry"][0]["messaging"][0]
    assert payload["entry"][0]["id"] == hooked.id
    assert event["recipient"] == {"id": hooked.id}
    assert event["sender"] == {"id": result["persona"]["id"]}
    assert event["message"] == {"mid": result["message_id"], "text": "Is the red dress available?"}


def test_no_delivery_without_account_subscription(
    ig: IG, webhook_receiver: WebhookReceiver
) -> None:
    ig.sandbox.subscribe_webhooks("instagram", webhook_receiver.url, webhook_receiver.verify_token)
    ig.inbound("alice", "hello?")
    ig.sandbox.client.post("/_sandbox/webhooks/flush")
    assert ig.sandbox.deliveries() == []
    ig.graph.post(f"/{ig.id}/subscribed_apps", params={"subscribed_fields": "comments"})
    ig.inbound("alice", "anyone?")  # still not subscribed to `messages`
    ig.sandbox.client.post("/_sandbox/webhooks/flush")
    assert ig.sandbox.deliveries() == []
    ig.graph.post(f"/{ig.id}/subscribed_apps", params={"subscribed_fields": "messages"})
    ig.inbound("alice", "third try")
    assert (
        webhook_receiver.wait_for(1)[0].json()["entry"][0]["messaging"][0]["message"]["text"]
        == "third try"
    )


def test_subscribed_apps_get_and_delete(ig: IG) -> None:
    assert ig.graph.get(f"/{ig.id}/subscribed_apps").json() == {"data": []}
    posted = ig.graph.post(
        f"/{ig.id}/subscribed_apps", params={"subscribed_fields": "messages,comments"}
    )
    assert_matches_fixture(posted.json(), "ig_subscribed_apps_success.json", exact=True)
    listed = ig.graph.get(f"/{ig.id}/subscribed_apps").json()["data"][0]
    assert listed["subscribed_fields"] == ["comments", "messages"]
    bad = ig.graph.post(f"/{ig.id}/subscribed_apps", params={"subscribed_fields": "feed"})
    assert error_of(bad)["code"] == 100
    assert ig.graph.delete(f"/{ig.id}/subscribed_apps").json() == {"success": True}
    assert ig.graph.get(f"/{ig.id}/subscribed_apps").json() == {"data": []}


def test_send_text_reply_within_window(ig: IG) -> None:
    ig.inbound("alice", "Hi!")
    alice = ig.persona_id("alice")
    response = ig.send_text(alice, "Hello Alice, how can I help?")
    assert response.status_code == 200
    assert_matches_fixture(response.json(), "ig_send_response.json", exact=True)
    assert response.json()["recipient_id"] == alice
    sent = ig.sandbox.client.get(f"/_sandbox/instagram/accounts/{ig.id}/sent").json()["data"]
    assert [m["text"] for m in sent] == ["Hello Alice, how can I help?"]
    assert sent[0]["id"] == response.json()["message_id"]
    assert sent[0]["persona"] == "alice"


def test_me_messages_alias_and_form_encoded_params(ig: IG) -> None:
    ig.inbound("alice", "Hi!")
    alice = ig.persona_id("alice")
    response = ig.graph.post(
        "/me/messages", data={"recipient": f'{{"id":"{alice}"}}', "message": '{"text":"form"}'}
    )
    assert response.status_code == 200, response.text


def test_window_closes_after_24_hours(ig: IG) -> None:
    ig.inbound("alice", "Hi!")
    alice = ig.persona_id("alice")
    ig.sandbox.advance(DAY + 1)
    closed = ig.send_text(alice, "Sorry for the delay")
    assert closed.status_code == 400
    error = error_of(closed)
    assert (error["code"], error["error_subcode"]) == (10, 2534022)
    assert error["message"] == "This message is sent outside of allowed window."
    tagged = ig.send_text(alice, "A human here", messaging_type="MESSAGE_TAG", tag="HUMAN_AGENT")
    assert tagged.status_code == 200
    ig.sandbox.advance(7 * DAY)
    assert (
        ig.send_text(alice, "late", messaging_type="MESSAGE_TAG", tag="HUMAN_AGENT").status_code
        == 400
    )
    ig.inbound("alice", "back again")  # a new message opens the window again
    assert ig.send_text(alice, "Welcome back").status_code == 200


def test_business_cannot_write_first(ig: IG) -> None:
    persona = ig.sandbox.client.post(
        "/_sandbox/instagram/personas", json={"username": "bob"}
    ).json()
    assert error_of(ig.send_text(persona["id"], "Buy now!"))["error_subcode"] == 2534022


def test_send_errors(ig: IG) -> None:
    ig.inbound("alice", "Hi!")
    alice = ig.persona_id("alice")
    unknown = ig.send_text("999", "hello")
    assert (error_of(unknown)["code"], error_of(unknown)["error_subcode"]) == (100, 2018001)
    too_long = ig.send_text(alice, "é" * 501)  # 1002 bytes
    assert error_of(too_long)["code"] == 100
    assert "1000" in error_of(too_long)["message"]
    no_recipient = ig.graph.post(f"/{ig.id}/messages", json={"message": {"text": "x"}})
    assert error_of(no_recipient)["code"] == 100
    no_token = ig.sandbox.client.post(f"/v23.0/{ig.id}/messages", json={})
    assert error_of(no_token)["code"] in (190, 2500)


def test_send_image_by_url_and_bad_url(ig: IG) -> None:
    ig.inbound("alice", "Photo please")
    alice = ig.persona_id("alice")
    image = f"{ig.sandbox.url}/_sandbox/samples/image.jpg?width=640&height=640"
    ok = ig.graph.post(
        f"/{ig.id}/messages",
        json={
            "recipient": {"id": alice},
            "message": {"attachment": {"type": "image", "payload": {"url": image}}},
        },
    )
    assert ok.status_code == 200, ok.text
    sent = ig.sandbox.client.get(f"/_sandbox/instagram/accounts/{ig.id}/sent").json()["data"][-1]
    assert sent["attachments"] == [{"type": "image", "payload": {"url": image}}]
    broken = ig.graph.post(
        f"/{ig.id}/messages",
        json={
            "recipient": {"id": alice},
            "message": {
                "attachment": {
                    "type": "image",
                    "payload": {"url": f"{ig.sandbox.url}/_sandbox/cdn/missing"},
                }
            },
        },
    )
    assert (error_of(broken)["code"], error_of(broken)["error_subcode"]) == (100, 2018047)


def test_reply_to_a_message_and_reactions(hooked: IG, webhook_receiver: WebhookReceiver) -> None:
    first = hooked.inbound("alice", "Do you ship to Italy?")
    alice = hooked.persona_id("alice")
    reply = hooked.send_text(alice, "Yes!", reply_to={"message_id": first["message_id"]})
    assert reply.status_code == 200
    bad = hooked.send_text(alice, "Yes!", reply_to={"message_id": "nope"})
    assert error_of(bad)["code"] == 100
    react = hooked.graph.post(
        f"/{hooked.id}/messages",
        json={
            "recipient": {"id": alice},
            "sender_action": "react",
            "payload": {"message_id": first["message_id"], "reaction": "love"},
        },
    )
    assert react.json() == {"recipient_id": alice}
    hooked.inbound("alice", type="reaction", text=None)
    hooked.inbound("alice", type="read", text=None)
    events = webhook_receiver.wait_for_entries(4)
    kinds = [
        next(k for k in ("message", "reaction", "read") if k in m)
        for e in events
        for m in e["messaging"]
    ]
    assert kinds.count("reaction") == 1
    assert kinds.count("read") == 1
    echo = next(m for e in events for m in e["messaging"] if m.get("message", {}).get("is_echo"))
    assert echo["sender"] == {"id": hooked.id}
    assert echo["recipient"] == {"id": alice}
    assert echo["message"]["reply_to"] == {"mid": first["message_id"]}
    reaction = next(m for e in events for m in e["messaging"] if "reaction" in m)
    assert reaction["reaction"]["mid"] == reply.json()["message_id"]
    assert reaction["reaction"]["action"] == "react"


def test_sender_actions(ig: IG) -> None:
    ig.inbound("alice", "Hi")
    alice = ig.persona_id("alice")
    for action in ("typing_on", "typing_off", "mark_seen"):
        response = ig.graph.post(
            "/me/messages", json={"recipient": {"id": alice}, "sender_action": action}
        )
        assert response.json() == {"recipient_id": alice}
    mixed = ig.graph.post(
        "/me/messages",
        json={"recipient": {"id": alice}, "sender_action": "typing_on", "message": {"text": "x"}},
    )
    assert error_of(mixed)["code"] == 100


def test_story_mention_story_reply_and_image_payloads(
    hooked: IG, webhook_receiver: WebhookReceiver
) -> None:
    hooked.inbound("alice", None, type="story_mention")
    hooked.inbound("alice", "Love this!", type="story_reply", story_id="1799")
    hooked.inbound("alice", None, type="image")
    messages = [m["message"] for e in webhook_receiver.wait_for_entries(3) for m in e["messaging"]]
    assert messages[0]["attachments"][0]["type"] == "story_mention"
    assert messages[0]["attachments"][0]["payload"]["url"].startswith("http")
    assert messages[1]["reply_to"]["story"]["id"] == "1799"
    assert messages[1]["text"] == "Love this!"
    assert messages[2]["attachments"][0]["type"] == "image"


def test_conversations_and_messages_with_paging(ig: IG) -> None:
    for name in ("alice", "bob", "carol"):
        ig.inbound(name, f"hi from {name}")
        ig.sandbox.advance(1)
    listed = ig.graph.get(f"/{ig.id}/conversations", params={"platform": "instagram"}).json()
    assert_matches_fixture(listed, "ig_conversations.json")
    assert len(listed["data"]) == 3
    page1 = ig.graph.get("/me/conversations", params={"limit": 2}).json()
    assert len(page1["data"]) == 2
    assert "next" in page1["paging"]
    page2 = ig.graph.get(
        "/me/conversations", params={"limit": 2, "after": page1["paging"]["cursors"]["after"]}
    ).json()
    assert len(page2["data"]) == 1
    assert "next" not in page2["paging"]
    assert {c["id"] for c in page1["data"]} | {page2["data"][0]["id"]} == {
        c["id"] for c in listed["data"]
    }
    alice = ig.persona_id("alice")
    one = ig.graph.get("/me/conversations", params={"user_id": alice}).json()
    assert list(one["data"][0]) == ["id"]
    conv = ig.graph.get(f"/{one['data'][0]['id']}", params={"fields": "messages"}).json()
    assert_matches_fixture(conv, "ig_conversation_messages.json")
    assert set(conv) == {"id", "messages"}
    mid = conv["messages"]["data"][0]["id"]
    detail = ig.graph.get(f"/{mid}", params={"fields": "id,created_time,from,to,message"}).json()
    assert_matches_fixture(detail, "ig_message_detail.json", exact=True)
    assert detail["from"] == {"username": "alice", "id": alice}
    assert detail["to"]["data"][0] == {"username": "shop", "id": ig.id}
    assert detail["message"] == "hi from alice"
    default = ig.graph.get(f"/{mid}").json()
    assert set(default) == {"id", "created_time"}


def test_only_the_20_most_recent_messages_are_readable(ig: IG) -> None:
    first = ig.inbound("alice", "message 0")
    for i in range(1, 21):
        ig.inbound("alice", f"message {i}")
    old = ig.graph.get(f"/{first['message_id']}", params={"fields": "message"})
    assert error_of(old)["code"] == 100
    conv = ig.graph.get(
        f"/{first['conversation_id']}", params={"fields": "messages", "limit": 5}
    ).json()
    assert len(conv["messages"]["data"]) == 5
    assert "next" in conv["messages"]["paging"]


def test_another_accounts_objects_are_invisible(ig: IG) -> None:
    other = ig.sandbox.create_account("other_shop")
    mine = ig.inbound("alice", "hi")
    response = ig.graph.get(f"/{other['id']}", params={"fields": "username"})
    assert (error_of(response)["code"], error_of(response)["error_subcode"]) == (100, 33)
    theirs = ig.sandbox.client.get(
        f"/v23.0/{mine['conversation_id']}",
        headers={"Authorization": f"Bearer {other['access_token']}"},
    )
    assert error_of(theirs)["error_subcode"] == 33


def test_private_reply_to_a_comment_once(ig: IG) -> None:
    media = ig.sandbox.client.post(
        f"/_sandbox/instagram/accounts/{ig.id}/media", json={"caption": "New in"}
    ).json()
    comment = ig.sandbox.client.post(
        f"/_sandbox/instagram/accounts/{ig.id}/comments",
        json={"from_username": "dave", "media_id": media["id"], "text": "price?"},
    ).json()
    body = {"recipient": {"comment_id": comment["id"]}, "message": {"text": "Sent you a DM!"}}
    first = ig.graph.post(f"/{ig.id}/messages", json=body)
    assert first.status_code == 200
    assert first.json()["recipient_id"] == comment["persona"]["id"]
    again = ig.graph.post(f"/{ig.id}/messages", json=body)
    assert (error_of(again)["code"], error_of(again)["error_subcode"]) == (10, 2534025)


def test_user_profile_needs_the_persons_consent(ig: IG) -> None:
    media = ig.sandbox.client.post(f"/_sandbox/instagram/accounts/{ig.id}/media", json={}).json()
    commenter = ig.sandbox.client.post(
        f"/_sandbox/instagram/accounts/{ig.id}/comments",
        json={"from_username": "erin", "media_id": media["id"], "text": "nice"},
    ).json()["persona"]
    no_consent = ig.graph.get(f"/{commenter['id']}", params={"fields": "name,username"})
    assert error_of(no_consent)["code"] == 230
    ig.inbound("erin", "hello!")
    profile = ig.graph.get(
        f"/{commenter['id']}",
        params={"fields": "name,username,profile_pic,follower_count,is_user_follow_business"},
    ).json()
    assert profile["username"] == "erin"
    assert profile["name"] == "Erin"
    assert profile["profile_pic"].startswith("http")
    assert profile["is_user_follow_business"] is True
