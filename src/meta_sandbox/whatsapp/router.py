"""Graph routes of the WhatsApp Cloud API.

Paths are unversioned (the core strips `/vNN.N`). Routes are built with the core's
`kind_route(...)`, so `/{id}/...` only matches ids registered with the WhatsApp kind it expects;
Instagram's `/{id}/messages`, `/{id}/media` and `/{id}/subscribed_apps` share the same path
shapes and the core's catch-all answers Meta's "Unsupported request" for anything else.

| method | path | permission |
|---|---|---|
| POST | /{phone_number_id}/messages | whatsapp_business_messaging |
| POST | /{phone_number_id}/media | whatsapp_business_messaging |
| GET | /{phone_number_id} | messaging or management |
| GET, DELETE | /{media_id} | whatsapp_business_messaging |
| GET | /whatsapp_business/attachments/?mid=..&ext=..&hash=.. | bearer token (messaging) |
| GET | /{waba_id}, /{waba_id}/phone_numbers | whatsapp_business_management |
| GET, POST, DELETE | /{waba_id}/message_templates | whatsapp_business_management |
| GET, POST, DELETE | /{waba_id}/subscribed_apps | whatsapp_business_management |
| GET | /{template_id} | whatsapp_business_management |
| POST | /{app_id}/uploads, /upload:<id>; GET /upload:<id> | access token (`uploads`) |
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from meta_sandbox import errors
from meta_sandbox.deps import ParamsDep, TokenDep, bearer_token, graph_params
from meta_sandbox.routing import kind_route
from meta_sandbox.whatsapp import media as media_files
from meta_sandbox.whatsapp import messages, templates, uploads
from meta_sandbox.whatsapp.access import (
    media_for,
    phone_for,
    template_for,
    waba_for,
)
from meta_sandbox.whatsapp.context import Ctx, ctx_of
from meta_sandbox.whatsapp.errors import invalid_parameter, missing_parameter, template_error
from meta_sandbox.whatsapp.schedule import run_due
from meta_sandbox.whatsapp.state import (
    KIND_MEDIA,
    KIND_PHONE_NUMBER,
    KIND_TEMPLATE,
    KIND_WABA,
    MEDIA_URL_TTL_SECONDS,
    SCOPE_MANAGEMENT,
    SCOPE_MESSAGING,
    Media,
    PhoneNumber,
    SubscribedApp,
    Template,
)

# A deleted template's name stays reserved in its language for 30 days (Meta's rule).
DELETED_NAME_RESERVED_SECONDS = 30 * 86_400

phone_router = APIRouter(route_class=kind_route(KIND_PHONE_NUMBER))
waba_router = APIRouter(route_class=kind_route(KIND_WABA))
media_router = APIRouter(route_class=kind_route(KIND_MEDIA))
template_router = APIRouter(route_class=kind_route(KIND_TEMPLATE))
download_router = APIRouter()


# How many received requests `GET /_sandbox/whatsapp/requests` keeps.
REQUEST_LOG_SIZE = 2000


async def record_request(ctx: Ctx, request: Request) -> None:
    """Keep what the client sent (secrets left out). JSON bodies are kept as parsed; multipart
    uploads as their field names and the file's name and type, not the bytes."""
    content_type = request.headers.get("content-type", "")
    body: Any = None
    if request.method in ("POST", "PUT", "DELETE"):
        raw = await request.body()  # cached: the route reads it again
        if "multipart/form-data" in content_type:
            form = await request.form()
            body = {
                name: value
                if isinstance(value, str)
                else {"filename": value.filename, "content_type": value.content_type}
                for name, value in form.multi_items()
            }
        elif raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = {k: v for k, v in parse_qsl(raw.decode(errors="replace"))}
        if isinstance(body, dict):
            body.pop("access_token", None)
    query = {k: v for k, v in request.query_params.items() if k != "access_token"}
    # The path as sent: the version prefix the core strips before routing is put back.
    version = (request.scope.get("state") or {}).get("api_version")
    ctx.wa.requests.append(
        {
            "method": request.method,
            "path": f"/{version}{request.url.path}" if version else request.url.path,
            "query": query,
            "content_type": content_type.split(";")[0].strip() or None,
            "body": body,
        }
    )
    del ctx.wa.requests[:-REQUEST_LOG_SIZE]


async def _ctx(request: Request) -> Ctx:
    ctx = ctx_of(request)
    await record_request(ctx, request)
    await run_due(ctx)
    return ctx


def _fields(params: dict[str, Any], default: tuple[str, ...]) -> list[str]:
    raw = params.get("fields")
    if not raw:
        return list(default)
    return [f.strip() for f in str(raw).split(",") if f.strip()]


def _pick(available: dict[str, Any], fields: list[str], node_type: str) -> dict[str, Any]:
    for name in fields:
        if name not in available:
            raise errors.invalid_parameter(
                f"(#100) Tried accessing nonexisting field ({name}) on node type ({node_type})"
            )
    return {name: available[name] for name in fields}


def _page(items: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
    """Cursor paging (`limit`, `after`, `before`) with opaque base64 cursors, as Graph does."""

    def cursor(index: int) -> str:
        return base64.b64encode(str(index).encode()).decode()

    def index_of(value: Any) -> int:
        try:
            return int(base64.b64decode(str(value)).decode())
        except (ValueError, UnicodeDecodeError):
            raise errors.invalid_parameter("Invalid cursor") from None

    try:
        limit = max(1, min(int(params.get("limit", 25)), 100))
    except ValueError:
        raise errors.invalid_parameter("Param limit must be an integer") from None
    start = 0
    if params.get("after"):
        start = index_of(params["after"]) + 1
    elif params.get("before"):
        start = max(0, index_of(params["before"]) - limit)
    page = items[start : start + limit]
    body: dict[str, Any] = {"data": page}
    if page:
        body["paging"] = {
            "cursors": {"before": cursor(start), "after": cursor(start + len(page) - 1)}
        }
        # Graph names the next/previous page only when there is one; clients follow `next`.
        if start + len(page) < len(items):
            body["paging"]["next"] = f"?limit={limit}&after={cursor(start + len(page) - 1)}"
        if start > 0:
            body["paging"]["previous"] = f"?limit={limit}&before={cursor(start)}"
    return body


# --- phone numbers -----------------------------------------------------------------------------


def phone_json(phone: PhoneNumber) -> dict[str, Any]:
    return {
        "id": phone.id,
        "display_phone_number": phone.display_phone_number,
        "verified_name": phone.verified_name,
        "quality_rating": phone.quality_rating,
        "messaging_limit_tier": phone.messaging_limit_tier,
        "whatsapp_business_manager_messaging_limit": phone.messaging_limit_tier,
        "code_verification_status": phone.code_verification_status,
        "name_status": phone.name_status,
        "platform_type": "CLOUD_API",
        "throughput": {"level": "HIGH" if phone.throughput_mps > 80 else "STANDARD"},
        "status": "CONNECTED",
        "account_mode": "LIVE",
        "is_official_business_account": False,
    }


PHONE_DEFAULT_FIELDS = ("id", "display_phone_number", "verified_name", "quality_rating")


@phone_router.get("/{phone_number_id}")
async def get_phone_number(
    request: Request, phone_number_id: str, token: TokenDep, params: ParamsDep
) -> dict[str, Any]:
    ctx = await _ctx(request)
    phone = phone_for(ctx, token, phone_number_id, "get", SCOPE_MANAGEMENT, SCOPE_MESSAGING)
    fields = _fields(params, PHONE_DEFAULT_FIELDS)
    if "id" not in fields:
        fields.append("id")  # Graph always returns the node's id
    return _pick(phone_json(phone), fields, "WhatsAppBusinessPhoneNumber")


async def handle_messages(request: Request, phone_number_id: str) -> JSONResponse:
    """`POST /{phone_number_id}/messages`: send a message, or mark one read."""
    token = await bearer_token(request)
    body = await graph_params(request)
    ctx = await _ctx(request)
    phone = phone_for(ctx, token, phone_number_id, "post", SCOPE_MESSAGING)
    body.pop("access_token", None)
    if "status" in body:
        return JSONResponse(messages.mark_read(ctx, phone, body))
    answer = await messages.send(ctx, phone, body)
    if phone.answer_delay_seconds:
        # The `sent` webhook goes out meanwhile and reaches the client before this answer.
        await asyncio.sleep(phone.answer_delay_seconds)
    return JSONResponse(answer)


@phone_router.post("/{phone_number_id}/messages")
async def post_messages(request: Request, phone_number_id: str) -> JSONResponse:
    return await handle_messages(request, phone_number_id)


@phone_router.post("/{phone_number_id}/media")
async def upload_media(request: Request, phone_number_id: str, token: TokenDep) -> dict[str, str]:
    ctx = await _ctx(request)
    phone = phone_for(ctx, token, phone_number_id, "post", SCOPE_MESSAGING)
    if "multipart/form-data" not in request.headers.get("content-type", ""):
        raise invalid_parameter("Upload media as multipart/form-data with a file part.")
    form = await request.form()
    if form.get("messaging_product") != "whatsapp":
        raise missing_parameter("messaging_product")
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise missing_parameter("file")
    data = await upload.read()
    declared = form.get("type")
    mime = (declared if isinstance(declared, str) and declared else upload.content_type) or ""
    mime = mime.split(";")[0].strip().lower()
    kind = media_files.MIME_TO_KIND.get(mime)
    if kind is None:
        supported = ", ".join(sorted(media_files.MIME_TO_KIND))
        raise invalid_parameter(
            f"Param file must be a file with one of the following types: {supported}. Received file of type '{mime}'."
        )
    limit = media_files.MEDIA_TYPES[kind][1]
    if not data or len(data) > limit:
        raise invalid_parameter(
            f"Param file must be a non-empty {kind} file of at most {limit} bytes."
        )
    media = Media(
        id=ctx.state.new_id(),
        phone_number_id=phone.id,
        mime_type=mime,
        data_b64=base64.b64encode(data).decode(),
        filename=upload.filename,
    )
    ctx.state.register_object(media.id, KIND_MEDIA)
    ctx.wa.media[media.id] = media
    return {"id": media.id}


# --- media -------------------------------------------------------------------------------------


def _check_phone_param(media: Media, params: dict[str, Any]) -> None:
    wanted = params.get("phone_number_id")
    if wanted and str(wanted) != media.phone_number_id:
        raise invalid_parameter(f"Media {media.id} does not belong to phone number {wanted}.")


@media_router.get("/{media_id}")
async def get_media(
    request: Request, media_id: str, token: TokenDep, params: ParamsDep
) -> dict[str, Any]:
    ctx = await _ctx(request)
    media = media_for(ctx, token, media_id, "get", SCOPE_MESSAGING)
    _check_phone_param(media, params)
    expires = int(ctx.now() + MEDIA_URL_TTL_SECONDS)
    data = media.data
    return {
        "messaging_product": "whatsapp",
        "url": media_files.download_url(
            ctx.settings.public_url, ctx.settings.app_secret, media, expires
        ),
        "mime_type": media.mime_type,
        "sha256": hashlib.sha256(data).hexdigest(),
        # The official spec types file_size as a string ("303833").
        "file_size": str(len(data)),
        "id": media.id,
    }


@media_router.delete("/{media_id}")
async def delete_media(
    request: Request, media_id: str, token: TokenDep, params: ParamsDep
) -> dict[str, bool]:
    ctx = await _ctx(request)
    media = media_for(ctx, token, media_id, "delete", SCOPE_MESSAGING)
    _check_phone_param(media, params)
    media.deleted = True
    return {"success": True}


@download_router.get(media_files.DOWNLOAD_PATH)
async def download_media(request: Request) -> Response:
    """The short-lived media URL: needs the bearer token, the signature and an unexpired `ext`."""
    token = await bearer_token(request)
    ctx = ctx_of(request)
    await record_request(ctx, request)
    query = request.query_params
    media_id = query.get("mid", "")
    ok = media_files.check_download(
        ctx.settings.app_secret, media_id, query.get("ext", ""), query.get("hash", ""), ctx.now()
    )
    media = ctx.wa.media.get(media_id)
    if not ok or media is None or media.deleted:
        # lookaside answers a plain 404 for expired or forged URLs.
        return Response(
            "URL signature expired or invalid", status_code=404, media_type="text/plain"
        )
    media_for(ctx, token, media_id, "get", SCOPE_MESSAGING)
    return Response(media.data, media_type=media.mime_type)


# --- WABA --------------------------------------------------------------------------------------


@waba_router.get("/{waba_id}")
async def get_waba(
    request: Request, waba_id: str, token: TokenDep, params: ParamsDep
) -> dict[str, Any]:
    ctx = await _ctx(request)
    waba = waba_for(ctx, token, waba_id, "get", SCOPE_MANAGEMENT)
    available = {
        "id": waba.id,
        "name": waba.name,
        "currency": waba.currency,
        "timezone_id": waba.timezone_id,
        "message_template_namespace": waba.message_template_namespace,
        "account_review_status": "APPROVED",
        "business_verification_status": "verified",
    }
    fields = _fields(params, ("id", "name", "timezone_id", "message_template_namespace"))
    if "id" not in fields:
        fields.append("id")
    return _pick(available, fields, "WhatsAppBusinessAccount")


@waba_router.get("/{waba_id}/phone_numbers")
async def list_phone_numbers(
    request: Request, waba_id: str, token: TokenDep, params: ParamsDep
) -> dict[str, Any]:
    ctx = await _ctx(request)
    waba = waba_for(ctx, token, waba_id, "get", SCOPE_MANAGEMENT)
    default = (
        "verified_name",
        "code_verification_status",
        "display_phone_number",
        "quality_rating",
        "platform_type",
        "throughput",
        "id",
    )
    fields = _fields(params, default)
    items = [
        _pick(phone_json(ctx.wa.phone_numbers[pid]), fields, "WhatsAppBusinessPhoneNumber")
        for pid in waba.phone_number_ids
    ]
    return _page(items, params)


# --- subscribed apps ---------------------------------------------------------------------------


def _app_data(sub: SubscribedApp) -> dict[str, Any]:
    item: dict[str, Any] = {
        "whatsapp_business_api_data": {
            "id": sub.app_id,
            "link": f"https://www.facebook.com/games/?app_id={sub.app_id}",
            "name": sub.app_name,
        }
    }
    if sub.override_callback_uri:
        item["override_callback_uri"] = sub.override_callback_uri
    return item


@waba_router.get("/{waba_id}/subscribed_apps")
async def get_subscribed_apps(request: Request, waba_id: str, token: TokenDep) -> dict[str, Any]:
    ctx = await _ctx(request)
    waba = waba_for(ctx, token, waba_id, "get", SCOPE_MANAGEMENT)
    return {"data": [_app_data(sub) for sub in waba.subscribed_apps.values()]}


@waba_router.post("/{waba_id}/subscribed_apps")
async def subscribe_app(
    request: Request, waba_id: str, token: TokenDep, params: ParamsDep
) -> dict[str, Any]:
    ctx = await _ctx(request)
    waba = waba_for(ctx, token, waba_id, "post", SCOPE_MANAGEMENT)
    override = params.get("override_callback_uri")
    verify_token = params.get("verify_token")
    if bool(override) != bool(verify_token):
        raise invalid_parameter("override_callback_uri and verify_token go together.")
    if override and not str(override).startswith(("http://", "https://")):
        raise errors.invalid_parameter("Invalid callback URI format")
    app_id = token.app_id or ctx.settings.app_id
    sub = SubscribedApp(
        app_id=app_id,
        app_name=ctx.settings.app_name,
        override_callback_uri=str(override) if override else None,
        verify_token=str(verify_token) if verify_token else None,
    )
    waba.subscribed_apps[app_id] = sub
    body: dict[str, Any] = {"success": True}
    if sub.override_callback_uri:
        body["data"] = [_app_data(sub)]
    return body


@waba_router.delete("/{waba_id}/subscribed_apps")
async def unsubscribe_app(request: Request, waba_id: str, token: TokenDep) -> dict[str, bool]:
    ctx = await _ctx(request)
    waba = waba_for(ctx, token, waba_id, "delete", SCOPE_MANAGEMENT)
    waba.subscribed_apps.pop(token.app_id or ctx.settings.app_id, None)
    return {"success": True}


# --- message templates -------------------------------------------------------------------------


def _visible(template: Template) -> bool:
    return template.status != "DELETED"


@waba_router.get("/{waba_id}/message_templates")
async def list_templates(
    request: Request, waba_id: str, token: TokenDep, params: ParamsDep
) -> dict[str, Any]:
    ctx = await _ctx(request)
    waba = waba_for(ctx, token, waba_id, "get", SCOPE_MANAGEMENT)
    found = [t for t in ctx.wa.templates.values() if t.waba_id == waba.id and _visible(t)]
    for key in ("name", "status", "category", "language"):
        wanted = params.get(key)
        if not wanted:
            continue
        if key == "name":
            found = [t for t in found if str(wanted) in t.name]
        else:
            allowed = {v.strip() for v in str(wanted).split(",")}
            found = [t for t in found if getattr(t, key) in allowed]
    fields = _fields(params, ())
    return _page([templates.template_json(t, fields or None) for t in found], params)


@waba_router.post("/{waba_id}/message_templates")
async def create_template(
    request: Request, waba_id: str, token: TokenDep, params: ParamsDep
) -> dict[str, Any]:
    ctx = await _ctx(request)
    waba = waba_for(ctx, token, waba_id, "post", SCOPE_MANAGEMENT)
    name, language, category, components, parameter_format = templates.validate_new_template(params)
    for component in components:
        if component["type"] == "HEADER" and component.get("format") in uploads.MEDIA_FORMATS:
            # `validate_new_template` made sure the example holds a non-empty handle list.
            for handle in component["example"]["header_handle"]:
                if not isinstance(handle, str) or not uploads.known_handle(ctx.wa, handle):
                    raise template_error(
                        2388047,
                        "Invalid sample media",
                        "example.header_handle must be a file handle from the Resumable Upload "
                        "API (POST /{app-id}/uploads).",
                    )
    now = ctx.now()
    for other in ctx.wa.templates.values():
        if other.waba_id != waba.id or other.name != name or other.language != language:
            continue
        if other.status != "DELETED":
            raise template_error(
                2388024,
                "Message template already exists",
                f"There is already {language} content for this template. Create a new template "
                "with a different name.",
            )
        if other.deleted_at is not None and now - other.deleted_at < DELETED_NAME_RESERVED_SECONDS:
            raise template_error(
                2388023,
                "Message template is being deleted",
                f"The {language} content of {name} is being deleted; the name can be reused "
                "30 days after deletion.",
            )
    template = Template(
        id=ctx.state.new_id(),
        waba_id=waba.id,
        name=name,
        language=language,
        category=category,
        components=components,
        parameter_format=parameter_format,
        created_at=now,
        review_due_at=now + ctx.settings.template_review_seconds,
    )
    ctx.state.register_object(template.id, KIND_TEMPLATE)
    ctx.wa.templates[template.id] = template
    return {"id": template.id, "status": "PENDING", "category": category}


@waba_router.delete("/{waba_id}/message_templates")
async def delete_template(
    request: Request, waba_id: str, token: TokenDep, params: ParamsDep
) -> dict[str, bool]:
    ctx = await _ctx(request)
    waba = waba_for(ctx, token, waba_id, "delete", SCOPE_MANAGEMENT)
    name = params.get("name")
    if not name:
        raise missing_parameter("name")
    hsm_id = params.get("hsm_id")
    matches = [
        t
        for t in ctx.wa.templates.values()
        if t.waba_id == waba.id
        and t.name == name
        and _visible(t)
        and (not hsm_id or t.id == str(hsm_id))
    ]
    if not matches:
        raise template_error(
            None, "Message template not found", f"No message template named {name} was found."
        )
    now = ctx.now()
    for template in matches:
        template.status = "DELETED"
        template.deleted_at = now
    return {"success": True}


@template_router.get("/{template_id}")
async def get_template(
    request: Request, template_id: str, token: TokenDep, params: ParamsDep
) -> dict[str, Any]:
    ctx = await _ctx(request)
    template = template_for(ctx, token, template_id, "get", SCOPE_MANAGEMENT)
    return templates.template_json(template, _fields(params, ()) or None)


router = APIRouter()
# The attachment path has no id: register it first so no `/{id}/{edge}` route sees it.
router.include_router(download_router)
router.include_router(phone_router)
router.include_router(waba_router)
router.include_router(media_router)
router.include_router(template_router)
router.include_router(uploads.router)
