"""``/webhooks/instagram``: Meta's verification handshake and the deliveries.

The POST is a hot path: it reads the raw body, checks the signature, stores the bytes and answers
200. Parsing happens in the processing job, so malformed or unknown payloads are stored too (and
marked unprocessable there) and never cost Meta a retry or us a 500.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.background import BackgroundTask
from starlette.requests import ClientDisconnect

from socialsell.core.deps import SettingsDep
from socialsell.core.errors import AppError, Forbidden
from socialsell.settings import Settings
from socialsell.webhooks import intake, service

router = APIRouter(prefix="/webhooks", tags=["webhooks"], lifespan=intake.intake_lifespan)


class InvalidSignature(AppError):
    status_code = 401
    code = "invalid_signature"
    default_message = "The X-Hub-Signature-256 header is missing or does not match the body."


class PayloadTooLarge(AppError):
    status_code = 413
    code = "payload_too_large"
    default_message = "The delivery is larger than this server accepts."


@router.get("/instagram", response_class=PlainTextResponse)
async def verify_instagram(request: Request, settings: SettingsDep) -> PlainTextResponse:
    """Meta's subscription handshake: echo ``hub.challenge`` when the verify token matches."""
    query = request.query_params
    token = query.get("hub.verify_token", "")
    expected = settings.meta_webhook_verify_token.get_secret_value()
    if query.get("hub.mode") != "subscribe" or not hmac.compare_digest(
        token.encode(), expected.encode()
    ):
        raise Forbidden("The verify token does not match.")
    return PlainTextResponse(query.get("hub.challenge", "")[:200])


@router.post("/instagram", status_code=200)
async def receive_instagram(request: Request) -> Response:
    return await receive(request, "instagram")


async def receive(request: Request, platform: str) -> Response:
    """The hot path, kept lean (see bench/webhook_bench.py): no dependencies to solve, one INSERT
    committed before the 200 (webhooks/intake.py), and the processing job's doorbell rung after
    the response — the row is the truth; a doorbell lost with the process is rung again by the
    tick."""
    settings: Settings = request.app.state.settings
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > settings.webhook_max_body_bytes:
        raise PayloadTooLarge
    try:
        body = await request.body()
    except ClientDisconnect:  # gone before the body was read: nothing stored, nobody to answer
        return Response(status_code=400)
    if len(body) > settings.webhook_max_body_bytes:
        raise PayloadTooLarge
    if not service.signature_valid(
        settings.meta_app_secret.get_secret_value(),
        body,
        request.headers.get("x-hub-signature-256"),
    ):
        raise InvalidSignature
    webhook_intake = intake.intake_of(request.app)
    delivery_id = await webhook_intake.store.store(platform, body)
    return Response(
        status_code=200, background=BackgroundTask(webhook_intake.doorbell.ring, str(delivery_id))
    )


@router.get("/whatsapp", response_class=PlainTextResponse)
async def verify_whatsapp(request: Request, settings: SettingsDep) -> PlainTextResponse:
    """The same handshake for the app's `whatsapp_business_account` subscription."""
    return await verify_instagram(request, settings)


@router.post("/whatsapp", status_code=200)
async def receive_whatsapp(request: Request) -> Response:
    """WhatsApp Business Account deliveries: the same path as Instagram's."""
    return await receive(request, "whatsapp")
