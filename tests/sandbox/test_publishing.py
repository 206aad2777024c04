"""Content publishing: containers, processing, media_publish, limits, validation errors."""

from __future__ import annotations

from typing import Any

import httpx

from .conftest import IG, error_of
from .shapes import assert_matches_fixture

PROCESSING = 5  # container_processing_seconds in the test settings


def image_url(ig: IG, width: int = 1080, height: int = 1080, fmt: str = "JPEG") -> str:
    return f"{ig.sandbox.url}/_sandbox/samples/image.jpg?width={width}&height={height}&format={fmt}"


def video_url(ig: IG, duration: float = 10) -> str:
    return f"{ig.sandbox.url}/_sandbox/samples/video.mp4?duration={duration}"


def create(ig: IG, **params: Any) -> httpx.Response:
    return ig.graph.post(f"/{ig.id}/media", params=params)


def status(ig: IG, container_id: str) -> str:
    return str(
        ig.graph.get(f"/{container_id}", params={"fields": "status_code"}).json()["status_code"]
    )


def publish(ig: IG, container_id: str) -> httpx.Response:
    return ig.graph.post(f"/{ig.id}/media_publish", params={"creation_id": container_id})


def test_image_container_lifecycle_and_publish(ig: IG) -> None:
    created = create(
        ig, image_url=image_url(ig), caption="Spring drop #new @friend", alt_text="a dress"
    )
    assert created.status_code == 200, created.text
    assert_matches_fixture(created.json(), "ig_container_create.json", exact=True)
    container = created.json()["id"]
    assert status(ig, container) == "IN_PROGRESS"
    early = publish(ig, container)
    assert (error_of(early)["code"], error_of(early)["error_subcode"]) == (9007, 2207027)
    ig.sandbox.advance(PROCESSING)
    body = ig.graph.get(f"/{container}", params={"fields": "status_code"}).json()
    assert_matches_fixture(body, "ig_container_status.json", exact=True)
    assert body["status_code"] == "FINISHED"
    published = publish(ig, container)
    assert published.status_code == 200
    assert_matches_fixture(published.json(), "ig_media_publish.json", exact=True)
    media_id = published.json()["id"]
    assert status(ig, container) == "PUBLISHED"
    again = publish(ig, container)
    assert again.status_code == 400
    assert error_of(again)["code"] == 506
    media = ig.graph.get(
        f"/{media_id}",
        params={
            "fields": "id,media_type,media_product_type,caption,media_url,permalink,timestamp,username"
        },
    ).json()
    assert media["media_type"] == "IMAGE"
    assert media["media_product_type"] == "FEED"
    assert media["caption"] == "Spring drop #new @friend"
    assert media["username"] == "shop"
    assert httpx.get(media["media_url"]).headers["content-type"] == "image/jpeg"
    published_log = ig.sandbox.client.get(f"/_sandbox/instagram/accounts/{ig.id}/published").json()[
        "data"
    ]
    assert [m["id"] for m in published_log] == [media_id]
    assert published_log[0]["container_id"] == container


def test_container_expires_after_24_hours(ig: IG) -> None:
    container = create(ig, image_url=image_url(ig)).json()["id"]
    ig.sandbox.advance(86_400)
    assert status(ig, container) == "EXPIRED"
    response = publish(ig, container)
    assert (error_of(response)["code"], error_of(response)["error_subcode"]) == (-2, 2207020)


def test_image_validation_errors(ig: IG) -> None:
    png = create(ig, image_url=image_url(ig, fmt="PNG"))
    assert (error_of(png)["code"], error_of(png)["error_subcode"]) == (36001, 2207005)
    wide = create(ig, image_url=image_url(ig, 1920, 1000))
    assert (error_of(wide)["code"], error_of(wide)["error_subcode"]) == (36003, 2207009)
    tall = create(ig, image_url=image_url(ig, 1000, 1300))
    assert error_of(tall)["error_subcode"] == 2207009
    assert create(ig, image_url=image_url(ig, 1080, 1350)).status_code == 200  # 4:5 is fine
    missing = create(ig, image_url=f"{ig.sandbox.url}/_sandbox/cdn/nothing-here")
    assert (error_of(missing)["code"], error_of(missing)["error_subcode"]) == (9004, 2207052)
    unreachable = create(ig, image_url="http://127.0.0.1:9/x.jpg")
    assert error_of(unreachable)["error_subcode"] == 2207052
    ig.sandbox.configure(image_max_bytes=1000)
    big = create(ig, image_url=image_url(ig))
    assert (error_of(big)["code"], error_of(big)["error_subcode"]) == (36000, 2207004)
    no_url = create(ig)
    assert error_of(no_url)["code"] == 100


def test_caption_limits(ig: IG) -> None:
    url = image_url(ig)
    too_long = create(ig, image_url=url, caption="x" * 2201)
    assert (error_of(too_long)["code"], error_of(too_long)["error_subcode"]) == (36004, 2207010)
    hashtags = create(ig, image_url=url, caption=" ".join(f"#tag{i}" for i in range(6)))
    assert error_of(hashtags)["code"] == 100
    assert "hashtags" in error_of(hashtags)["message"]
    ig.sandbox.configure(caption_max_hashtags=30)
    assert (
        create(ig, image_url=url, caption=" ".join(f"#tag{i}" for i in range(30))).status_code
        == 200
    )
    mentions = create(ig, image_url=url, caption=" ".join(f"@user{i}" for i in range(21)))
    assert (error_of(mentions)["code"], error_of(mentions)["error_subcode"]) == (100, 2207040)


def test_user_tags_and_collaborators(ig: IG) -> None:
    url = image_url(ig)
    ok = ig.graph.post(
        f"/{ig.id}/media",
        json={"image_url": url, "user_tags": [{"username": "ann", "x": 0.5, "y": 0.2}]},
    )
    assert ok.status_code == 200
    off = ig.graph.post(
        f"/{ig.id}/media",
        json={"image_url": url, "user_tags": [{"username": "ann", "x": 1.5, "y": 0.2}]},
    )
    assert error_of(off)["code"] == 100
    crowd = create(ig, image_url=url, collaborators='["a","b","c","d"]')
    assert error_of(crowd)["code"] == 100


def test_unknown_media_type_and_feed_video(ig: IG) -> None:
    unknown = create(ig, image_url=image_url(ig), media_type="GIF")
    assert (error_of(unknown)["code"], error_of(unknown)["error_subcode"]) == (100, 2207023)
    feed_video = create(ig, video_url=video_url(ig))
    assert error_of(feed_video)["code"] == 100


def test_carousel(ig: IG) -> None:
    children = [
        create(ig, image_url=image_url(ig), is_carousel_item="true").json()["id"] for _ in range(3)
    ]
    with_caption = create(ig, image_url=image_url(ig), is_carousel_item="true", caption="no")
    assert error_of(with_caption)["code"] == 100
    one = create(ig, media_type="CAROUSEL", children=children[0])
    assert (error_of(one)["code"], error_of(one)["error_subcode"]) == (100, 2207028)
    eleven = create(ig, media_type="CAROUSEL", children=",".join(children * 4)[:1000])
    assert error_of(eleven)["error_subcode"] == 2207028
    carousel = create(
        ig, media_type="CAROUSEL", children=",".join(children), caption="Three looks"
    ).json()["id"]
    assert status(ig, carousel) == "IN_PROGRESS"
    ig.sandbox.advance(PROCESSING)
    assert status(ig, carousel) == "FINISHED"
    child_alone = publish(ig, children[0])
    assert error_of(child_alone)["code"] == 100
    media_id = publish(ig, carousel).json()["id"]
    media = ig.graph.get(f"/{media_id}", params={"fields": "media_type,children"}).json()
    assert media["media_type"] == "CAROUSEL_ALBUM"
    assert len(media["children"]["data"]) == 3
    kids = ig.graph.get(f"/{media_id}/children", params={"fields": "media_type"}).json()["data"]
    assert [k["media_type"] for k in kids] == ["IMAGE"] * 3
    limit = ig.graph.get(f"/{ig.id}/content_publishing_limit").json()
    assert limit == {"data": [{"quota_usage": 1}]}  # a carousel counts once


def test_reels_and_video_errors(ig: IG) -> None:
    reel = create(
        ig, media_type="REELS", video_url=video_url(ig, 12), caption="Behind the scenes"
    ).json()["id"]
    short = create(ig, media_type="REELS", video_url=video_url(ig, 1)).json()["id"]
    not_video = create(ig, media_type="REELS", video_url=image_url(ig)).json()["id"]
    ig.sandbox.advance(PROCESSING)
    assert status(ig, reel) == "FINISHED"
    for bad in (short, not_video):
        body = ig.graph.get(f"/{bad}", params={"fields": "status_code,status"}).json()
        assert body["status_code"] == "ERROR"
        assert "2207026" in body["status"]
        assert error_of(publish(ig, bad))["code"] == 100
    media = ig.graph.get(
        f"/{publish(ig, reel).json()['id']}", params={"fields": "media_type,media_product_type"}
    ).json()
    assert (media["media_type"], media["media_product_type"]) == ("VIDEO", "REELS")
    unreachable = create(ig, media_type="REELS", video_url="http://127.0.0.1:9/v.mp4")
    assert error_of(unreachable)["error_subcode"] == 2207052


def test_stories(ig: IG) -> None:
    story = create(ig, media_type="STORIES", image_url=image_url(ig, 1080, 1920)).json()["id"]
    ig.sandbox.advance(PROCESSING)
    media_id = publish(ig, story).json()["id"]
    assert (
        ig.graph.get(f"/{media_id}", params={"fields": "media_product_type"}).json()[
            "media_product_type"
        ]
        == "STORY"
    )
    assert [m["id"] for m in ig.graph.get(f"/{ig.id}/stories").json()["data"]] == [media_id]
    assert ig.graph.get(f"/{ig.id}/media").json()["data"] == []  # stories are not in the feed
    ig.sandbox.advance(86_400)
    assert ig.graph.get(f"/{ig.id}/stories").json()["data"] == []


def test_publishing_limit_enforced_and_reported(ig: IG) -> None:
    ig.sandbox.configure(publishing_quota_total=2)
    containers = [create(ig, image_url=image_url(ig)).json()["id"] for _ in range(3)]
    ig.sandbox.advance(PROCESSING)
    assert publish(ig, containers[0]).status_code == 200
    assert publish(ig, containers[1]).status_code == 200
    over = publish(ig, containers[2])
    assert (error_of(over)["code"], error_of(over)["error_subcode"]) == (9, 2207042)
    limit = ig.graph.get(
        f"/{ig.id}/content_publishing_limit", params={"fields": "quota_usage,config"}
    ).json()
    assert_matches_fixture(limit, "ig_content_publishing_limit.json", exact=True)
    assert limit["data"][0] == {
        "quota_usage": 2,
        "config": {"quota_total": 2, "quota_duration": 86400},
    }
    old_since = ig.graph.get(
        f"/{ig.id}/content_publishing_limit", params={"since": int(ig.sandbox.now()) - 90_000}
    )
    assert error_of(old_since)["code"] == 100
    ig.sandbox.advance(86_400)
    fresh = create(ig, image_url=image_url(ig)).json()["id"]
    ig.sandbox.advance(PROCESSING)
    assert publish(ig, fresh).status_code == 200  # a moving 24-hour window


def test_container_creation_limit(ig: IG) -> None:
    ig.sandbox.configure(containers_per_day=2)
    for _ in range(2):
        assert create(ig, image_url=image_url(ig)).status_code == 200
    assert error_of(create(ig, image_url=image_url(ig)))["code"] == 9


def test_media_list_paging_and_fields(ig: IG) -> None:
    containers = [
        create(ig, image_url=image_url(ig), caption=f"post {i}").json()["id"] for i in range(3)
    ]
    ig.sandbox.advance(PROCESSING)
    for container in containers:
        publish(ig, container)
        ig.sandbox.advance(60)
    first = ig.graph.get(f"/{ig.id}/media", params={"limit": 2, "fields": "id,caption"}).json()
    assert_matches_fixture(first, "ig_media_list.json")
    assert [m["caption"] for m in first["data"]] == ["post 2", "post 1"]  # newest first
    assert first["paging"]["next"].startswith(f"{ig.sandbox.url}/v23.0/{ig.id}/media?")
    second = httpx.get(
        first["paging"]["next"], headers={"Authorization": f"Bearer {ig.token}"}
    ).json()
    assert [m["caption"] for m in second["data"]] == ["post 0"]
    back = ig.graph.get(
        f"/{ig.id}/media", params={"limit": 2, "before": second["paging"]["cursors"]["before"]}
    ).json()
    assert len(back["data"]) == 2
    assert ig.graph.get("/me", params={"fields": "media_count"}).json()["media_count"] == 3
