"""Instagram API with Instagram Login: request shapes as the reference states, typed results."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
import respx

from socialsell.meta import (
    InstagramClient,
    MetaClient,
    OutsideMessagingWindow,
    iterate_pages,
)

from .helpers import IG, TOKEN, graph_error, json_body

IG_ID = "17841400000"


@pytest.fixture
def account(meta: MetaClient) -> InstagramClient:
    return meta.instagram(TOKEN, IG_ID)


def ok(payload: object) -> httpx.Response:
    return httpx.Response(200, json=payload)


# --- profile, auth header --------------------------------------------------------------------


async def test_profile_request_uses_bearer_and_versioned_path(
    meta: MetaClient, router: respx.MockRouter
) -> None:
    route = router.get(f"{IG}/me").mock(
        return_value=ok(
            {
                "id": "app-scoped",
                "user_id": 17841400000,
                "username": "shop",
                "account_type": "Business",
                "followers_count": 1200,
            }
        )
    )

    profile = await meta.instagram(TOKEN).get_profile()

    request = route.calls.last.request
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert "access_token" not in request.url.params
    assert request.url.params["fields"].split(",")[:3] == ["id", "user_id", "username"]
    assert profile.user_id == "17841400000"
    assert profile.followers_count == 1200
    assert profile.account_type == "Business"


async def test_profile_accepts_the_documented_data_wrapper(
    meta: MetaClient, router: respx.MockRouter
) -> None:
    router.get(f"{IG}/me").mock(return_value=ok({"data": [{"id": "1", "username": "shop"}]}))

    profile = await meta.instagram(TOKEN).get_profile(fields=("id", "username"))

    assert profile.username == "shop"


def test_client_repr_hides_token(account: InstagramClient) -> None:
    assert TOKEN not in repr(account)


# --- media paging ----------------------------------------------------------------------------


async def test_media_list_pages_with_after_cursor(
    account: InstagramClient, router: respx.MockRouter
) -> None:
    route = router.get(f"{IG}/{IG_ID}/media").mock(
        side_effect=[
            ok(
                {
                    "data": [
                        {"id": "m1", "media_type": "IMAGE", "timestamp": "2026-11-01T10:00:00+0000"}
                    ],
                    "paging": {
                        "cursors": {"before": "B1", "after": "A1"},
                        "next": f"{IG}/{IG_ID}/media?after=A1",
                    },
                }
            ),
            ok({"data": [{"id": "m2"}], "paging": {"cursors": {"before": "B2", "after": "A2"}}}),
        ]
    )

    first = await account.list_media(limit=1)
    second = await account.list_media(after=first.next_cursor, limit=1)

    assert [m.id for m in first.data] == ["m1"]
    assert first.data[0].timestamp == datetime(2026, 11, 1, 10, tzinfo=UTC)
    assert first.next_cursor == "A1"
    assert route.calls[0].request.url.params["limit"] == "1"
    assert "after" not in route.calls[0].request.url.params
    assert route.calls[1].request.url.params["after"] == "A1"
    # no `next` link: the last page, whatever cursor Meta still returns
    assert second.next_cursor is None
    assert not second.has_next


async def test_empty_listing(account: InstagramClient, router: respx.MockRouter) -> None:
    router.get(f"{IG}/{IG_ID}/media").mock(return_value=ok({"data": []}))

    page = await account.list_media()

    assert page.data == []
    assert page.next_cursor is None


# --- conversations and messages --------------------------------------------------------------


async def test_conversations_request_and_parse(
    account: InstagramClient, router: respx.MockRouter
) -> None:
    route = router.get(f"{IG}/{IG_ID}/conversations").mock(
        return_value=ok(
            {
                "data": [{"id": "conv1", "updated_time": "2026-11-02T08:00:00+0000"}],
                "paging": {"cursors": {"after": "X"}, "next": "https://n"},
            }
        )
    )

    page = await account.list_conversations(user_id="igsid-9")

    params = route.calls.last.request.url.params
    assert params["platform"] == "instagram"
    assert params["user_id"] == "igsid-9"
    assert page.data[0].id == "conv1"
    assert page.next_cursor == "X"


async def test_messages_of_a_conversation(
    account: InstagramClient, router: respx.MockRouter
) -> None:
    route = router.get(f"{IG}/conv1").mock(
        return_value=ok(
            {
                "id": "conv1",
                "messages": {
                    "data": [
                        {"id": "mid.2", "created_time": "2026-11-02T08:00:00+0000"},
                        {"id": "mid.1", "created_time": "2026-11-02T07:00:00+0000"},
                    ]
                },
            }
        )
    )

    page = await account.list_messages("conv1")

    assert route.calls.last.request.url.params["fields"] == "messages"
    assert [m.id for m in page.data] == ["mid.2", "mid.1"]


async def test_message_details(account: InstagramClient, router: respx.MockRouter) -> None:
    route = router.get(f"{IG}/mid.1").mock(
        return_value=ok(
            {
                "id": "mid.1",
                "created_time": "2022-07-12T19:11:07+0000",
                "to": {"data": [{"username": "shop", "id": IG_ID}]},
                "from": {"username": "alice", "id": "igsid-9"},
                "message": "Hi",
            }
        )
    )

    message = await account.get_message("mid.1")

    assert route.calls.last.request.url.params["fields"] == "id,created_time,from,to,message"
    assert message.sender is not None
    assert message.sender.username == "alice"
    assert [r.id for r in message.recipients] == [IG_ID]
    assert message.message == "Hi"


# --- sending ---------------------------------------------------------------------------------


async def test_send_text_body(account: InstagramClient, router: respx.MockRouter) -> None:
    route = router.post(f"{IG}/{IG_ID}/messages").mock(
        return_value=ok({"recipient_id": "igsid-9", "message_id": "mid.9"})
    )

    result = await account.send_text("igsid-9", "Hello 👋")

    assert json_body(route.calls.last.request) == {
        "recipient": {"id": "igsid-9"},
        "message": {"text": "Hello 👋"},
    }
    assert result.message_id == "mid.9"
    assert result.recipient_id == "igsid-9"


async def test_send_text_limit_is_in_bytes(account: InstagramClient) -> None:
    # 334 three-byte characters = 1002 bytes, below 1000 characters
    with pytest.raises(ValueError, match="1000 UTF-8 bytes"):
        await account.send_text("igsid-9", "€" * 334)


async def test_send_image_by_url(account: InstagramClient, router: respx.MockRouter) -> None:
    route = router.post(f"{IG}/{IG_ID}/messages").mock(
        return_value=ok({"recipient_id": "igsid-9", "message_id": "mid.10"})
    )

    await account.send_image("igsid-9", "https://cdn.test/p.jpg")

    assert json_body(route.calls.last.request) == {
        "recipient": {"id": "igsid-9"},
        "message": {"attachment": {"type": "image", "payload": {"url": "https://cdn.test/p.jpg"}}},
    }


async def test_reply_to_a_message_with_human_agent_tag(
    account: InstagramClient, router: respx.MockRouter
) -> None:
    route = router.post(f"{IG}/{IG_ID}/messages").mock(
        return_value=ok({"recipient_id": "igsid-9", "message_id": "mid.12"})
    )

    await account.send_text("igsid-9", "Sorry for the wait", reply_to="mid.1", human_agent=True)

    assert json_body(route.calls.last.request) == {
        "recipient": {"id": "igsid-9"},
        "message": {"text": "Sorry for the wait"},
        "reply_to": {"message_id": "mid.1"},
        "messaging_type": "MESSAGE_TAG",
        "tag": "HUMAN_AGENT",
    }


async def test_private_reply_to_comment(account: InstagramClient, router: respx.MockRouter) -> None:
    route = router.post(f"{IG}/{IG_ID}/messages").mock(
        return_value=ok({"recipient_id": "igsid-9", "message_id": "mid.11"})
    )

    await account.send_private_reply("comment-1", "Sent you the price")

    assert json_body(route.calls.last.request) == {
        "recipient": {"comment_id": "comment-1"},
        "message": {"text": "Sent you the price"},
    }


async def test_reaction_body(account: InstagramClient, router: respx.MockRouter) -> None:
    route = router.post(f"{IG}/{IG_ID}/messages").mock(
        return_value=ok({"recipient_id": "igsid-9", "message_id": "mid.1"})
    )

    await account.send_reaction("igsid-9", "mid.1", "love")

    assert json_body(route.calls.last.request) == {
        "recipient": {"id": "igsid-9"},
        "sender_action": "react",
        "payload": {"message_id": "mid.1", "reaction": "love"},
    }


async def test_sender_action_sends_nothing_else(
    account: InstagramClient, router: respx.MockRouter
) -> None:
    route = router.post(f"{IG}/{IG_ID}/messages").mock(return_value=ok({"recipient_id": "igsid-9"}))

    await account.send_sender_action("igsid-9", "typing_on")

    assert json_body(route.calls.last.request) == {
        "recipient": {"id": "igsid-9"},
        "sender_action": "typing_on",
    }


async def test_send_outside_window_is_typed(
    account: InstagramClient, router: respx.MockRouter
) -> None:
    router.post(f"{IG}/{IG_ID}/messages").mock(
        return_value=graph_error(10, 2534022, message="(#10) outside of allowed window")
    )

    with pytest.raises(OutsideMessagingWindow):
        await account.send_text("igsid-9", "late")


# --- publishing ------------------------------------------------------------------------------


async def test_image_container_body(account: InstagramClient, router: respx.MockRouter) -> None:
    route = router.post(f"{IG}/{IG_ID}/media").mock(return_value=ok({"id": "c1"}))

    container_id = await account.create_image_container(
        "https://cdn.test/a.jpg",
        caption="New in #shop",
        alt_text="A red bag",
        user_tags=[{"username": "bob", "x": 0.5, "y": 0.5}],
    )

    assert container_id == "c1"
    assert json_body(route.calls.last.request) == {
        "image_url": "https://cdn.test/a.jpg",
        "caption": "New in #shop",
        "alt_text": "A red bag",
        "user_tags": [{"username": "bob", "x": 0.5, "y": 0.5}],
    }


async def test_carousel_item_and_carousel_bodies(
    account: InstagramClient, router: respx.MockRouter
) -> None:
    route = router.post(f"{IG}/{IG_ID}/media").mock(
        side_effect=[ok({"id": "i1"}), ok({"id": "i2"}), ok({"id": "car"})]
    )

    first = await account.create_image_container("https://cdn.test/1.jpg", is_carousel_item=True)
    second = await account.create_video_carousel_item("https://cdn.test/2.mp4")
    carousel = await account.create_carousel_container([first, second], caption="Two looks")

    bodies = [json_body(call.request) for call in route.calls]
    assert bodies == [
        {"image_url": "https://cdn.test/1.jpg", "is_carousel_item": True},
        {"video_url": "https://cdn.test/2.mp4", "media_type": "VIDEO", "is_carousel_item": True},
        {"media_type": "CAROUSEL", "children": "i1,i2", "caption": "Two looks"},
    ]
    assert carousel == "car"


@pytest.mark.parametrize("children", [["only"], [str(i) for i in range(11)]])
async def test_carousel_needs_two_to_ten_children(
    account: InstagramClient, children: list[str]
) -> None:
    with pytest.raises(ValueError, match="2 to 10"):
        await account.create_carousel_container(children)


async def test_carousel_item_takes_no_caption(account: InstagramClient) -> None:
    with pytest.raises(ValueError, match="no caption"):
        await account.create_image_container("https://x/a.jpg", caption="c", is_carousel_item=True)


async def test_reels_container_body(account: InstagramClient, router: respx.MockRouter) -> None:
    route = router.post(f"{IG}/{IG_ID}/media").mock(return_value=ok({"id": "r1"}))

    await account.create_reels_container(
        "https://cdn.test/r.mp4", caption="Reel", share_to_feed=True, thumb_offset_ms=1500
    )

    assert json_body(route.calls.last.request) == {
        "media_type": "REELS",
        "video_url": "https://cdn.test/r.mp4",
        "caption": "Reel",
        "share_to_feed": True,
        "thumb_offset": 1500,
    }


async def test_story_container_body(account: InstagramClient, router: respx.MockRouter) -> None:
    route = router.post(f"{IG}/{IG_ID}/media").mock(return_value=ok({"id": "s1"}))

    await account.create_story_container(image_url="https://cdn.test/s.jpg")

    assert json_body(route.calls.last.request) == {
        "media_type": "STORIES",
        "image_url": "https://cdn.test/s.jpg",
    }


async def test_story_takes_exactly_one_media(account: InstagramClient) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        await account.create_story_container()


async def test_container_status(account: InstagramClient, router: respx.MockRouter) -> None:
    route = router.get(f"{IG}/c1").mock(
        return_value=ok({"id": "c1", "status_code": "ERROR", "status": "Error: 2207026"})
    )

    container = await account.get_container("c1")

    assert "status_code" in route.calls.last.request.url.params["fields"].split(",")
    assert container.status_code == "ERROR"
    assert container.status == "Error: 2207026"


async def test_publish_body(account: InstagramClient, router: respx.MockRouter) -> None:
    route = router.post(f"{IG}/{IG_ID}/media_publish").mock(return_value=ok({"id": "media-1"}))

    media_id = await account.publish("c1")

    assert json_body(route.calls.last.request) == {"creation_id": "c1"}
    assert media_id == "media-1"


async def test_publishing_limit(account: InstagramClient, router: respx.MockRouter) -> None:
    route = router.get(f"{IG}/{IG_ID}/content_publishing_limit").mock(
        return_value=ok(
            {"data": [{"quota_usage": 2, "config": {"quota_total": 50, "quota_duration": 86400}}]}
        )
    )

    limit = await account.get_publishing_limit(since=datetime(2026, 11, 1, tzinfo=UTC))

    params = route.calls.last.request.url.params
    assert params["fields"] == "quota_usage,config"
    assert params["since"] == str(int(datetime(2026, 11, 1, tzinfo=UTC).timestamp()))
    assert (limit.quota_usage, limit.quota_total, limit.quota_duration) == (2, 50, 86400)


# --- insights --------------------------------------------------------------------------------


async def test_account_insights_total_value_with_breakdown(
    account: InstagramClient, router: respx.MockRouter
) -> None:
    route = router.get(f"{IG}/{IG_ID}/insights").mock(
        return_value=ok(
            {
                "data": [
                    {
                        "name": "reach",
                        "period": "day",
                        "title": "Accounts reached",
                        "total_value": {
                            "value": 224,
                            "breakdowns": [
                                {
                                    "dimension_keys": ["media_product_type"],
                                    "results": [{"dimension_values": ["POST"], "value": 124}],
                                }
                            ],
                        },
                        "id": f"{IG_ID}/insights/reach/day",
                    }
                ]
            }
        )
    )

    metrics = await account.get_account_insights(
        ["reach", "views"],
        metric_type="total_value",
        breakdown=["media_product_type"],
        since=1_761_955_200,
        until=1_762_041_600,
    )

    params = route.calls.last.request.url.params
    assert params["metric"] == "reach,views"
    assert params["period"] == "day"
    assert params["metric_type"] == "total_value"
    assert params["breakdown"] == "media_product_type"
    assert (params["since"], params["until"]) == ("1761955200", "1762041600")
    assert "timeframe" not in params
    reach = metrics[0]
    assert reach.total_value is not None
    assert reach.total_value.value == 224
    assert reach.total_value.breakdowns[0].results[0].dimension_values == ["POST"]


async def test_account_insights_time_series(
    account: InstagramClient, router: respx.MockRouter
) -> None:
    router.get(f"{IG}/{IG_ID}/insights").mock(
        return_value=ok(
            {
                "data": [
                    {
                        "name": "reach",
                        "period": "day",
                        "values": [
                            {"value": 10, "end_time": "2022-08-01T07:00:00+0000"},
                            {"value": 12, "end_time": "2022-08-02T07:00:00+0000"},
                        ],
                    }
                ]
            }
        )
    )

    [reach] = await account.get_account_insights(["reach"], metric_type="time_series")

    assert [v.value for v in reach.values] == [10, 12]
    assert reach.values[1].end_time == datetime(2022, 8, 2, 7, tzinfo=UTC)


async def test_media_insights(account: InstagramClient, router: respx.MockRouter) -> None:
    route = router.get(f"{IG}/media-1/insights").mock(
        return_value=ok(
            {"data": [{"name": "likes", "period": "lifetime", "values": [{"value": 7}]}]}
        )
    )

    [likes] = await account.get_media_insights("media-1", ["likes", "reach"])

    assert route.calls.last.request.url.params["metric"] == "likes,reach"
    assert likes.values[0].value == 7


# --- comments --------------------------------------------------------------------------------


async def test_comments_list_reply_hide(account: InstagramClient, router: respx.MockRouter) -> None:
    listing = router.get(f"{IG}/media-1/comments").mock(
        return_value=ok(
            {
                "data": [
                    {
                        "id": "cm1",
                        "text": "price?",
                        "from": {"id": "igsid-9", "username": "alice"},
                        "hidden": False,
                    }
                ]
            }
        )
    )
    reply = router.post(f"{IG}/cm1/replies").mock(return_value=ok({"id": "cm2"}))
    hide = router.post(f"{IG}/cm1").mock(return_value=ok({"success": True}))

    page = await account.list_comments("media-1")
    reply_id = await account.reply_to_comment("cm1", "DM sent!")
    await account.hide_comment("cm1")

    assert "text" in listing.calls.last.request.url.params["fields"].split(",")
    assert page.data[0].sender is not None
    assert page.data[0].sender.username == "alice"
    assert reply_id == "cm2"
    assert json_body(reply.calls.last.request) == {"message": "DM sent!"}
    assert json_body(hide.calls.last.request) == {"hide": True}


# --- webhook subscription --------------------------------------------------------------------


async def test_subscribed_apps_post_get_delete(
    account: InstagramClient, router: respx.MockRouter
) -> None:
    post = router.post(f"{IG}/{IG_ID}/subscribed_apps").mock(return_value=ok({"success": True}))
    router.get(f"{IG}/{IG_ID}/subscribed_apps").mock(
        return_value=ok({"data": [{"subscribed_fields": ["comments", "messages"]}]})
    )
    delete = router.delete(f"{IG}/{IG_ID}/subscribed_apps").mock(return_value=ok({"success": True}))

    await account.subscribe_webhooks(["comments", "messages"])
    [app] = await account.get_webhook_subscriptions()
    await account.unsubscribe_webhooks()

    assert post.calls.last.request.url.params["subscribed_fields"] == "comments,messages"
    assert app.subscribed_fields == ["comments", "messages"]
    assert delete.call_count == 1


async def test_iterate_pages_follows_cursors_to_the_end(
    account: InstagramClient, router: respx.MockRouter
) -> None:
    route = router.get(f"{IG}/{IG_ID}/media").mock(
        side_effect=[
            ok({"data": [{"id": "m1"}], "paging": {"cursors": {"after": "A1"}, "next": "n"}}),
            ok({"data": [{"id": "m2"}], "paging": {"cursors": {"after": "A2"}, "next": "n"}}),
            ok({"data": [{"id": "m3"}], "paging": {"cursors": {"after": "A3"}}}),
        ]
    )

    ids = [m.id async for m in iterate_pages(lambda after: account.list_media(after=after))]

    assert ids == ["m1", "m2", "m3"]
    assert [c.request.url.params.get("after") for c in route.calls] == [None, "A1", "A2"]


async def test_iterate_pages_stops_on_max_pages_and_repeated_cursor(
    account: InstagramClient, router: respx.MockRouter
) -> None:
    looping = ok({"data": [{"id": "m"}], "paging": {"cursors": {"after": "SAME"}, "next": "n"}})
    route = router.get(f"{IG}/{IG_ID}/media").mock(return_value=looping)

    walked = [m async for m in iterate_pages(lambda a: account.list_media(after=a))]
    bounded = [m async for m in iterate_pages(lambda a: account.list_media(after=a), max_pages=1)]

    assert len(walked) == 2  # the repeated cursor ends the walk after one follow
    assert len(bounded) == 1
    assert route.call_count == 3
