"""The calendar and media library pages, and the browser's JSON routes behind them (compose,
move, retry, upload, delete), signed in with the session cookie and the CSRF header."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from meta_sandbox.testing import Sandbox
from socialsell import db
from socialsell.accounts.models import Workspace
from tests.channels.conftest import Consent
from tests.helpers.factories import ApiUser, login
from tests.helpers.instagram import connect_shop
from tests.helpers.tenancy import assert_other_workspace_gets_404
from tests.publishing.helpers import image_bytes, post_row, upload_image
from tests.web.conftest import Browser, sign_up

TZ = "America/Sao_Paulo"
_META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


@dataclass
class Seller:
    """One person: the browser (cookie) and the same account on the API (for set-up)."""

    web: Browser
    api: ApiUser
    channel_id: uuid.UUID
    csrf: str

    @property
    def headers(self) -> dict[str, str]:
        return {"X-CSRF-Token": self.csrf, "Accept": "application/json"}

    async def call(self, method: str, path: str, json: Any = None) -> httpx.Response:
        return await self.web.client.request(method, path, json=json, headers=self.headers)


async def _browser(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(
        transport=transport, base_url="http://testserver", headers={"Accept-Language": "en"}
    )


async def _seller(app: FastAPI, client: httpx.AsyncClient, sandbox: Sandbox) -> Seller:
    web = await sign_up(Browser(await _browser(app)))
    api = await login(client, web.email)
    shop = await connect_shop(
        client, sandbox, Consent(sandbox), api, username=f"shop{uuid.uuid4().hex[:6]}"
    )
    page = (await web.get("/calendar")).text
    match = _META_CSRF.search(page)
    assert match
    return Seller(web, api, shop.channel_id, match.group(1))


@pytest.fixture
async def seller(
    app: FastAPI, client: httpx.AsyncClient, sandbox: Sandbox
) -> AsyncIterator[Seller]:
    person = await _seller(app, client, sandbox)
    async with db.unit_of_work(app.state.sessionmaker) as session:
        await session.execute(update(Workspace).values(timezone=TZ))
    yield person
    await person.web.client.aclose()


def _tomorrow_local() -> datetime:
    return (datetime.now(ZoneInfo(TZ)) + timedelta(days=1)).replace(
        hour=18, minute=30, second=0, microsecond=0
    )


async def _compose(seller: Seller, media_ids: list[str], **fields: Any) -> httpx.Response:
    when = _tomorrow_local()
    body = {
        "channel_ids": [str(seller.channel_id)],
        "kind": "feed",
        "caption": "Blue mugs are back #ceramics",
        "media_ids": media_ids,
        "date": when.date().isoformat(),
        "time": "18:30",
        "action": "schedule",
    } | fields
    return await seller.call("POST", "/calendar/posts", body)


async def test_the_calendar_says_what_to_do_before_a_channel_and_before_a_post(
    app: FastAPI, client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    web = await sign_up(Browser(await _browser(app)))
    try:
        html = (await web.get("/calendar")).text
        assert "<title>Calendar · socialsell</title>" in html
        assert "Connect Instagram to plan posts" in html
        assert 'href="/media"' in html, "Media is in the navigation"
        assert "Coming soon" not in html
    finally:
        await web.client.aclose()


async def test_a_post_composed_in_the_workspace_time_zone_shows_on_its_day(
    seller: Seller, client: httpx.AsyncClient
) -> None:
    html = (await seller.web.get("/calendar")).text
    assert "Nothing planned in this period." in html
    assert f"Times in {TZ}" in html

    media_id = await upload_image(client, seller.api)
    response = await _compose(seller, [media_id])
    assert response.status_code == 201, response.text
    [post] = response.json()["items"]
    when = _tomorrow_local()
    assert datetime.fromisoformat(post["scheduled_at"]) == when.astimezone(UTC)
    assert (post["local_date"], post["local_time"]) == (when.date().isoformat(), "18:30")
    assert post["items"][0]["media"]["url"].startswith("/media/"), "our own storage, by path"

    week = (
        await seller.web.get("/calendar", params={"view": "week", "date": when.date().isoformat()})
    ).text
    chip = re.search(rf'<article class="post-chip post-chip--scheduled"[^>]*{post["id"]}', week)
    assert chip, "the chip is on the week"
    assert "18:30" in week
    assert "Nothing planned in this period." not in week


async def test_broken_rules_come_back_per_field(seller: Seller, client: httpx.AsyncClient) -> None:
    square = await upload_image(client, seller.api)
    panorama = await upload_image(client, seller.api, width=1200, height=300)
    tags = " ".join(f"#tag{i}" for i in range(31))
    response = await _compose(seller, [panorama], caption=tags)
    assert response.status_code == 422
    fields = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert fields["caption"] == "The caption has 31 hashtags; Instagram allows at most 30."
    assert fields["media_ids.0"].startswith("Feed photos must be between 4:5")

    past = await _compose(seller, [square], date="2020-01-01")
    assert past.status_code == 422
    assert past.json()["errors"][0]["field"] == "scheduled_at"

    no_channel = await _compose(seller, [square], channel_ids=[])
    assert no_channel.status_code == 422
    assert no_channel.json()["errors"][0]["field"] == "channel_ids"

    draft = await _compose(seller, [panorama], caption=tags, action="draft")
    assert draft.status_code == 201, "a draft is saved unchecked"
    assert draft.json()["items"][0]["status"] == "draft"


async def test_moving_a_chip_keeps_its_time_and_a_move_to_the_past_is_refused(
    app: FastAPI, seller: Seller, client: httpx.AsyncClient
) -> None:
    media_id = await upload_image(client, seller.api)
    [post] = (await _compose(seller, [media_id])).json()["items"]
    later = _tomorrow_local() + timedelta(days=3)

    moved = await seller.call(
        "POST", f"/calendar/posts/{post['id']}/move", {"date": later.date().isoformat()}
    )
    assert moved.status_code == 200, moved.text
    assert datetime.fromisoformat(moved.json()["scheduled_at"]) == later.astimezone(UTC)
    row = await post_row(app, post["id"])
    assert row.scheduled_at is not None
    assert row.scheduled_at.replace(tzinfo=UTC) == later.astimezone(UTC)

    to_hour = await seller.call(
        "POST",
        f"/calendar/posts/{post['id']}/move",
        {"date": later.date().isoformat(), "hour": 7},
    )
    assert to_hour.json()["local_time"] == "07:30", "the week view's hour row, minutes kept"

    refused = await seller.call(
        "POST", f"/calendar/posts/{post['id']}/move", {"date": "2020-01-01"}
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["message"].startswith("The time must be in the future")
    assert (await seller.call("GET", f"/calendar/posts/{post['id']}")).json()[
        "local_time"
    ] == "07:30"


async def test_edit_and_delete_from_the_composer(seller: Seller, client: httpx.AsyncClient) -> None:
    first = await upload_image(client, seller.api)
    second = await upload_image(client, seller.api, width=1080, height=1350)
    [post] = (await _compose(seller, [first])).json()["items"]

    edited = await seller.call(
        "PATCH",
        f"/calendar/posts/{post['id']}",
        {
            "kind": "carousel",
            "caption": "Two mugs",
            "media_ids": [second, first],
            "date": _tomorrow_local().date().isoformat(),
            "time": "10:15",
            "action": "schedule",
        },
    )
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert body["kind"] == "carousel"
    assert [i["media"]["id"] for i in body["items"]] == [second, first]
    assert body["local_time"] == "10:15"

    assert (await seller.call("DELETE", f"/calendar/posts/{post['id']}")).status_code == 204
    assert (await seller.call("GET", f"/calendar/posts/{post['id']}")).status_code == 404


async def test_the_media_library_uploads_lists_filters_and_refuses_to_delete_what_is_used(
    seller: Seller, client: httpx.AsyncClient
) -> None:
    html = (await seller.web.get("/media")).text
    assert "<title>Media · socialsell</title>" in html
    assert "No media yet" in html

    uploaded = await seller.web.client.post(
        "/media-library",
        files={"file": ("mug.png", image_bytes(800, 1000, fmt="PNG"), "image/png")},
        headers=seller.headers,
    )
    assert uploaded.status_code == 201, uploaded.text
    card = uploaded.json()
    assert (card["width"], card["height"], card["converted_from"]) == (800, 1000, "image/png")
    assert card["size_label"].endswith("KB")
    assert card["thumbnail_url"].startswith("/media/")
    assert (await seller.web.get(card["thumbnail_url"])).status_code == 200

    html = (await seller.web.get("/media")).text
    assert "mug.png" in html
    assert "800×1000" in html
    assert "mug.png" not in (await seller.web.get("/media", params={"type": "video"})).text

    refused = await seller.web.client.post(
        "/media-library",
        files={"file": ("notes.txt", b"hello, not a photo", "text/plain")},
        headers=seller.headers,
    )
    assert refused.status_code == 415

    [post] = (await _compose(seller, [card["id"]])).json()["items"]
    in_use = await seller.call("DELETE", f"/media-library/{card['id']}")
    assert in_use.status_code == 409
    assert in_use.json()["message"].startswith("This file is used by 1 post not published yet")
    await seller.call("DELETE", f"/calendar/posts/{post['id']}")
    assert (await seller.call("DELETE", f"/media-library/{card['id']}")).status_code == 204
    assert "mug.png" not in (await seller.web.get("/media")).text


async def test_the_library_pages_with_load_more(seller: Seller, client: httpx.AsyncClient) -> None:
    for _ in range(26):
        await upload_image(client, seller.api, width=100, height=100)
    html = (await seller.web.get("/media")).text
    assert html.count("data-media-card data-media-id") == 24
    more = re.search(r'hx-get="(/media\?cursor=[^"]+)"', html)
    assert more
    rest = await seller.web.get(more.group(1).replace("&amp;", "&"), headers={"HX-Request": "true"})
    assert rest.text.count("data-media-card data-media-id") == 2
    assert "Load more" not in rest.text
    picker = (await seller.call("GET", "/media-library/items")).json()
    assert len(picker["items"]) == 24
    assert picker["next_cursor"]


async def test_a_refused_csrf_token_changes_nothing(
    seller: Seller, client: httpx.AsyncClient
) -> None:
    media_id = await upload_image(client, seller.api)
    response = await seller.web.client.delete(
        f"/media-library/{media_id}", headers={"Accept": "application/json"}
    )
    assert response.status_code == 403


async def test_another_workspace_gets_404_on_every_route_with_an_id(
    app: FastAPI, seller: Seller, client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    media_id = await upload_image(client, seller.api)
    [post] = (await _compose(seller, [media_id])).json()["items"]
    outsider = await _seller(app, client, sandbox)
    try:
        headers = outsider.headers | {
            "Cookie": "; ".join(f"{k}={v}" for k, v in outsider.web.client.cookies.items())
        }
        day = {"date": _tomorrow_local().date().isoformat()}
        for method, path, body in (
            ("GET", f"/calendar/posts/{post['id']}", None),
            ("PATCH", f"/calendar/posts/{post['id']}", {"caption": "mine"}),
            ("DELETE", f"/calendar/posts/{post['id']}", None),
            ("POST", f"/calendar/posts/{post['id']}/move", day),
            ("POST", f"/calendar/posts/{post['id']}/retry", None),
            ("DELETE", f"/media-library/{media_id}", None),
        ):
            await assert_other_workspace_gets_404(
                client, method, path, json=body, outsider_headers=headers
            )
        # Nor can the outsider use the media in a post of their own.
        stolen = await _compose(outsider, [media_id])
        assert stolen.status_code == 422
    finally:
        await outsider.web.client.aclose()
    assert (await post_row(app, post["id"])).caption == "Blue mugs are back #ceramics"
