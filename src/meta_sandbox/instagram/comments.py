"""Comments on media: ``GET|POST /{ig-media-id}/comments``, ``GET|POST /{ig-comment-id}/replies``,
``GET|POST|DELETE /{ig-comment-id}`` (POST ``hide=true|false``), and persona comments that
produce the ``comments`` webhook (Instagram Login puts mentions in it too)."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from meta_sandbox import errors
from meta_sandbox.state import SandboxState
from meta_sandbox.webhooks import WebhookDispatcher

from .common import check_fields, emit_change, fields_of, iso, paginate, pick
from .models import Comment, IGAccount, Media, Persona

COMMENT_FIELDS = (
    "id",
    "text",
    "timestamp",
    "username",
    "from",
    "like_count",
    "hidden",
    "media",
    "parent_id",
    "replies",
)
DEFAULT_FIELDS = ("id", "text", "timestamp")
TEXT_MAX = 2200


def comment_data(state: SandboxState, comment: Comment) -> dict[str, Any]:
    media = state.instagram.media.get(comment.media_id)
    replies = [
        {"id": c.id, "text": c.text, "timestamp": iso(c.created_at)}
        for c in sorted(state.instagram.comments.values(), key=lambda c: c.created_at)
        if c.parent_id == comment.id
    ]
    data: dict[str, Any] = {
        "id": comment.id,
        "text": comment.text,
        "timestamp": iso(comment.created_at),
        "username": comment.username,
        "from": {"id": comment.from_id, "username": comment.username},
        "like_count": comment.like_count,
        "hidden": comment.hidden,
        "media": {
            "id": comment.media_id,
            "media_product_type": media.media_product_type if media else None,
        },
        "parent_id": comment.parent_id,
        "replies": {"data": replies} if replies else None,
    }
    return data


def comment_view(state: SandboxState, comment: Comment, params: dict[str, Any]) -> dict[str, Any]:
    fields = fields_of(params, DEFAULT_FIELDS)
    check_fields(fields, COMMENT_FIELDS, "IGComment")
    return pick(comment_data(state, comment), fields)


def _listing(
    request: Request, state: SandboxState, items: list[Comment], params: dict[str, Any]
) -> dict[str, Any]:
    fields = fields_of(params, DEFAULT_FIELDS)
    check_fields(fields, COMMENT_FIELDS, "IGComment")
    page, paging = paginate(request, items, params)
    body: dict[str, Any] = {"data": [pick(comment_data(state, c), fields) for c in page]}
    if paging:
        body["paging"] = paging
    return body


def list_comments(
    request: Request, state: SandboxState, media: Media, params: dict[str, Any]
) -> dict[str, Any]:
    items = sorted(
        (
            c
            for c in state.instagram.comments.values()
            if c.media_id == media.id and c.parent_id is None
        ),
        key=lambda c: (c.created_at, c.id),
        reverse=True,
    )
    return _listing(request, state, items, params)


def list_replies(
    request: Request, state: SandboxState, comment: Comment, params: dict[str, Any]
) -> dict[str, Any]:
    items = sorted(
        (c for c in state.instagram.comments.values() if c.parent_id == comment.id),
        key=lambda c: (c.created_at, c.id),
    )
    return _listing(request, state, items, params)


def _text(params: dict[str, Any]) -> str:
    text = str(params.get("message") or "")
    if not text:
        raise errors.invalid_parameter("(#100) The parameter message is required")
    if len(text) > TEXT_MAX:
        raise errors.invalid_parameter("(#100) The comment is too long")
    return text


def add_comment(
    state: SandboxState,
    media: Media,
    *,
    author_id: str,
    username: str,
    text: str,
    parent_id: str | None = None,
) -> Comment:
    comment = Comment(
        id=state.new_id(),
        media_id=media.id,
        account_id=media.owner_id,
        from_id=author_id,
        username=username,
        text=text,
        created_at=state.clock.now(),
        parent_id=parent_id,
    )
    state.instagram.comments[comment.id] = comment
    state.register_object(comment.id, "ig_comment")
    return comment


def business_comment(
    state: SandboxState, account: IGAccount, media: Media, params: dict[str, Any]
) -> dict[str, Any]:
    comment = add_comment(
        state, media, author_id=account.id, username=account.username, text=_text(params)
    )
    return {"id": comment.id}


def business_reply(
    state: SandboxState, account: IGAccount, parent: Comment, params: dict[str, Any]
) -> dict[str, Any]:
    media = state.instagram.media[parent.media_id]
    top = parent.parent_id or parent.id  # replies are one level deep on Instagram
    comment = add_comment(
        state,
        media,
        author_id=account.id,
        username=account.username,
        text=_text(params),
        parent_id=top,
    )
    return {"id": comment.id}


def moderate(state: SandboxState, comment: Comment, params: dict[str, Any]) -> dict[str, Any]:
    if "hide" not in params:
        raise errors.invalid_parameter("(#100) The parameter hide is required")
    comment.hidden = str(params["hide"]).lower() in ("true", "1")
    return {"success": True}


def delete(state: SandboxState, comment: Comment) -> dict[str, Any]:
    for other in list(state.instagram.comments.values()):
        if other.id == comment.id or other.parent_id == comment.id:
            del state.instagram.comments[other.id]
    return {"success": True}


async def persona_comment(
    state: SandboxState,
    dispatcher: WebhookDispatcher,
    account: IGAccount,
    media: Media,
    persona: Persona,
    text: str,
    parent_id: str | None = None,
) -> Comment:
    comment = add_comment(
        state,
        media,
        author_id=persona.id,
        username=persona.username,
        text=text,
        parent_id=parent_id,
    )
    value: dict[str, Any] = {
        "from": {"id": persona.id, "username": persona.username},
        "media": {"id": media.id, "media_product_type": media.media_product_type},
        "id": comment.id,
        "text": text,
    }
    if parent_id:
        value["parent_id"] = parent_id
    await emit_change(state, dispatcher, account, "comments", value)
    return comment
