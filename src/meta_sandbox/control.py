"""The control API under ``/_sandbox/`` (JSON; OpenAPI at ``/_sandbox/docs``): play the customer,
create test accounts, move the clock, plan faults, inspect what the product did, reset.

Not part of Meta's API: no usage headers, faults or rate limits apply here.
"""

from __future__ import annotations

import base64
import json
import secrets
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from meta_sandbox import errors
from meta_sandbox.deps import StateDep, get_dispatcher
from meta_sandbox.instagram import comments as ig_comments
from meta_sandbox.instagram import messaging as ig_messaging
from meta_sandbox.instagram.common import iso
from meta_sandbox.instagram.models import SCOPES, IGAccount, Media, Persona, StoredFile
from meta_sandbox.media_files import sample_image, sample_video
from meta_sandbox.serialization import to_jsonable
from meta_sandbox.settings import SandboxSettings
from meta_sandbox.state import FaultPlan, SandboxState
from meta_sandbox.webhooks import WebhookDispatcher

router = APIRouter(prefix="/_sandbox", tags=["control"])
DispatcherDep = Annotated[WebhookDispatcher, Depends(get_dispatcher)]


def _not_found(what: str) -> HTTPException:
    return HTTPException(status_code=404, detail=f"{what} not found")


def _graph_error_to_http(exc: errors.GraphAPIError) -> HTTPException:
    return HTTPException(status_code=exc.status_code, detail=exc.envelope()["error"])


# --- reset, settings, clock ---------------------------------------------------------------------


@router.post("/reset")
async def reset(request: Request, state: StateDep) -> dict[str, Any]:
    """Back to an empty sandbox with the settings it was started with."""
    initial: SandboxSettings = request.app.state.initial_settings
    current: SandboxSettings = request.app.state.settings
    for name in SandboxSettings.model_fields:
        setattr(current, name, getattr(initial, name))
    state.reset()
    return {"success": True}


class SettingsPatch(BaseModel):
    model_config = {"extra": "forbid"}
    app_secret: str | None = None
    verify_token: str | None = None
    container_processing_seconds: float | None = None
    template_review_seconds: float | None = None
    webhook_timeout_seconds: float | None = None
    webhook_retry_base_seconds: float | None = None
    webhook_retry_max_age_seconds: float | None = None
    webhook_batch_window_seconds: float | None = None
    rate_limit_calls_per_hour: int | None = None
    app_rate_limit_calls_per_hour: int | None = None
    publishing_quota_total: int | None = None
    caption_max_hashtags: int | None = None
    caption_max_mentions: int | None = None
    caption_max_chars: int | None = None
    containers_per_day: int | None = None
    image_max_bytes: int | None = None
    container_expiry_seconds: float | None = None
    insights_seed: int | None = None
    oauth_redirect_uris: list[str] | None = None
    messaging_window_seconds: float | None = None


def _public_settings(settings: SandboxSettings) -> dict[str, Any]:
    return settings.model_dump()


@router.get("/settings")
async def get_settings_view(request: Request) -> dict[str, Any]:
    return _public_settings(request.app.state.settings)


@router.patch("/settings")
async def patch_settings(request: Request, patch: SettingsPatch) -> dict[str, Any]:
    """Change settings at run time (a reset restores the start-up values)."""
    settings: SandboxSettings = request.app.state.settings
    for name, value in patch.model_dump(exclude_none=True).items():
        setattr(settings, name, value)
    return _public_settings(settings)


class ClockMove(BaseModel):
    advance_seconds: float = Field(ge=0)


@router.get("/clock")
async def get_clock_view(state: StateDep) -> dict[str, Any]:
    now = state.clock.now()
    return {"now": now, "iso": iso(now), "controlled": state.clock.controlled}


@router.post("/clock")
async def move_clock(move: ClockMove, state: StateDep, dispatcher: DispatcherDep) -> dict[str, Any]:
    if not state.clock.controlled:
        raise HTTPException(
            status_code=409,
            detail="the clock is real; start with SOCIALSELL_SANDBOX_CONTROLLED_CLOCK=true",
        )
    state.clock.advance(move.advance_seconds)
    # State that fell due changes before this call returns; webhooks go out right after.
    await dispatcher.tick_now()
    now = state.clock.now()
    return {"now": now, "iso": iso(now), "controlled": True}


# --- Instagram accounts and personas -----------------------------------------------------------------


class AccountCreate(BaseModel):
    username: str = Field(min_length=1, max_length=30)
    name: str | None = None
    followers_count: int = 1200
    follows_count: int = 180
    account_type: Literal["Business", "Media_Creator"] = "Business"
    biography: str = ""
    scopes: list[str] | None = None  # default: all


def _account_view(state: SandboxState, account: IGAccount) -> dict[str, Any]:
    return {
        "id": account.id,
        "user_id": account.id,
        "app_scoped_id": account.app_scoped_id,
        "username": account.username,
        "name": account.name,
        "account_type": account.account_type,
        "followers_count": account.followers_count,
        "subscribed_fields": account.subscribed_fields,
    }


@router.post("/instagram/accounts", status_code=201)
async def create_account(body: AccountCreate, state: StateDep) -> dict[str, Any]:
    """A test Instagram professional account, with a valid long-lived token (all scopes)."""
    ig = state.instagram
    if ig.account_by_username(body.username):
        raise HTTPException(status_code=409, detail="username taken")
    scopes = set(body.scopes or SCOPES)
    unknown = scopes - set(SCOPES)
    if unknown:
        raise HTTPException(status_code=422, detail=f"unknown scopes: {sorted(unknown)}")
    account = IGAccount(
        id=state.new_id(),
        app_scoped_id=state.new_id(),
        username=body.username,
        name=body.name or body.username.replace("_", " ").title(),
        created_at=state.clock.now(),
        account_type=body.account_type,
        biography=body.biography,
        followers_count=body.followers_count,
        follows_count=body.follows_count,
        profile_picture_url=state.settings.public_url.rstrip("/")
        + "/_sandbox/samples/image.jpg?width=150&height=150&color=%23515bd4",
    )
    ig.accounts[account.id] = account
    ig.app_scoped[account.app_scoped_id] = account.id
    state.register_object(account.id, "ig_user")
    state.register_object(account.app_scoped_id, "ig_user")
    token = state.issue_token(
        subject_id=account.id,
        kind="instagram_user",
        scopes=scopes,
        lifetime_seconds=state.settings.long_lived_token_seconds,
        long_lived=True,
    )
    return {**_account_view(state, account), "access_token": token.token, "scopes": sorted(scopes)}


@router.get("/instagram/accounts")
async def list_accounts(state: StateDep) -> dict[str, Any]:
    return {"data": [_account_view(state, a) for a in state.instagram.accounts.values()]}


def _get_account(state: SandboxState, ig_id: str) -> IGAccount:
    account = state.instagram.accounts.get(state.instagram.app_scoped.get(ig_id, ig_id))
    if account is None:
        raise _not_found("account")
    return account


@router.get("/instagram/accounts/{ig_id}")
async def get_account(ig_id: str, state: StateDep) -> dict[str, Any]:
    return _account_view(state, _get_account(state, ig_id))


class PersonaCreate(BaseModel):
    username: str = Field(min_length=1, max_length=30)
    name: str | None = None


def _persona(state: SandboxState, username: str, name: str | None = None) -> Persona:
    ig = state.instagram
    found = ig.persona_by_username(username)
    if found:
        return found
    persona = Persona(
        id=state.new_id(),
        username=username,
        name=name or username.replace("_", " ").title(),
        created_at=state.clock.now(),
    )
    ig.personas[persona.id] = persona
    state.register_object(persona.id, "ig_persona")  # no Graph route serves personas
    return persona


def _persona_view(persona: Persona) -> dict[str, Any]:
    return {"id": persona.id, "username": persona.username, "name": persona.name}


@router.post("/instagram/personas", status_code=201)
async def create_persona(body: PersonaCreate, state: StateDep) -> dict[str, Any]:
    """A customer persona (an Instagram user with an IGSID); made on the fly by inbound calls."""
    return _persona_view(_persona(state, body.username, body.name))


@router.get("/instagram/personas")
async def list_personas(state: StateDep) -> dict[str, Any]:
    return {"data": [_persona_view(p) for p in state.instagram.personas.values()]}


class Inbound(BaseModel):
    from_username: str = Field(min_length=1, max_length=30)
    type: Literal[
        "text", "image", "story_mention", "story_reply", "reply", "reaction", "unreact", "read"
    ] = "text"
    text: str | None = None
    url: str | None = None  # image / story URL (default: a sample)
    mid: str | None = None  # message replied to, reacted to or read (default: latest sent)
    emoji: str | None = None
    story_id: str | None = None


@router.post("/instagram/accounts/{ig_id}/inbound")
async def inbound(
    ig_id: str, body: Inbound, state: StateDep, dispatcher: DispatcherDep
) -> dict[str, Any]:
    """A persona (made if new) writes to the account; delivered by signed webhook if subscribed."""
    account = _get_account(state, ig_id)
    persona = _persona(state, body.from_username)
    try:
        result = await ig_messaging.receive(
            state,
            dispatcher,
            account,
            persona,
            kind=body.type,
            text=body.text,
            url=body.url,
            mid=body.mid,
            emoji=body.emoji,
            story_id=body.story_id,
        )
    except errors.GraphAPIError as exc:
        raise _graph_error_to_http(exc) from exc
    return {
        "persona": _persona_view(persona),
        "message_id": result["mid"],
        "conversation_id": result["conversation_id"],
    }


class CommentCreate(BaseModel):
    from_username: str = Field(min_length=1, max_length=30)
    media_id: str
    text: str = Field(min_length=1, max_length=2200)
    parent_id: str | None = None


@router.post("/instagram/accounts/{ig_id}/comments", status_code=201)
async def persona_comment(
    ig_id: str, body: CommentCreate, state: StateDep, dispatcher: DispatcherDep
) -> dict[str, Any]:
    """A persona comments on one of the account's media (``comments`` webhook)."""
    account = _get_account(state, ig_id)
    media = state.instagram.media.get(body.media_id)
    if media is None or media.owner_id != account.id:
        raise _not_found("media")
    if body.parent_id and body.parent_id not in state.instagram.comments:
        raise _not_found("parent comment")
    persona = _persona(state, body.from_username)
    comment = await ig_comments.persona_comment(
        state, dispatcher, account, media, persona, body.text, body.parent_id
    )
    return {
        "id": comment.id,
        "media_id": media.id,
        "persona": _persona_view(persona),
        "text": comment.text,
    }


def _message_view(state: SandboxState, mid: str) -> dict[str, Any]:
    m = state.instagram.messages[mid]
    persona = state.instagram.personas.get(m.to_id if m.outgoing else m.from_id)
    return {
        "id": m.id,
        "conversation_id": m.conversation_id,
        "direction": "outgoing" if m.outgoing else "incoming",
        "from_id": m.from_id,
        "to_id": m.to_id,
        "persona": persona.username if persona else None,
        "text": m.text,
        "attachments": m.attachments,
        "reply_to": m.reply_to,
        "reactions": m.reactions,
        "created_time": iso(m.created_at),
        "timestamp": m.created_at,
        "read": m.read_at is not None,
    }


@router.get("/instagram/accounts/{ig_id}/sent")
async def sent(ig_id: str, state: StateDep) -> dict[str, Any]:
    """Messages the business sent through the API, oldest first."""
    account = _get_account(state, ig_id)
    mids = [
        m.id
        for m in sorted(state.instagram.messages.values(), key=lambda m: (m.created_at, m.id))
        if m.account_id == account.id and m.outgoing
    ]
    return {"data": [_message_view(state, mid) for mid in mids]}


@router.get("/instagram/accounts/{ig_id}/conversations")
async def conversations(ig_id: str, state: StateDep) -> dict[str, Any]:
    account = _get_account(state, ig_id)
    convs = sorted(
        (c for c in state.instagram.conversations.values() if c.account_id == account.id),
        key=lambda c: c.updated_at,
        reverse=True,
    )
    return {
        "data": [
            {
                "id": c.id,
                "persona": _persona_view(state.instagram.personas[c.persona_id]),
                "updated_time": iso(c.updated_at),
                "messages": [_message_view(state, mid) for mid in c.message_ids],
            }
            for c in convs
        ]
    }


def _media_view(state: SandboxState, media: Media) -> dict[str, Any]:
    comments = sorted(
        (c for c in state.instagram.comments.values() if c.media_id == media.id),
        key=lambda c: c.created_at,
    )
    return {
        "id": media.id,
        "media_type": media.media_type,
        "media_product_type": media.media_product_type,
        "caption": media.caption,
        "media_url": media.media_url,
        "children": media.children,
        "container_id": media.container_id,
        "timestamp": iso(media.created_at),
        "via_api": media.via_api,
        "comments": [
            {
                "id": c.id,
                "username": c.username,
                "text": c.text,
                "parent_id": c.parent_id,
                "hidden": c.hidden,
            }
            for c in comments
        ],
    }


@router.get("/instagram/accounts/{ig_id}/published")
async def published(ig_id: str, state: StateDep) -> dict[str, Any]:
    """Media published through the API (``media_publish``), oldest first."""
    account = _get_account(state, ig_id)
    items = sorted(
        (
            m
            for m in state.instagram.media.values()
            if m.owner_id == account.id and m.via_api and not m.is_carousel_child
        ),
        key=lambda m: (m.created_at, m.id),
    )
    return {"data": [_media_view(state, m) for m in items]}


@router.get("/instagram/accounts/{ig_id}/media")
async def all_media(ig_id: str, state: StateDep) -> dict[str, Any]:
    """The account's feed as the phone shows it (seeded and published), newest first."""
    account = _get_account(state, ig_id)
    items = sorted(
        (
            m
            for m in state.instagram.media.values()
            if m.owner_id == account.id and not m.is_carousel_child
        ),
        key=lambda m: (m.created_at, m.id),
        reverse=True,
    )
    return {"data": [_media_view(state, m) for m in items]}


class MediaSeed(BaseModel):
    caption: str = ""
    media_product_type: Literal["FEED", "REELS", "STORY"] = "FEED"
    image_url: str | None = None


def _sample_url(state: SandboxState) -> str:
    # A different colour per post so the phone's grid tells posts apart.
    palette = ("%23d62976", "%23fa7e1e", "%23feda75", "%23962fbf", "%234f5bd5", "%2300a884")
    colour = palette[len(state.instagram.media) % len(palette)]
    return state.settings.public_url.rstrip("/") + f"/_sandbox/samples/image.jpg?color={colour}"


@router.post("/instagram/accounts/{ig_id}/media", status_code=201)
async def seed_media(ig_id: str, body: MediaSeed, state: StateDep) -> dict[str, Any]:
    """Put a post on the account as if it had been made in the app (not through the API)."""
    account = _get_account(state, ig_id)
    media = Media(
        id=state.new_id(),
        owner_id=account.id,
        media_type="VIDEO" if body.media_product_type == "REELS" else "IMAGE",
        media_product_type=body.media_product_type,
        caption=body.caption,
        created_at=state.clock.now(),
        shortcode=secrets.token_urlsafe(8)[:11],
        media_url=body.image_url or _sample_url(state),
        like_count=secrets.randbelow(200),
    )
    state.instagram.media[media.id] = media
    state.register_object(media.id, "ig_media")
    return _media_view(state, media)


# --- tokens ----------------------------------------------------------------------------------------


class TokenCreate(BaseModel):
    subject_id: str
    kind: Literal["instagram_user", "system_user"] = "instagram_user"
    scopes: list[str] = Field(default_factory=lambda: list(SCOPES))
    lifetime_seconds: float | None = None
    long_lived: bool = True


def _token_view(state: SandboxState, value: str) -> dict[str, Any]:
    t = state.tokens[value]
    return {
        "access_token": t.token,
        "subject_id": t.subject_id,
        "kind": t.kind,
        "scopes": t.scopes,
        "issued_at": t.issued_at,
        "expires_at": t.expires_at,
        "long_lived": t.long_lived,
        "revoked": t.revoked,
    }


@router.post("/tokens", status_code=201)
async def create_token(body: TokenCreate, state: StateDep) -> dict[str, Any]:
    """Issue a token with chosen scopes and lifetime (e.g. to test permission errors)."""
    if body.subject_id not in state.objects:
        raise _not_found("subject")
    token = state.issue_token(
        subject_id=body.subject_id,
        kind=body.kind,
        scopes=set(body.scopes),
        lifetime_seconds=body.lifetime_seconds,
        long_lived=body.long_lived,
    )
    return _token_view(state, token.token)


@router.get("/tokens/{token}")
async def get_token(token: str, state: StateDep) -> dict[str, Any]:
    if token not in state.tokens:
        raise _not_found("token")
    return _token_view(state, token)


@router.post("/tokens/{token}/expire")
async def expire_token(token: str, state: StateDep) -> dict[str, Any]:
    """Make the token expired now (Graph calls then answer 190/463)."""
    found = state.tokens.get(token)
    if found is None:
        raise _not_found("token")
    found.expires_at = state.clock.now()
    return _token_view(state, token)


@router.post("/tokens/{token}/revoke")
async def revoke_token(token: str, state: StateDep) -> dict[str, Any]:
    """The user removed the app (Graph calls then answer 190/458)."""
    found = state.tokens.get(token)
    if found is None:
        raise _not_found("token")
    found.revoked = True
    return _token_view(state, token)


# --- webhooks -------------------------------------------------------------------------------------


class WebhookSubscribe(BaseModel):
    object: Literal["instagram", "whatsapp_business_account"]
    callback_url: str
    verify_token: str


@router.put("/webhooks")
async def put_webhook(
    body: WebhookSubscribe, dispatcher: DispatcherDep, state: StateDep
) -> dict[str, Any]:
    """Set the app's callback for an object, after Meta's verification handshake."""
    try:
        await dispatcher.subscribe(body.object, body.callback_url, body.verify_token)
    except errors.GraphAPIError as exc:
        raise _graph_error_to_http(exc) from exc
    return {"success": True, **to_jsonable(state.subscriptions[body.object])}


@router.get("/webhooks")
async def get_webhooks(state: StateDep) -> dict[str, Any]:
    return {"data": [to_jsonable(s) for s in state.subscriptions.values()]}


@router.delete("/webhooks/{object_name}")
async def delete_webhook(object_name: str, dispatcher: DispatcherDep) -> dict[str, Any]:
    dispatcher.unsubscribe(object_name)
    return {"success": True}


@router.get("/webhooks/deliveries")
async def deliveries(state: StateDep, object: str | None = None) -> dict[str, Any]:
    """Every delivery with its exact body, signature, state and attempts, oldest first."""
    out = []
    for d in state.deliveries:
        if object and d.object != object:
            continue
        view = to_jsonable(d)
        view["payload"] = json.loads(d.body)
        out.append(view)
    return {"data": out}


@router.post("/webhooks/flush")
async def flush(dispatcher: DispatcherDep) -> dict[str, Any]:
    """Send pending entries now instead of waiting for the batch window."""
    await dispatcher.flush()
    return {"success": True}


# --- faults --------------------------------------------------------------------------------------


class FaultCreate(BaseModel):
    kind: Literal[
        "rate_limit", "transient", "slow", "webhook_duplicate", "webhook_reorder", "webhook_drop"
    ]
    count: int = Field(default=1, ge=1)
    code: int | None = None
    error_subcode: int | None = None
    latency_seconds: float = Field(default=0.0, ge=0, le=120)
    path_contains: str | None = None
    method: str | None = None


@router.post("/faults", status_code=201)
async def plan_fault(body: FaultCreate, state: StateDep) -> dict[str, Any]:
    """Plan a fault for the next ``count`` Graph calls (or webhook deliveries)."""
    if body.kind == "rate_limit" and body.code not in (
        None,
        4,
        17,
        32,
        613,
        80002,
        130429,
        80007,
        131056,
    ):
        raise HTTPException(
            status_code=422,
            detail="rate_limit code must be 4, 17, 32 or 613 (or a WhatsApp throttle code)",
        )
    plan = FaultPlan(
        id=state.new_id(),
        kind=body.kind,
        remaining=body.count,
        code=body.code,
        error_subcode=body.error_subcode,
        latency_seconds=body.latency_seconds,
        path_contains=body.path_contains,
        method=body.method,
    )
    state.faults.append(plan)
    view: dict[str, Any] = to_jsonable(plan)
    return view


@router.get("/faults")
async def list_faults(state: StateDep) -> dict[str, Any]:
    return {"data": [to_jsonable(p) for p in state.faults]}


@router.delete("/faults")
async def clear_faults(state: StateDep) -> dict[str, Any]:
    state.faults.clear()
    return {"success": True}


# --- inspection ----------------------------------------------------------------------------------


@router.get("/calls")
async def calls(state: StateDep, limit: int = 500) -> dict[str, Any]:
    """The Graph API call log (method, path, status, time, subject, error code), oldest first."""
    return {"data": [to_jsonable(c) for c in state.call_log[-limit:]]}


# --- files: samples, uploads and the sandbox CDN ------------------------------------------------


@router.get("/samples/image.jpg", response_class=Response)
async def sample_jpeg(
    width: int = 1080, height: int = 1080, color: str = "#d62976", format: str = "JPEG"
) -> Response:
    """A generated image (JPEG by default; ``format=PNG`` to test format errors)."""
    if not (1 <= width <= 8000 and 1 <= height <= 8000) or format.upper() not in (
        "JPEG",
        "PNG",
        "GIF",
        "WEBP",
    ):
        raise HTTPException(status_code=422, detail="bad size or format")
    media_type = {
        "JPEG": "image/jpeg",
        "PNG": "image/png",
        "GIF": "image/gif",
        "WEBP": "image/webp",
    }[format.upper()]
    return Response(sample_image(width, height, format, color), media_type=media_type)


@router.get("/samples/video.mp4", response_class=Response)
async def sample_mp4(duration: float = 10.0) -> Response:
    """A minimal MP4 (ftyp + mvhd with the given duration) that passes the sandbox's checks."""
    return Response(sample_video(duration), media_type="video/mp4")


@router.post("/files", status_code=201)
async def upload_file(request: Request, state: StateDep) -> dict[str, Any]:
    """Host raw bytes (body) at a URL the sandbox can download from, e.g. an oversized image."""
    data = await request.body()
    file_id = secrets.token_hex(8)
    content_type = request.headers.get("content-type", "application/octet-stream")
    state.instagram.files[file_id] = StoredFile(
        id=file_id, content_type=content_type, data_b64=base64.b64encode(data).decode()
    )
    return {
        "id": file_id,
        "url": state.settings.public_url.rstrip("/") + f"/_sandbox/cdn/{file_id}",
        "size": len(data),
    }


@router.get("/cdn/{file_id}", response_class=Response)
async def cdn(file_id: str, state: StateDep) -> Response:
    """Media URLs handed out by the sandbox (published media, uploads)."""
    stored = state.instagram.files.get(file_id)
    if stored is None:
        raise _not_found("file")
    return Response(base64.b64decode(stored.data_b64), media_type=stored.content_type)
