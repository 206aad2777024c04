"""The Resumable Upload API (template media samples), client against the sandbox over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from meta_sandbox.testing import Sandbox
from socialsell.meta import MetaClient, MetaConfig, MetaError, WhatsAppClient

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
async def sandbox_meta(sandbox: Sandbox) -> AsyncIterator[MetaClient]:
    config = MetaConfig.single_host(
        sandbox.url, app_id=sandbox.app_id, app_secret=sandbox.app_secret
    )
    async with MetaClient(config) as client:
        yield client


@pytest.fixture
def account(sandbox: Sandbox) -> dict[str, Any]:
    created: dict[str, Any] = sandbox.client.post("/_sandbox/whatsapp/accounts", json={}).json()
    return created


@pytest.fixture
def token(account: dict[str, Any]) -> str:
    return str(account["access_token"])


@pytest.fixture
def wa(account: dict[str, Any], sandbox_meta: MetaClient) -> WhatsAppClient:
    return sandbox_meta.whatsapp(
        account["access_token"], account["phone_number_id"], account["waba_id"]
    )


def _image_header(handle: str) -> list[dict[str, Any]]:
    return [
        {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": [handle]}},
        {"type": "BODY", "text": "New arrivals this week"},
    ]


async def test_uploaded_image_is_the_sample_of_a_media_header(
    wa: WhatsAppClient, sandbox: Sandbox, token: str
) -> None:
    handle = await wa.upload_resumable(PNG, file_name="shoes.png", mime_type="image/png")
    created = await wa.create_template(
        name="new_arrivals", category="MARKETING", language="en", components=_image_header(handle)
    )
    listed = await wa.list_templates(name="new_arrivals")

    assert created.status == "PENDING"
    assert listed.data[0].components[0]["example"]["header_handle"] == [handle]
    requests = sandbox.client.get("/_sandbox/whatsapp/requests").json()["data"]
    opened = [r for r in requests if r["path"].endswith("/uploads")]
    assert opened[0]["query"] == {
        "file_name": "shoes.png",
        "file_length": str(len(PNG)),
        "file_type": "image/png",
    }
    upload_id = next(r["path"].rsplit("/", 1)[1] for r in requests if "/upload:" in r["path"])
    status = sandbox.client.get(f"/{upload_id}", headers={"Authorization": f"OAuth {token}"})
    assert status.json() == {"id": upload_id, "file_offset": len(PNG)}


async def test_bytes_that_are_not_the_declared_type_are_refused(wa: WhatsAppClient) -> None:
    with pytest.raises(MetaError) as refused:
        await wa.upload_resumable(b"GIF89a not a png", file_name="x.png", mime_type="image/png")

    assert refused.value.code == 100


async def test_unsupported_type_is_refused_before_any_bytes(wa: WhatsAppClient) -> None:
    with pytest.raises(MetaError) as refused:
        await wa.upload_resumable(b"GIF89a", file_name="x.gif", mime_type="image/gif")

    assert "file_type" in str(refused.value)


async def test_a_handle_the_upload_api_never_gave_is_refused(wa: WhatsAppClient) -> None:
    with pytest.raises(MetaError) as refused:
        await wa.create_template(
            name="made_up",
            category="MARKETING",
            language="en",
            components=_image_header("4::aW1hZ2UvcG5n:made-up"),
        )

    assert refused.value.code == 100
    assert refused.value.subcode == 2388047
    assert (await wa.list_templates(name="made_up")).data == []
