"""Media: upload, retrieve a short-lived URL, download it with the token, delete."""

from __future__ import annotations

import hashlib
import io

import httpx
from PIL import Image

from meta_sandbox.testing import Sandbox

from .support import WA, assert_shape, expect_error, fixture

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def upload(wa: WA, data: bytes = PNG, mime: str = "image/png", **form: str) -> httpx.Response:
    return wa.post(
        f"/{wa.phone_id}/media",
        data={"messaging_product": "whatsapp", "type": mime, **form},
        files={"file": ("file.bin", data, mime)},
    )


def download(wa: WA, url: str, headers: dict[str, str] | None = None) -> httpx.Response:
    # The URL is absolute (the sandbox's public_url); fetch it as a client would.
    return httpx.get(url, headers=wa.headers if headers is None else headers)


def test_upload_retrieve_download_delete(wa: WA) -> None:
    response = upload(wa)
    assert response.status_code == 200, response.text
    assert_shape(response.json(), fixture("media_upload_response"))
    media_id = response.json()["id"]

    info = wa.get(f"/{media_id}").json()
    assert_shape(info, fixture("media_retrieve_response"))
    assert info["mime_type"] == "image/png"
    assert info["file_size"] == str(len(PNG))
    assert info["sha256"] == hashlib.sha256(PNG).hexdigest()
    assert info["url"].startswith(wa.sandbox.url)
    assert wa.get(f"/{media_id}", params={"phone_number_id": wa.phone_id}).status_code == 200

    got = download(wa, info["url"])
    assert got.status_code == 200
    assert got.content == PNG
    assert got.headers["content-type"] == "image/png"

    deleted = wa.delete(f"/{media_id}")
    assert deleted.json() == fixture("media_delete_response")
    error = expect_error(wa.get(f"/{media_id}"), 100)
    assert error["error_subcode"] == 33
    assert download(wa, info["url"]).status_code == 404


def test_download_needs_the_token_and_expires_after_five_minutes(wa: WA, sandbox: Sandbox) -> None:
    media_id = upload(wa).json()["id"]
    url = wa.get(f"/{media_id}").json()["url"]
    assert download(wa, url, headers={}).status_code == 400
    assert download(wa, url.replace("hash=", "hash=0")).status_code == 404
    sandbox.advance(5 * 60 + 1)
    assert download(wa, url).status_code == 404
    fresh = wa.get(f"/{media_id}").json()["url"]
    assert download(wa, fresh).status_code == 200


def test_upload_errors(wa: WA) -> None:
    expect_error(upload(wa, mime="application/x-msdownload"), 100)
    missing_product = wa.post(f"/{wa.phone_id}/media", files={"file": ("a.png", PNG, "image/png")})
    expect_error(missing_product, 100)
    no_file = wa.post(f"/{wa.phone_id}/media", data={"messaging_product": "whatsapp"})
    expect_error(no_file, 100)
    expect_error(wa.post(f"/{wa.phone_id}/media", json={"messaging_product": "whatsapp"}), 100)
    too_big = upload(wa, data=b"x" * (500 * 1024 + 1), mime="image/webp")
    expect_error(too_big, 100)


def test_media_of_another_number_or_business(wa: WA, sandbox: Sandbox) -> None:
    media_id = upload(wa).json()["id"]
    expect_error(wa.get(f"/{media_id}", params={"phone_number_id": "123"}), 100)
    other = WA(sandbox, subscribe=False, business_name="Other Shop")
    error = expect_error(other.get(f"/{media_id}"), 200, status=403)
    assert error["error_subcode"] == 1349174
    expect_error(other.delete(f"/{media_id}"), 200, status=403)


def test_customer_photo_is_a_real_jpeg(wa: WA) -> None:
    wa_id = wa.persona()
    inbound = wa.customer_writes(wa_id, "image", caption="This one, in red?")
    image = inbound["message"]["image"]
    info = wa.get(f"/{image['id']}").json()
    got = download(wa, info["url"])
    assert got.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(got.content)) as picture:
        assert picture.format == "JPEG"
        assert picture.size == (640, 480)
    assert info["sha256"] == hashlib.sha256(got.content).hexdigest()
