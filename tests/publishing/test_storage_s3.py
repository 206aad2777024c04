"""S3-compatible storage against moto's server (a real HTTP S3 endpoint): the storage protocol,
presigned URLs anyone can fetch until they expire, and a post published from a bucket (the
sandbox downloads the presigned URL, as Meta would)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from moto.server import ThreadedMotoServer
from pydantic import SecretStr

from meta_sandbox.testing import Sandbox
from socialsell.core.storage import build_storage
from socialsell.core.storage_s3 import S3Storage
from socialsell.settings import Settings
from tests.conftest import free_port
from tests.helpers.instagram import Shop
from tests.publishing.helpers import (
    expire_lease,
    image_bytes,
    make_due,
    post_row,
    published,
    schedule,
    tick,
    upload,
)


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def settings(settings: Settings, moto_url: str) -> Settings:
    return settings.model_copy(
        update={
            "storage_backend": "s3",
            "s3_endpoint_url": moto_url,
            "s3_bucket": f"media-{uuid.uuid4().hex[:8]}",
            "s3_access_key_id": SecretStr("testing"),
            "s3_secret_access_key": SecretStr("testing"),
            "s3_prefix": "install-1",
        }
    )


@pytest.fixture
async def storage(settings: Settings) -> S3Storage:
    built = build_storage(settings)
    assert isinstance(built, S3Storage)
    await built.ensure_bucket()
    return built


async def test_s3_storage_keeps_files_behind_expiring_urls(
    storage: S3Storage, tmp_path: Path
) -> None:
    key = "ws/1/media/a/original.jpg"
    assert await storage.get(key) is None
    assert not await storage.exists(key)
    await storage.put(key, b"jpeg bytes")
    assert await storage.get(key) == b"jpeg bytes"
    assert await storage.exists(key)
    big = tmp_path / "big.bin"
    big.write_bytes(b"v" * 3_000_000)
    await storage.put_file("ws/1/media/b/original.mp4", big, "video/mp4")

    url = storage.presigned_url("ws/1/media/b/original.mp4", 60)
    assert url is not None
    assert "/install-1/ws/1/media/b/original.mp4" in url, "keys live under the prefix"
    async with httpx.AsyncClient() as http:
        response = await http.get(url)
        assert response.status_code == 200
        assert len(response.content) == 3_000_000
        assert response.headers["content-type"] == "video/mp4"
    # Signed and expiring (moto serves presigned URLs without checking them; S3 and MinIO do).
    assert "X-Amz-Expires=60" in url
    assert "X-Amz-Signature=" in url

    await storage.delete(key)
    assert not await storage.exists(key)
    with pytest.raises(ValueError, match="invalid storage key"):
        await storage.put("../escape", b"")


async def test_a_post_is_published_from_the_bucket(
    app: FastAPI,
    client: httpx.AsyncClient,
    sandbox: Sandbox,
    shop: Shop,
    storage: S3Storage,
) -> None:
    response = await upload(client, shop.seller, image_bytes(1080, 1080, fmt="PNG"), "a.png")
    assert response.status_code == 201, response.text
    media = response.json()
    assert media["url"].startswith(str(storage._client.meta.endpoint_url))
    [post] = await schedule(client, shop.seller, [shop.channel_id], [media["id"]])
    await make_due(app, post["id"])
    await tick(app)
    sandbox.advance(6)
    await expire_lease(app, post["id"])
    await tick(app)
    row = await post_row(app, post["id"])
    assert row.status == "published", row.failure_reason
    assert len(published(sandbox, shop.ig_id)) == 1
