"""The notification bell in the header and the notifications page."""

from __future__ import annotations

import re
import uuid

from fastapi import FastAPI
from sqlalchemy import select

from socialsell.accounts.models import Membership, User
from socialsell.notifications import service
from socialsell.notifications.models import Notification
from tests.web.conftest import Browser, BrowserFactory, sign_up

RECONNECT_BODY = (
    "The access token expired or is no longer valid. Sending and publishing through it are "
    "paused until you reconnect it."
)


async def notify(
    app: FastAPI,
    browser: Browser,
    *,
    title: str = "@sunny_shop needs to be reconnected",
    body: str = RECONNECT_BODY,
    link: str | None = "/channels",
    kind: str = "channel_needs_reconnect",
) -> uuid.UUID:
    """What a service does when something needs the workspace's attention."""
    async with app.state.sessionmaker() as db:
        workspace_id = (
            await db.scalars(
                select(Membership.workspace_id)
                .join(User, User.id == Membership.user_id)
                .where(User.email == browser.email)
            )
        ).one()
        notification = await service.notify(
            db, workspace_id, kind=kind, title=title, body=body, link=link, severity="error"
        )
        await db.commit()
        return notification.id


async def test_every_page_loads_the_bell(seller: Browser) -> None:
    html = (await seller.get("/")).text

    assert 'id="notification-bell" hx-get="/notifications/bell" hx-trigger="load"' in html
    assert 'href="/notifications" aria-label="Notifications"' in html  # works without JS


async def test_the_bell_shows_the_unread_count_and_the_latest(
    seller: Browser, app: FastAPI
) -> None:
    empty = await seller.get("/notifications/bell", headers={"HX-Request": "true"})
    assert empty.status_code == 200
    assert "bell__badge" not in empty.text
    assert "Nothing needs your attention." in empty.text

    await notify(app, seller)
    await notify(app, seller, title="Something else", body="", link=None, kind="other")
    html = (await seller.get("/notifications/bell", headers={"HX-Request": "true"})).text

    assert 'aria-label="Notifications, 2 unread"' in html
    assert '<span class="bell__badge" aria-hidden="true">2</span>' in html
    assert "@sunny_shop needs to be reconnected" in html
    assert "Something else" in html
    assert "<html" not in html  # a fragment


async def test_opening_a_notification_marks_it_read_and_follows_its_link(
    seller: Browser, app: FastAPI
) -> None:
    notification_id = await notify(app, seller)

    response = await seller.post(f"/notifications/{notification_id}/open", page="/notifications")

    assert response.status_code == 303
    assert response.headers["location"] == "/channels"
    bell = (await seller.get("/notifications/bell")).text
    assert "bell__badge" not in bell


async def test_a_link_off_the_site_is_never_followed(seller: Browser, app: FastAPI) -> None:
    notification_id = await notify(app, seller, link="//evil.example/phish")

    response = await seller.post(f"/notifications/{notification_id}/open", page="/notifications")

    assert response.headers["location"] == "/notifications"


async def test_the_page_lists_them_and_marks_them_read(seller: Browser, app: FastAPI) -> None:
    first = await notify(app, seller)
    await notify(app, seller, title="Another one", body="", link=None, kind="other")

    html = (await seller.get("/notifications")).text
    assert "2 unread notifications." in html
    assert html.count("Mark as read") == 2

    response = await seller.post(f"/notifications/{first}/read", page="/notifications")
    assert response.status_code == 303
    html = (await seller.get("/notifications")).text
    assert "Marked as read." in html
    assert "1 unread notification." in html

    response = await seller.post("/notifications/read-all", page="/notifications")
    assert response.status_code == 303
    html = (await seller.get("/notifications")).text
    assert "1 notification marked as read." in html
    assert "You have read everything." in html
    assert "Mark as read" not in html


async def test_known_notifications_are_said_in_portuguese(
    browser_factory: BrowserFactory, app: FastAPI
) -> None:
    seller = await sign_up(await browser_factory(accept_language="pt-BR"))
    await notify(app, seller)

    html = (await seller.get("/notifications")).text

    assert "@sunny_shop precisa ser reconectada" in html
    assert "O token de acesso expirou" in html


async def test_posts_need_the_csrf_token(seller: Browser, app: FastAPI) -> None:
    notification_id = await notify(app, seller)
    for path in (
        f"/notifications/{notification_id}/read",
        f"/notifications/{notification_id}/open",
        "/notifications/read-all",
    ):
        response = await seller.client.post(path, data={"csrf_token": "forged"})
        assert response.status_code == 403, path
    assert "1 unread notification." in (await seller.get("/notifications")).text


async def test_another_workspace_gets_404(
    seller: Browser, browser_factory: BrowserFactory, app: FastAPI
) -> None:
    notification_id = await notify(app, seller)
    outsider = await sign_up(await browser_factory())

    for action in ("read", "open"):
        response = await outsider.post(
            f"/notifications/{notification_id}/{action}", page="/notifications"
        )
        assert response.status_code == 404, action
    assert "@sunny_shop" not in (await outsider.get("/notifications")).text
    assert not re.search(r"bell__badge", (await outsider.get("/notifications/bell")).text)
    async with app.state.sessionmaker() as db:
        row = await db.get(Notification, notification_id)
        assert row is not None
        assert row.read_at is None
