"""HTML pages of the in-app notifications: the header's bell (loaded into every page by htmx,
with the unread count and the latest few) and the full list with mark-as-read.

Notifications are written by services in English; the kinds socialsell knows are re-worded here
in the reader's language, anything else is shown as written.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from socialsell.channels.views import relative_time
from socialsell.core.deps import CsrfProtected, SessionDep
from socialsell.core.pagination import PageParams
from socialsell.db import utcnow
from socialsell.notifications import service
from socialsell.notifications.models import Notification
from socialsell.web.deps import PageUser, Viewer
from socialsell.web.templating import Translator, redirect, render, request_translator, url_path

router = APIRouter(include_in_schema=False)

BELL_SIZE = 5
PAGE_SIZE = 30
_RECONNECT_TITLE = re.compile(r"^(?P<account>.+) needs to be reconnected$")


def N_(message: str) -> str:  # gettext's no-op marker
    return message


# channels.service.mark_token_failed: the reason, then what it means.
_REASONS = (
    N_("Access was removed on Instagram (app removed or password changed)."),
    N_("The access token expired or is no longer valid."),
)
_PAUSED = " Sending and publishing through it are paused until you reconnect it."


@dataclass(frozen=True, slots=True)
class NotificationItem:
    id: uuid.UUID
    title: str
    body: str
    link: str | None
    severity: str
    unread: bool
    iso: str
    relative: str
    absolute: str


def _words(notification: Notification, t: Translator) -> tuple[str, str]:
    if notification.kind == "channel_needs_reconnect":
        match = _RECONNECT_TITLE.match(notification.title)
        reason = notification.body.removesuffix(_PAUSED)
        if match and reason in _REASONS:
            return (
                t.gettext("%(account)s needs to be reconnected", account=match["account"]),
                t.gettext(reason)
                + " "
                + t.gettext("Sending and publishing through it are paused until you reconnect it."),
            )
    return notification.title, notification.body


def _safe_link(link: str | None) -> str | None:
    # Links are written by our services; still, only ever follow a path on this site.
    if not link or not link.startswith("/") or link.startswith(("//", "/\\")):
        return None
    return link


def present(notification: Notification, viewer: Viewer, t: Translator) -> NotificationItem:
    title, body = _words(notification, t)
    return NotificationItem(
        id=notification.id,
        title=title,
        body=body,
        link=_safe_link(notification.link),
        severity=notification.severity,
        unread=notification.read_at is None,
        iso=notification.created_at.isoformat(),
        relative=relative_time(notification.created_at, utcnow(), t),
        absolute=viewer.format_datetime(notification.created_at),
    )


async def _items(
    session: SessionDep, viewer: Viewer, t: Translator, params: PageParams
) -> tuple[list[NotificationItem], str | None]:
    rows, cursor = await service.list_notifications(session, viewer.principal, params)
    return [present(n, viewer, t) for n in rows], cursor


@router.get("/notifications/bell", name="notifications.bell")
async def bell(request: Request, session: SessionDep, viewer: PageUser) -> Response:
    """The bell's menu, swapped into the header of every page."""
    t = request_translator(request)
    items, _ = await _items(session, viewer, t, PageParams(limit=BELL_SIZE))
    unread = await service.unread_count(session, viewer.principal)
    return render(
        request,
        "notifications/bell.html",
        {"viewer": viewer, "items": items, "unread": unread},
        headers={"Cache-Control": "no-store"},
    )


@router.get("/notifications", name="notifications.index")
async def notifications_page(
    request: Request,
    session: SessionDep,
    viewer: PageUser,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    t = request_translator(request)
    items, next_cursor = await _items(
        session, viewer, t, PageParams(limit=PAGE_SIZE, cursor=cursor)
    )
    unread = await service.unread_count(session, viewer.principal)
    return render(
        request,
        "notifications/index.html",
        {
            "viewer": viewer,
            "items": items,
            "unread": unread,
            "next_cursor": next_cursor,
            "first_page": cursor is None,
        },
    )


@router.post(
    "/notifications/{notification_id}/read",
    name="notifications.mark_read",
    dependencies=[CsrfProtected],
)
async def mark_read(
    notification_id: uuid.UUID, request: Request, session: SessionDep, viewer: PageUser
) -> Response:
    await service.mark_read(session, viewer.principal, notification_id)
    t = request_translator(request)
    return redirect(
        request,
        url_path(request, "notifications.index"),
        toast=("success", t.gettext("Marked as read.")),
    )


@router.post(
    "/notifications/{notification_id}/open",
    name="notifications.open",
    dependencies=[CsrfProtected],
)
async def open_notification(
    notification_id: uuid.UUID, session: SessionDep, request: Request, viewer: PageUser
) -> Response:
    """Follow a notification's link; opening it marks it read."""
    await service.mark_read(session, viewer.principal, notification_id)  # 404 if not ours
    notification = await session.get(Notification, notification_id)
    link = _safe_link(notification.link) if notification is not None else None
    return redirect(request, link or url_path(request, "notifications.index"))


@router.post(
    "/notifications/read-all", name="notifications.mark_all_read", dependencies=[CsrfProtected]
)
async def mark_all_read(request: Request, session: SessionDep, viewer: PageUser) -> Response:
    t = request_translator(request)
    marked = 0
    params = PageParams(limit=100)
    while True:  # every unread one, a page at a time
        rows, cursor = await service.list_notifications(session, viewer.principal, params)
        for notification in rows:
            if notification.read_at is None:
                await service.mark_read(session, viewer.principal, notification.id)
                marked += 1
        if cursor is None:
            break
        params = PageParams(limit=100, cursor=cursor)
    message = t.ngettext(
        "%(num)d notification marked as read.", "%(num)d notifications marked as read.", marked
    )
    return redirect(request, url_path(request, "notifications.index"), toast=("success", message))
