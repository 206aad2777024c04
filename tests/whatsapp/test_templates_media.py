"""Templates with a photo, video or document header: the sample file goes through Meta's
Resumable Upload API (against the sandbox) and its handle is the header's example; a wrong or
missing file is said next to the field, before Meta gets a template."""

from __future__ import annotations

from typing import Any

import httpx

from meta_sandbox.testing import Sandbox
from tests.helpers.factories import ApiUser
from tests.publishing.helpers import image_bytes, upload_image
from tests.web.conftest import Browser
from tests.whatsapp import spec
from tests.whatsapp.helpers import connect_number
from tests.whatsapp.test_templates_api import meta_templates, url
from tests.whatsapp.test_templates_page import browser, connect, errors_of

__all__ = ["browser"]  # the page tests' signed-in browser fixture

NEW_IN = {
    "name": "new_in",
    "category": "MARKETING",
    "language": "en_US",
    "header_format": "IMAGE",
    "body": "New in this week, {{1}}: come and see.",
    "body_examples": ["Ann"],
}


def requests_to(sandbox: Sandbox, ending: str) -> list[dict[str, Any]]:
    requests: list[dict[str, Any]] = sandbox.client.get("/_sandbox/whatsapp/requests").json()[
        "data"
    ]
    return [r for r in requests if r["method"] == "POST" and r["path"].endswith(ending)]


def uploads_of(sandbox: Sandbox) -> list[dict[str, Any]]:
    return requests_to(sandbox, "/uploads")


async def test_image_header_from_the_media_library_is_submitted_with_its_handle(
    client: httpx.AsyncClient, sandbox: Sandbox, seller: ApiUser
) -> None:
    number = await connect_number(client, sandbox, seller)
    photo = await upload_image(client, seller, width=640, height=640)

    created = await client.post(
        url(number), json={**NEW_IN, "header_media_id": photo}, headers=seller.headers
    )

    assert created.status_code == 201, created.text
    template = created.json()
    assert template["status"] == "PENDING"
    header = template["components"][0]
    assert (header["type"], header["format"]) == ("HEADER", "IMAGE")
    (handle,) = header["example"]["header_handle"]
    (on_meta,) = meta_templates(sandbox, number)
    assert on_meta["id"] == template["external_id"]
    assert on_meta["components"][0]["example"] == {"header_handle": [handle]}
    (opened,) = uploads_of(sandbox)
    assert opened["query"]["file_type"] == "image/jpeg"
    listed = (await client.get(url(number), headers=seller.headers)).json()["data"]
    assert [(t["name"], t["components"][0]["format"]) for t in listed] == [("new_in", "IMAGE")]
    # The Resumable Upload API is not in Meta's WhatsApp OpenAPI spec; the template request is.
    (create_call,) = requests_to(sandbox, "/message_templates")
    assert spec.request_errors(create_call) == []


async def test_missing_or_unknown_sample_is_a_field_error_and_meta_gets_nothing(
    client: httpx.AsyncClient, sandbox: Sandbox, seller: ApiUser
) -> None:
    number = await connect_number(client, sandbox, seller)
    photo = await upload_image(client, seller, width=640, height=640)

    missing = await client.post(url(number), json=NEW_IN, headers=seller.headers)
    unknown = await client.post(
        url(number),
        json={**NEW_IN, "header_media_id": "00000000-0000-4000-8000-000000000000"},
        headers=seller.headers,
    )
    # A photo is not a document: a DOCUMENT header needs a PDF.
    wrong_kind = await client.post(
        url(number),
        json={**NEW_IN, "header_format": "DOCUMENT", "header_media_id": photo},
        headers=seller.headers,
    )

    for response in (missing, unknown, wrong_kind):
        assert response.status_code == 422, response.text
        assert [e["field"] for e in response.json()["errors"]] == ["header_media_id"]
    assert "PDF" in wrong_kind.json()["errors"][0]["message"]
    assert meta_templates(sandbox, number) == []
    assert uploads_of(sandbox) == []


async def test_page_uploads_a_document_sample_and_refuses_a_file_of_the_wrong_kind(
    browser: Browser, sandbox: Sandbox
) -> None:
    channel_id, account = await connect(browser, sandbox)
    page_url = f"/whatsapp/{channel_id}/templates"
    page = (await browser.get(page_url)).text
    assert 'value="DOCUMENT"' in page
    assert 'name="header_media_file"' in page
    assert "WhatsApp Manager; they show here" not in page
    fields = {
        "name": "invoice_ready",
        "category": "UTILITY",
        "language": "en_US",
        "header_format": "DOCUMENT",
        "body": "Your invoice {{1}} is attached.",
        "body_examples.0": "#42",
    }

    async def submit(file: tuple[str, bytes, str]) -> httpx.Response:
        token = await browser.token(page_url)
        return await browser.client.post(
            page_url,
            data={"csrf_token": token, **fields},
            files={"header_media_file": file},
        )

    wrong = await submit(("invoice.pdf", image_bytes(64, 64, "PNG"), "application/pdf"))
    assert wrong.status_code == 422
    assert "this file is not one" in errors_of(wrong.text)["header_media_id"]
    assert 'value="invoice_ready"' in wrong.text

    good = await submit(("invoice.pdf", b"%PDF-1.4 sample invoice", "application/pdf"))
    assert good.status_code == 303, good.text
    listed = (await browser.get(page_url)).text
    assert "invoice_ready" in listed
    assert 'data-status="PENDING"' in listed
    on_meta = sandbox.client.get(
        f"/v23.0/{account['waba_id']}/message_templates",
        headers={"Authorization": f"Bearer {account['access_token']}"},
    ).json()["data"]
    header = on_meta[0]["components"][0]
    assert (header["format"], len(header["example"]["header_handle"])) == ("DOCUMENT", 1)
    (opened,) = uploads_of(sandbox)
    assert opened["query"]["file_type"] == "application/pdf"
