"""The media library: uploads sniffed by content, converted to JPEG where Instagram needs it,
measured, thumbnailed; listing; deletion refused while a post will still use the file."""

from __future__ import annotations

import io

import httpx
from fastapi import FastAPI
from PIL import Image, ImageCms

from meta_sandbox.testing import Sandbox
from socialsell.settings import Settings
from tests.helpers.instagram import Shop
from tests.publishing.helpers import image_bytes, schedule, upload


def _fetch_image(settings: Settings, url: str, client: httpx.AsyncClient) -> str:
    assert url.startswith(settings.base_url + "/media/"), url
    return url.removeprefix(settings.base_url)


async def _download(client: httpx.AsyncClient, settings: Settings, url: str) -> bytes:
    response = await client.get(_fetch_image(settings, url, client))
    assert response.status_code == 200, response.text
    return response.content


async def test_png_named_jpg_is_sniffed_and_converted_keeping_its_colour_profile(
    client: httpx.AsyncClient, settings: Settings, shop: Shop
) -> None:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    png = image_bytes(1200, 1000, fmt="PNG", mode="RGBA", icc_profile=profile)
    response = await upload(client, shop.seller, png, "holiday.jpg", "image/jpeg")
    assert response.status_code == 201, response.text
    media = response.json()
    assert media["kind"] == "image"
    assert media["content_type"] == "image/jpeg"
    assert media["converted_from"] == "image/png"
    assert (media["width"], media["height"]) == (1200, 1000)
    assert media["aspect_ratio"] == 1.2
    assert media["duration_seconds"] is None
    assert media["original_filename"] == "holiday.jpg"

    stored = Image.open(io.BytesIO(await _download(client, settings, media["url"])))
    assert stored.format == "JPEG"
    assert stored.mode == "RGB"
    assert stored.info.get("icc_profile") == profile
    thumb = Image.open(io.BytesIO(await _download(client, settings, media["thumbnail_url"])))
    assert thumb.format == "JPEG"
    assert max(thumb.size) <= 480


async def test_webp_is_converted_and_jpeg_is_kept_as_it_is(
    client: httpx.AsyncClient, settings: Settings, shop: Shop
) -> None:
    response = await upload(client, shop.seller, image_bytes(800, 800, fmt="WEBP"), "a.webp")
    assert response.json()["converted_from"] == "image/webp"
    jpeg = image_bytes(1080, 1350)
    response = await upload(client, shop.seller, jpeg, "b.png", "image/png")
    media = response.json()
    assert media["converted_from"] is None
    assert media["aspect_ratio"] == 0.8
    assert await _download(client, settings, media["url"]) == jpeg


async def test_what_is_not_a_photo_or_video_is_refused(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    response = await upload(client, shop.seller, b"%PDF-1.7 not an image at all", "photo.jpg")
    assert response.status_code == 415
    assert "not a photo or video" in response.json()["message"]
    response = await upload(client, shop.seller, b"\xff\xd8\xff\xe0 broken jpeg", "x.jpg")
    assert response.status_code == 415
    assert response.json()["message"] == "This image is damaged or cannot be read."
    response = await upload(client, shop.seller, b"", "x.jpg")
    assert response.status_code == 422


async def test_uploads_over_the_limit_are_refused(
    app: FastAPI, client: httpx.AsyncClient, shop: Shop
) -> None:
    app.state.settings = app.state.settings.model_copy(
        update={"publishing_max_upload_bytes": 50_000}
    )
    response = await upload(client, shop.seller, image_bytes(1500, 1500, quality=100) * 3)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


async def test_video_is_measured_from_its_header(
    client: httpx.AsyncClient, sandbox: Sandbox, shop: Shop
) -> None:
    mp4 = sandbox.client.get("/_sandbox/samples/video.mp4", params={"duration": 12.5}).content
    response = await upload(client, shop.seller, mp4, "clip.bin")
    assert response.status_code == 201, response.text
    media = response.json()
    assert (media["kind"], media["content_type"]) == ("video", "video/mp4")
    assert media["duration_seconds"] == 12.5


async def test_listing_filters_by_type_and_pages(client: httpx.AsyncClient, shop: Shop) -> None:
    ids = []
    for _ in range(3):
        response = await upload(client, shop.seller, image_bytes(600, 600))
        ids.append(response.json()["id"])
    headers = shop.seller.headers
    page = (await client.get("/api/v1/media", params={"limit": 2}, headers=headers)).json()
    assert [m["id"] for m in page["items"]] == ids[::-1][:2]
    rest = (
        await client.get(
            "/api/v1/media", params={"limit": 2, "cursor": page["next_cursor"]}, headers=headers
        )
    ).json()
    assert [m["id"] for m in rest["items"]] == [ids[0]]
    assert rest["next_cursor"] is None
    videos = (await client.get("/api/v1/media", params={"type": "video"}, headers=headers)).json()
    assert videos["items"] == []


async def test_delete_is_refused_while_a_scheduled_post_uses_the_file(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    response = await upload(client, shop.seller, image_bytes())
    media_id = response.json()["id"]
    [post] = await schedule(client, shop.seller, [shop.channel_id], [media_id])
    response = await client.delete(f"/api/v1/media/{media_id}", headers=shop.seller.headers)
    assert response.status_code == 409
    assert response.json()["code"] == "media_in_use"
    assert "used by 1 post not published yet" in response.json()["message"]

    await client.delete(f"/api/v1/posts/{post['id']}", headers=shop.seller.headers)
    response = await client.delete(f"/api/v1/media/{media_id}", headers=shop.seller.headers)
    assert response.status_code == 204
    response = await client.get(f"/api/v1/media/{media_id}", headers=shop.seller.headers)
    assert response.status_code == 404
