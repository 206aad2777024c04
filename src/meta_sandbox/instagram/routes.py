"""The Instagram routers and the per-kind dispatch of ``/{id}`` and ``/{id}/{edge}``.

``graph_router`` uses ``kind_route("ig_", allow_me=True)``: its routes only match ``me`` and ids
of Instagram objects, so WhatsApp routes with the same shapes get their own ids (see
``meta_sandbox.routing``). ``fallback_router`` answers Meta's errors for anything else."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from meta_sandbox import errors
from meta_sandbox.deps import ParamsDep, StateDep, TokenDep, get_dispatcher
from meta_sandbox.routing import kind_route
from meta_sandbox.state import AccessToken, SandboxState, require_scope
from meta_sandbox.webhooks import WebhookDispatcher

from . import comments, insights, messaging, profile, publishing, subscriptions
from .common import account_for
from .models import BASIC, COMMENTS, INSIGHTS, MESSAGES, PUBLISH, IGAccount
from .oauth import router as oauth_router

DispatcherDep = Annotated[WebhookDispatcher, Depends(get_dispatcher)]

graph_router = APIRouter(route_class=kind_route("ig_", allow_me=True), tags=["instagram"])
fallback_router = APIRouter(tags=["errors"])

__all__ = ["fallback_router", "graph_router", "oauth_router"]


def _scopes(token: AccessToken, *scopes: str) -> None:
    for scope in (BASIC, *scopes):
        require_scope(token, scope)


def _owned(state: SandboxState, token: AccessToken, object_id: str, method: str) -> tuple[str, Any]:
    """The object behind ``object_id`` if it belongs to the token's account."""
    ig = state.instagram
    kind = "ig_user" if object_id == "me" else state.kind_of(object_id) or ""
    if kind == "ig_user":
        return kind, account_for(state, token, object_id, method)
    stores: dict[str, dict[str, Any]] = {
        "ig_media": ig.media,
        "ig_container": ig.containers,
        "ig_conversation": ig.conversations,
        "ig_message": ig.messages,
        "ig_comment": ig.comments,
    }
    obj: Any = stores.get(kind, {}).get(object_id)
    owner = getattr(obj, "owner_id", None) or getattr(obj, "account_id", None)
    if obj is None or token.kind != "instagram_user" or owner != token.subject_id:
        raise errors.unsupported_request(object_id, method)
    return kind, obj


def _account(state: SandboxState, token: AccessToken, object_id: str, method: str) -> IGAccount:
    kind, obj = _owned(state, token, object_id, method)
    if kind != "ig_user":
        raise errors.unknown_path(f"{object_id}")
    assert isinstance(obj, IGAccount)  # noqa: S101
    return obj


# --- /{id} --------------------------------------------------------------------------------------


@graph_router.get("/{object_id}")
async def read_object(
    object_id: str, request: Request, state: StateDep, token: TokenDep, params: ParamsDep
) -> JSONResponse:
    persona = state.instagram.personas.get(object_id)
    account = state.instagram.accounts.get(token.subject_id)
    if persona is not None and account is not None and token.kind == "instagram_user":
        _scopes(token, MESSAGES)
        return JSONResponse(messaging.persona_view(state, account, persona, params))
    kind, obj = _owned(state, token, object_id, "get")
    require_scope(token, BASIC)
    if kind == "ig_user":
        return JSONResponse(profile.profile_view(state, obj, params))
    if kind == "ig_media":
        return JSONResponse(profile.media_view(state, obj, params))
    if kind == "ig_container":
        return JSONResponse(publishing.container_view(state, obj, params))
    if kind == "ig_comment":
        require_scope(token, COMMENTS)
        return JSONResponse(comments.comment_view(state, obj, params))
    require_scope(token, MESSAGES)
    if kind == "ig_conversation":
        return JSONResponse(messaging.conversation_view(request, state, obj, params))
    return JSONResponse(messaging.message_view(state, obj, params))


@graph_router.post("/{object_id}")
async def update_object(
    object_id: str, state: StateDep, token: TokenDep, params: ParamsDep
) -> JSONResponse:
    kind, obj = _owned(state, token, object_id, "post")
    if kind != "ig_comment":
        raise errors.unsupported_request(object_id, "post")
    _scopes(token, COMMENTS)
    return JSONResponse(comments.moderate(state, obj, params))


@graph_router.delete("/{object_id}")
async def delete_object(object_id: str, state: StateDep, token: TokenDep) -> JSONResponse:
    kind, obj = _owned(state, token, object_id, "delete")
    if kind != "ig_comment":
        raise errors.unsupported_request(object_id, "delete")
    _scopes(token, COMMENTS)
    return JSONResponse(comments.delete(state, obj))


# --- account edges ------------------------------------------------------------------------------


@graph_router.get("/{object_id}/media")
async def list_media(
    object_id: str, request: Request, state: StateDep, token: TokenDep, params: ParamsDep
) -> JSONResponse:
    account = _account(state, token, object_id, "get")
    _scopes(token)
    return JSONResponse(profile.media_list(request, state, account, params))


@graph_router.get("/{object_id}/stories")
async def list_stories(
    object_id: str, request: Request, state: StateDep, token: TokenDep, params: ParamsDep
) -> JSONResponse:
    account = _account(state, token, object_id, "get")
    _scopes(token)
    return JSONResponse(profile.stories_list(request, state, account, params))


@graph_router.post("/{object_id}/media")
async def create_media(
    object_id: str, state: StateDep, token: TokenDep, params: ParamsDep
) -> JSONResponse:
    account = _account(state, token, object_id, "post")
    _scopes(token, PUBLISH)
    return JSONResponse(await publishing.create_container(state, account, params))


@graph_router.post("/{object_id}/media_publish")
async def media_publish(
    object_id: str, state: StateDep, token: TokenDep, params: ParamsDep
) -> JSONResponse:
    account = _account(state, token, object_id, "post")
    _scopes(token, PUBLISH)
    return JSONResponse(publishing.publish(state, account, params))


@graph_router.get("/{object_id}/content_publishing_limit")
async def publishing_limit(
    object_id: str, state: StateDep, token: TokenDep, params: ParamsDep
) -> JSONResponse:
    account = _account(state, token, object_id, "get")
    _scopes(token, PUBLISH)
    return JSONResponse(publishing.publishing_limit(state, account, params))


@graph_router.post("/{object_id}/messages")
async def send_message(
    object_id: str, state: StateDep, token: TokenDep, params: ParamsDep, dispatcher: DispatcherDep
) -> JSONResponse:
    account = _account(state, token, object_id, "post")
    _scopes(token, MESSAGES)
    return JSONResponse(await messaging.send(state, dispatcher, account, params))


@graph_router.get("/{object_id}/conversations")
async def list_conversations(
    object_id: str, request: Request, state: StateDep, token: TokenDep, params: ParamsDep
) -> JSONResponse:
    account = _account(state, token, object_id, "get")
    _scopes(token, MESSAGES)
    return JSONResponse(messaging.conversations_list(request, state, account, params))


@graph_router.get("/{object_id}/subscribed_apps")
async def get_subscriptions(object_id: str, state: StateDep, token: TokenDep) -> JSONResponse:
    account = _account(state, token, object_id, "get")
    _scopes(token)
    return JSONResponse(subscriptions.list_subscriptions(state, account))


@graph_router.post("/{object_id}/subscribed_apps")
async def post_subscriptions(
    object_id: str, state: StateDep, token: TokenDep, params: ParamsDep
) -> JSONResponse:
    account = _account(state, token, object_id, "post")
    _scopes(token)
    return JSONResponse(subscriptions.subscribe(state, account, params))


@graph_router.delete("/{object_id}/subscribed_apps")
async def delete_subscriptions(object_id: str, state: StateDep, token: TokenDep) -> JSONResponse:
    account = _account(state, token, object_id, "delete")
    _scopes(token)
    return JSONResponse(subscriptions.unsubscribe(state, account))


@graph_router.get("/{object_id}/insights")
async def get_insights(
    object_id: str, state: StateDep, token: TokenDep, params: ParamsDep
) -> JSONResponse:
    kind, obj = _owned(state, token, object_id, "get")
    _scopes(token, INSIGHTS)
    if kind == "ig_user":
        return JSONResponse(insights.account_insights(state, obj, params))
    if kind == "ig_media":
        return JSONResponse(insights.media_insights(state, obj, params))
    raise errors.unsupported_request(object_id, "get")


# --- media and comment edges -------------------------------------------------------------------


@graph_router.get("/{object_id}/children")
async def list_children(
    object_id: str, state: StateDep, token: TokenDep, params: ParamsDep
) -> JSONResponse:
    kind, obj = _owned(state, token, object_id, "get")
    _scopes(token)
    if kind != "ig_media":
        raise errors.unsupported_request(object_id, "get")
    return JSONResponse(profile.children_list(state, obj, params))


@graph_router.get("/{object_id}/comments")
async def list_comments(
    object_id: str, request: Request, state: StateDep, token: TokenDep, params: ParamsDep
) -> JSONResponse:
    kind, obj = _owned(state, token, object_id, "get")
    _scopes(token, COMMENTS)
    if kind != "ig_media":
        raise errors.unsupported_request(object_id, "get")
    return JSONResponse(comments.list_comments(request, state, obj, params))


@graph_router.post("/{object_id}/comments")
async def create_comment(
    object_id: str, state: StateDep, token: TokenDep, params: ParamsDep
) -> JSONResponse:
    kind, obj = _owned(state, token, object_id, "post")
    _scopes(token, COMMENTS)
    if kind != "ig_media":
        raise errors.unsupported_request(object_id, "post")
    account = state.instagram.accounts[token.subject_id]
    return JSONResponse(comments.business_comment(state, account, obj, params))


@graph_router.get("/{object_id}/replies")
async def list_replies(
    object_id: str, request: Request, state: StateDep, token: TokenDep, params: ParamsDep
) -> JSONResponse:
    kind, obj = _owned(state, token, object_id, "get")
    _scopes(token, COMMENTS)
    if kind != "ig_comment":
        raise errors.unsupported_request(object_id, "get")
    return JSONResponse(comments.list_replies(request, state, obj, params))


@graph_router.post("/{object_id}/replies")
async def create_reply(
    object_id: str, state: StateDep, token: TokenDep, params: ParamsDep
) -> JSONResponse:
    kind, obj = _owned(state, token, object_id, "post")
    _scopes(token, COMMENTS)
    if kind != "ig_comment":
        raise errors.unsupported_request(object_id, "post")
    account = state.instagram.accounts[token.subject_id]
    return JSONResponse(comments.business_reply(state, account, obj, params))


# --- everything else ------------------------------------------------------------------------------


@fallback_router.api_route(
    "/{object_id}", methods=["GET", "POST", "DELETE"], include_in_schema=False
)
async def unknown_object(object_id: str, request: Request) -> JSONResponse:
    raise errors.unsupported_request(object_id, request.method)


@fallback_router.api_route(
    "/{object_id}/{edge}", methods=["GET", "POST", "DELETE"], include_in_schema=False
)
async def unknown_edge(object_id: str, edge: str, request: Request) -> JSONResponse:
    raise errors.unsupported_request(object_id, request.method)
