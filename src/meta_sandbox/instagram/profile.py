"""Profile (``/me``, ``/{ig-user-id}``) and media objects (``/{ig-user-id}/media``,
``/{ig-media-id}``, ``/{ig-media-id}/children``)."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from meta_sandbox.state import SandboxState

from .common import check_fields, fields_of, iso, paginate, pick
from .models import IGAccount, Media

PROFILE_FIELDS = (
    "id",
    "user_id",
    "username",
    "name",
    "account_type",
    "profile_picture_url",
    "followers_count",
    "follows_count",
    "media_count",
    "biography",
    "website",
)
MEDIA_FIELDS = (
    "id",
    "caption",
    "media_type",
    "media_product_type",
    "media_url",
    "permalink",
    "thumbnail_url",
    "timestamp",
    "username",
    "owner",
    "shortcode",
    "like_count",
    "comments_count",
    "children",
    "is_comment_enabled",
    "alt_text",
)


def feed_media(state: SandboxState, account_id: str) -> list[Media]:
    """The account's feed (FEED and REELS, newest first; stories and carousel children not)."""
    items = [
        m
        for m in state.instagram.media.values()
        if m.owner_id == account_id and m.media_product_type != "STORY" and not m.is_carousel_child
    ]
    return sorted(items, key=lambda m: (m.created_at, m.id), reverse=True)


def profile_view(state: SandboxState, account: IGAccount, params: dict[str, Any]) -> dict[str, Any]:
    fields = fields_of(params, ("id",))
    check_fields(fields, PROFILE_FIELDS, "User")
    data = {
        "id": account.app_scoped_id,
        "user_id": account.id,
        "username": account.username,
        "name": account.name,
        "account_type": account.account_type,
        "profile_picture_url": account.profile_picture_url or None,
        "followers_count": account.followers_count,
        "follows_count": account.follows_count,
        "media_count": len(feed_media(state, account.id)),
        "biography": account.biography,
        "website": account.website,
    }
    return pick(data, fields)


def media_data(state: SandboxState, media: Media) -> dict[str, Any]:
    owner = state.instagram.accounts.get(media.owner_id)
    comments = [c for c in state.instagram.comments.values() if c.media_id == media.id]
    return {
        "id": media.id,
        "caption": media.caption or None,
        "media_type": media.media_type,
        "media_product_type": media.media_product_type,
        "media_url": media.media_url or None,
        "permalink": f"https://www.instagram.com/p/{media.shortcode}/",
        "thumbnail_url": media.thumbnail_url,
        "timestamp": iso(media.created_at),
        "username": owner.username if owner else None,
        "owner": {"id": media.owner_id},
        "shortcode": media.shortcode,
        "like_count": media.like_count,
        "comments_count": len(comments),
        "children": {"data": [{"id": c} for c in media.children]} if media.children else None,
        "is_comment_enabled": True,
        "alt_text": media.alt_text,
    }


def media_view(state: SandboxState, media: Media, params: dict[str, Any]) -> dict[str, Any]:
    fields = fields_of(params, ("id",))
    check_fields(fields, MEDIA_FIELDS, "IGMedia")
    return pick(media_data(state, media), fields)


def media_list(
    request: Request, state: SandboxState, account: IGAccount, params: dict[str, Any]
) -> dict[str, Any]:
    fields = fields_of(params, ("id",))
    check_fields(fields, MEDIA_FIELDS, "IGMedia")
    page, paging = paginate(request, feed_media(state, account.id), params)
    body: dict[str, Any] = {"data": [pick(media_data(state, m), fields) for m in page]}
    if paging:
        body["paging"] = paging
    return body


def stories_list(
    request: Request, state: SandboxState, account: IGAccount, params: dict[str, Any]
) -> dict[str, Any]:
    # Stories are listed for 24 hours after publishing, like on Instagram.
    now = state.clock.now()
    items = sorted(
        (
            m
            for m in state.instagram.media.values()
            if m.owner_id == account.id
            and m.media_product_type == "STORY"
            and now - m.created_at < 86_400
        ),
        key=lambda m: m.created_at,
        reverse=True,
    )
    fields = fields_of(params, ("id",))
    check_fields(fields, MEDIA_FIELDS, "IGMedia")
    page, paging = paginate(request, items, params)
    body: dict[str, Any] = {"data": [pick(media_data(state, m), fields) for m in page]}
    if paging:
        body["paging"] = paging
    return body


def children_list(state: SandboxState, media: Media, params: dict[str, Any]) -> dict[str, Any]:
    fields = fields_of(params, ("id",))
    check_fields(fields, MEDIA_FIELDS, "IGMedia")
    children = [state.instagram.media[c] for c in media.children if c in state.instagram.media]
    return {"data": [pick(media_data(state, c), fields) for c in children]}
