"""The control API and the simulated phone UI."""

from __future__ import annotations

import io

from PIL import Image

from meta_sandbox.testing import Sandbox

from .conftest import IG


def test_create_account_shape(sandbox: Sandbox) -> None:
    response = sandbox.client.post("/_sandbox/instagram/accounts", json={"username": "boutique"})
    assert response.status_code == 201
    account = response.json()
    assert account["id"].isdigit()
    assert account["access_token"].startswith("IGAA")
    assert account["username"] == "boutique"
    assert len(account["scopes"]) == 5
    assert (
        sandbox.client.post(
            "/_sandbox/instagram/accounts", json={"username": "boutique"}
        ).status_code
        == 409
    )
    token = sandbox.client.get(f"/_sandbox/tokens/{account['access_token']}").json()
    assert token["long_lived"] is True
    assert token["subject_id"] == account["id"]
    listed = sandbox.client.get("/_sandbox/instagram/accounts").json()["data"]
    assert [a["username"] for a in listed] == ["boutique"]
    assert (
        sandbox.client.get(f"/_sandbox/instagram/accounts/{account['id']}").json()["id"]
        == account["id"]
    )


def test_inbound_makes_personas_and_validates(ig: IG) -> None:
    result = ig.inbound("newcomer", "hi")
    assert result["persona"]["username"] == "newcomer"
    assert result["message_id"]
    assert ig.inbound("newcomer", "again")["persona"]["id"] == result["persona"]["id"]
    missing = ig.sandbox.client.post(
        "/_sandbox/instagram/accounts/404/inbound", json={"from_username": "x", "text": "y"}
    )
    assert missing.status_code == 404
    no_text = ig.sandbox.client.post(
        f"/_sandbox/instagram/accounts/{ig.id}/inbound", json={"from_username": "x"}
    )
    assert no_text.status_code == 400
    convs = ig.sandbox.client.get(f"/_sandbox/instagram/accounts/{ig.id}/conversations").json()[
        "data"
    ]
    assert [m["text"] for m in convs[0]["messages"]] == ["hi", "again"]
    assert convs[0]["messages"][0]["direction"] == "incoming"


def test_sent_is_oldest_first(ig: IG) -> None:
    ig.inbound("alice", "hi")
    alice = ig.persona_id("alice")
    for text in ("one", "two", "three"):
        ig.send_text(alice, text)
        ig.sandbox.advance(1)
    sent = ig.sandbox.client.get(f"/_sandbox/instagram/accounts/{ig.id}/sent").json()["data"]
    assert [m["text"] for m in sent] == ["one", "two", "three"]


def test_samples_and_files(sandbox: Sandbox) -> None:
    jpeg = sandbox.client.get("/_sandbox/samples/image.jpg", params={"width": 320, "height": 400})
    with Image.open(io.BytesIO(jpeg.content)) as img:
        assert (img.format, img.size) == ("JPEG", (320, 400))
    png = sandbox.client.get("/_sandbox/samples/image.jpg", params={"format": "PNG"})
    assert png.headers["content-type"] == "image/png"
    video = sandbox.client.get("/_sandbox/samples/video.mp4", params={"duration": 4})
    assert video.content[4:8] == b"ftyp"
    uploaded = sandbox.client.post(
        "/_sandbox/files", content=b"hello", headers={"Content-Type": "text/plain"}
    ).json()
    assert sandbox.client.get(uploaded["url"].removeprefix(sandbox.url)).content == b"hello"


def test_settings_patch_and_reset(sandbox: Sandbox) -> None:
    assert sandbox.configure(container_processing_seconds=1)["container_processing_seconds"] == 1
    assert sandbox.client.patch("/_sandbox/settings", json={"app_id": "x"}).status_code == 422
    sandbox.client.post("/_sandbox/reset")
    assert sandbox.client.get("/_sandbox/settings").json()["container_processing_seconds"] == 5


def test_fault_plan_validation(sandbox: Sandbox) -> None:
    assert (
        sandbox.client.post("/_sandbox/faults", json={"kind": "rate_limit", "code": 1}).status_code
        == 422
    )
    assert sandbox.client.post("/_sandbox/faults", json={"kind": "explode"}).status_code == 422
    sandbox.fault("transient", count=3)
    assert sandbox.client.get("/_sandbox/faults").json()["data"][0]["remaining"] == 3
    assert sandbox.client.delete("/_sandbox/faults").json() == {"success": True}
    assert sandbox.client.get("/_sandbox/faults").json()["data"] == []


def test_phone_ui_and_docs_are_served(sandbox: Sandbox) -> None:
    page = sandbox.client.get("/")
    assert page.status_code == 200
    assert "simulated phone" in page.text
    assert "/_sandbox/ui/static/phone.js" in page.text
    script = sandbox.client.get("/_sandbox/ui/static/phone.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "/_sandbox/instagram/accounts" in script.text
    assert sandbox.client.get("/_sandbox/ui/static/style.css").status_code == 200
    assert sandbox.client.get("/_sandbox/ui/static/..%2Fapp.py").status_code == 404
    assert sandbox.client.get("/_sandbox/docs").status_code == 200
    paths = sandbox.client.get("/_sandbox/openapi.json").json()["paths"]
    assert "/_sandbox/instagram/accounts/{ig_id}/inbound" in paths
