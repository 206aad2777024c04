"""The publisher against the sandbox: a due post is claimed by the tick and published once."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from meta_sandbox.testing import Sandbox
from tests.conftest import LiveServer
from tests.helpers.instagram import Shop
from tests.publishing.helpers import (
    expire_lease,
    make_due,
    post_row,
    published,
    schedule,
    tick,
    upload_image,
)


async def test_scheduled_post_is_published_once_when_due(
    app: FastAPI,
    client: httpx.AsyncClient,
    sandbox: Sandbox,
    shop: Shop,
    media_server: LiveServer,
) -> None:
    media_id = await upload_image(client, shop.seller)
    [post] = await schedule(client, shop.seller, [shop.channel_id], [media_id])
    assert post["status"] == "scheduled"

    assert await tick(app) == 0, "not due yet"
    await make_due(app, post["id"])
    assert await tick(app) == 1
    row = await post_row(app, post["id"])
    assert row.status == "publishing"
    assert row.container_id is not None, "the container id is stored before publishing"
    assert row.progress == "Instagram is processing the media."
    assert published(sandbox, shop.ig_id) == []

    sandbox.advance(6)  # the container finishes processing
    await expire_lease(app, post["id"])  # time to look again
    assert await tick(app) == 1

    row = await post_row(app, post["id"])
    assert row.status == "published"
    feed = published(sandbox, shop.ig_id)
    assert len(feed) == 1
    assert feed[0]["container_id"] == row.container_id
    assert feed[0]["caption"] == "Spring drop #new"
    assert row.external_media_id == feed[0]["id"]
    assert row.permalink and row.permalink.startswith("https://www.instagram.com/p/")
    assert row.lease_owner is None

    # Nothing more to do, however often the tick runs.
    await expire_lease(app, post["id"])
    assert await tick(app) == 0
    assert len(published(sandbox, shop.ig_id)) == 1
