"""Control API of the WhatsApp part, mounted at `/_sandbox/whatsapp` (JSON in, JSON out).

Play Meta's side of onboarding (a WABA, a number, a system-user token), play the customers
(personas that write, react, answer lists), steer what Meta would decide (template review,
quality rating, messaging limit, failed deliveries) and inspect what the business sent.
Errors are `{"detail": "..."}` with 404 (unknown id) or 422 (bad request), not Graph envelopes.
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from meta_sandbox.whatsapp import inbound, payloads, schedule, statuses
from meta_sandbox.whatsapp.context import Ctx, ctx_of
from meta_sandbox.whatsapp.errors import WHATSAPP_ERRORS
from meta_sandbox.whatsapp.router import phone_json
from meta_sandbox.whatsapp.state import (
    KIND_PHONE_NUMBER,
    KIND_SYSTEM_USER,
    KIND_WABA,
    MESSAGING_LIMIT_TIERS,
    QUALITY_RATINGS,
    SCOPE_MANAGEMENT,
    SCOPE_MESSAGING,
    WINDOW_ENFORCEMENTS,
    InboundMessage,
    OutboundMessage,
    Persona,
    PhoneNumber,
    SubscribedApp,
    SystemUser,
    Waba,
    WhatsAppState,
)
from meta_sandbox.whatsapp.templates import FORCEABLE_STATUSES, REJECTION_REASONS

control_router = APIRouter(tags=["whatsapp"])

SYSTEM_USER_SCOPES = {SCOPE_MESSAGING, SCOPE_MANAGEMENT, "business_management"}


async def _ctx(request: Request) -> Ctx:
    ctx = ctx_of(request)
    await schedule.run_due(ctx)
    return ctx


def _phone(ctx: Ctx, phone_number_id: str) -> PhoneNumber:
    phone = ctx.wa.phone_numbers.get(phone_number_id)
    if phone is None:
        raise HTTPException(status_code=404, detail=f"no phone number {phone_number_id}")
    return phone


def _persona(ctx: Ctx, wa_id: str) -> Persona:
    persona = ctx.wa.personas.get(wa_id)
    if persona is None:
        raise HTTPException(status_code=404, detail=f"no persona with wa_id {wa_id}")
    return persona


def _outbound(ctx: Ctx, message_id: str) -> OutboundMessage:
    message = ctx.wa.outbound.get(message_id)
    if message is None:
        raise HTTPException(status_code=404, detail=f"no business message {message_id}")
    return message


# --- accounts ----------------------------------------------------------------------------------


class AccountIn(BaseModel):
    business_name: str = "Sandbox Shop"
    verified_name: str | None = None
    # Add the number to this existing WABA instead of creating one.
    waba_id: str | None = None
    phone_number: str | None = Field(default=None, pattern=r"^\d{8,15}$")
    quality_rating: str = "GREEN"
    messaging_limit_tier: str = "TIER_250"
    # Subscribe the app to the WABA's webhooks right away (otherwise the product must call
    # `POST /{waba_id}/subscribed_apps`, as on Meta).
    subscribe_app: bool = False
    token_lifetime_seconds: float | None = None


@control_router.post("/accounts")
async def create_account(request: Request, body: AccountIn) -> dict[str, Any]:
    """A WABA with one phone number, plus a system-user token for both."""
    ctx = await _ctx(request)
    if body.quality_rating not in QUALITY_RATINGS:
        raise HTTPException(422, f"quality_rating must be one of {', '.join(QUALITY_RATINGS)}")
    if body.messaging_limit_tier not in MESSAGING_LIMIT_TIERS:
        raise HTTPException(
            422, f"messaging_limit_tier must be one of {', '.join(MESSAGING_LIMIT_TIERS)}"
        )
    if body.waba_id is not None:
        if body.waba_id not in ctx.wa.wabas:
            raise HTTPException(404, f"no WABA {body.waba_id}")
        waba = ctx.wa.wabas[body.waba_id]
        user = ctx.wa.system_users[waba.system_user_id]
    else:
        user = SystemUser(id=ctx.state.new_id())
        ctx.state.register_object(user.id, KIND_SYSTEM_USER)
        ctx.wa.system_users[user.id] = user
        waba = Waba(
            id=ctx.state.new_id(),
            name=body.business_name,
            system_user_id=user.id,
            message_template_namespace=secrets.token_hex(16),
        )
        ctx.state.register_object(waba.id, KIND_WABA)
        ctx.wa.wabas[waba.id] = waba
        user.waba_ids.add(waba.id)
    number = body.phone_number or ctx.wa.allocate_number()
    if any(p.number == number for p in ctx.wa.phone_numbers.values()):
        raise HTTPException(422, f"phone number {number} is already registered")
    phone = PhoneNumber(
        id=ctx.state.new_id(),
        waba_id=waba.id,
        number=number,
        verified_name=body.verified_name or body.business_name,
        quality_rating=body.quality_rating,
        messaging_limit_tier=body.messaging_limit_tier,
    )
    ctx.state.register_object(phone.id, KIND_PHONE_NUMBER)
    ctx.wa.phone_numbers[phone.id] = phone
    waba.phone_number_ids.append(phone.id)
    if body.subscribe_app:
        waba.subscribed_apps[ctx.settings.app_id] = SubscribedApp(
            app_id=ctx.settings.app_id, app_name=ctx.settings.app_name
        )
    token = ctx.state.issue_token(
        subject_id=user.id,
        kind="system_user",
        scopes=SYSTEM_USER_SCOPES,
        lifetime_seconds=body.token_lifetime_seconds,
    )
    return {
        "waba_id": waba.id,
        "phone_number_id": phone.id,
        "phone_number": phone.number,
        "display_phone_number": phone.display_phone_number,
        "verified_name": phone.verified_name,
        "system_user_id": user.id,
        "access_token": token.token,
        "scopes": token.scopes,
        "expires_at": token.expires_at,
    }


# --- personas ----------------------------------------------------------------------------------


class PersonaIn(BaseModel):
    wa_id: str | None = Field(default=None, pattern=r"^\d{8,15}$")
    name: str = "Sheena Nelson"
    reachable: bool = True
    auto_read: bool = True


class PersonaPatch(BaseModel):
    name: str | None = None
    reachable: bool | None = None
    auto_read: bool | None = None


def _persona_json(persona: Persona) -> dict[str, Any]:
    return {
        "wa_id": persona.wa_id,
        "name": persona.name,
        "reachable": persona.reachable,
        "auto_read": persona.auto_read,
    }


@control_router.post("/personas")
async def create_persona(request: Request, body: PersonaIn) -> dict[str, Any]:
    ctx = await _ctx(request)
    wa_id = body.wa_id or "1650555" + f"{secrets.randbelow(10_000):04d}"
    while body.wa_id is None and wa_id in ctx.wa.personas:
        wa_id = "1650555" + f"{secrets.randbelow(10_000):04d}"
    if wa_id in ctx.wa.personas:
        raise HTTPException(422, f"persona {wa_id} already exists")
    persona = Persona(
        wa_id=wa_id, name=body.name, reachable=body.reachable, auto_read=body.auto_read
    )
    ctx.wa.personas[wa_id] = persona
    return _persona_json(persona)


@control_router.get("/personas")
async def list_personas(request: Request) -> dict[str, Any]:
    ctx = await _ctx(request)
    return {"data": [_persona_json(p) for p in ctx.wa.personas.values()]}


@control_router.patch("/personas/{wa_id}")
async def update_persona(request: Request, wa_id: str, body: PersonaPatch) -> dict[str, Any]:
    ctx = await _ctx(request)
    persona = _persona(ctx, wa_id)
    for key, value in body.model_dump(exclude_none=True).items():
        setattr(persona, key, value)
    return _persona_json(persona)


# --- customers write ---------------------------------------------------------------------------


def _inbound_json(message: InboundMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "from": message.wa_id,
        "type": message.type,
        "is_read": message.is_read,
        "message": message.message,
    }


@control_router.post("/phone_numbers/{phone_number_id}/inbound")
async def persona_writes(
    request: Request, phone_number_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    """A persona writes to the number. Body: `{"from": wa_id, "type": ..., <kind fields>}`;
    optional `at` (epoch seconds in the past) dates the message earlier, to seed a history."""
    ctx = await _ctx(request)
    phone = _phone(ctx, phone_number_id)
    sender = body.get("from")
    if not isinstance(sender, str):
        raise HTTPException(422, "from (the persona's wa_id) is required")
    persona = _persona(ctx, sender)
    message = await inbound.receive(ctx, phone, persona, body)
    return _inbound_json(message)


@control_router.get("/phone_numbers/{phone_number_id}/inbound")
async def list_inbound(request: Request, phone_number_id: str) -> dict[str, Any]:
    """What customers wrote to the number, oldest first, with `is_read` (mark-as-read)."""
    ctx = await _ctx(request)
    phone = _phone(ctx, phone_number_id)
    items = [m for m in ctx.wa.inbound.values() if m.phone_number_id == phone.id]
    return {"data": [_inbound_json(m) for m in items]}


# --- numbers -----------------------------------------------------------------------------------


class PhonePatch(BaseModel):
    quality_rating: str | None = None
    messaging_limit_tier: str | None = None
    throughput_mps: int | None = Field(default=None, ge=1)
    pair_burst: int | None = Field(default=None, ge=1)
    pair_refill_seconds: float | None = Field(default=None, gt=0)
    window_enforcement: str | None = None
    answer_delay_seconds: float | None = Field(default=None, ge=0, le=30)
    verified_name: str | None = None


def _quality_event(phone: PhoneNumber, old_quality: str, old_tier: str) -> str | None:
    tiers = MESSAGING_LIMIT_TIERS
    if phone.messaging_limit_tier != old_tier:
        up = tiers.index(phone.messaging_limit_tier) > tiers.index(old_tier)
        return "UPGRADE" if up else "DOWNGRADE"
    if phone.quality_rating != old_quality:
        if phone.quality_rating == "RED":
            return "FLAGGED"
        if old_quality == "RED":
            return "UNFLAGGED"
    return None


@control_router.patch("/phone_numbers/{phone_number_id}")
async def update_phone_number(
    request: Request, phone_number_id: str, body: PhonePatch
) -> dict[str, Any]:
    """Set what Meta decides about a number; quality/limit changes emit
    `phone_number_quality_update`."""
    ctx = await _ctx(request)
    phone = _phone(ctx, phone_number_id)
    if body.quality_rating is not None and body.quality_rating not in QUALITY_RATINGS:
        raise HTTPException(422, f"quality_rating must be one of {', '.join(QUALITY_RATINGS)}")
    if (
        body.messaging_limit_tier is not None
        and body.messaging_limit_tier not in MESSAGING_LIMIT_TIERS
    ):
        raise HTTPException(
            422, f"messaging_limit_tier must be one of {', '.join(MESSAGING_LIMIT_TIERS)}"
        )
    if body.window_enforcement is not None and body.window_enforcement not in WINDOW_ENFORCEMENTS:
        raise HTTPException(
            422, f"window_enforcement must be one of {', '.join(WINDOW_ENFORCEMENTS)}"
        )
    old_quality, old_tier = phone.quality_rating, phone.messaging_limit_tier
    for key, value in body.model_dump(exclude_none=True).items():
        setattr(phone, key, value)
    event = _quality_event(phone, old_quality, old_tier)
    if event is not None:
        await ctx.emit(phone.waba_id, payloads.quality_update_entry(phone, event, ctx.now()))
    return {
        **phone_json(phone),
        "phone_number": phone.number,
        "waba_id": phone.waba_id,
        "throughput_mps": phone.throughput_mps,
        "pair_burst": phone.pair_burst,
        "pair_refill_seconds": phone.pair_refill_seconds,
        "window_enforcement": phone.window_enforcement,
        "answer_delay_seconds": phone.answer_delay_seconds,
    }


# --- what the business sent --------------------------------------------------------------------


def _outbound_json(ctx: Ctx, message: OutboundMessage) -> dict[str, Any]:
    template = ctx.wa.templates.get(message.template_id or "")
    return {
        "id": message.id,
        "phone_number_id": message.phone_number_id,
        "to": message.to,
        "type": message.type,
        "text": message.rendered_text,
        "context_message_id": message.context_message_id,
        "template": (
            {"id": template.id, "name": template.name, "language": template.language}
            if template
            else None
        ),
        "status": message.status,
        "statuses": [
            {"status": s.status, "timestamp": s.timestamp, "errors": s.errors}
            for s in message.statuses
        ],
        "pricing": {"category": message.pricing_category, "billable": message.billable},
        "created_at": message.created_at,
        "request": message.request,
    }


@control_router.get("/sent")
async def list_sent(
    request: Request, phone_number_id: str | None = None, to: str | None = None
) -> dict[str, Any]:
    """Everything businesses sent (accepted by `/messages`), oldest first."""
    ctx = await _ctx(request)
    items = sorted(ctx.wa.outbound.values(), key=lambda m: m.seq)
    if phone_number_id is not None:
        items = [m for m in items if m.phone_number_id == phone_number_id]
    if to is not None:
        items = [m for m in items if m.to == to]
    return {"data": [_outbound_json(ctx, m) for m in items]}


class FailIn(BaseModel):
    code: int = 131026
    details: str | None = None


@control_router.post("/messages/{message_id}/fail")
async def fail_message(request: Request, message_id: str, body: FailIn) -> dict[str, Any]:
    """Make a business message fail now (a `failed` status with Meta's error `code`)."""
    ctx = await _ctx(request)
    message = _outbound(ctx, message_id)
    if body.code not in WHATSAPP_ERRORS:
        raise HTTPException(422, f"code must be one of {sorted(WHATSAPP_ERRORS)}")
    if message.status in statuses.TERMINAL:
        raise HTTPException(422, f"message is already {message.status}")
    await statuses.fail(ctx, message, body.code, body.details)
    return _outbound_json(ctx, message)


@control_router.post("/messages/{message_id}/read")
async def read_message(request: Request, message_id: str) -> dict[str, Any]:
    """The persona opens the chat now (for personas with `auto_read: false`)."""
    ctx = await _ctx(request)
    message = _outbound(ctx, message_id)
    if message.status in statuses.TERMINAL:
        raise HTTPException(422, f"message is already {message.status}")
    await statuses.mark_read_by_persona(ctx, message)
    return _outbound_json(ctx, message)


# --- templates ---------------------------------------------------------------------------------


class DecisionIn(BaseModel):
    status: str = "APPROVED"
    reason: str | None = None
    # Hold the decision until the review delay is over instead of applying it now.
    at_review: bool = False


@control_router.post("/templates/{template_id}/decision")
async def decide_template(request: Request, template_id: str, body: DecisionIn) -> dict[str, Any]:
    """Force Meta's review outcome (or a later PAUSED/DISABLED/FLAGGED) for a template."""
    ctx = await _ctx(request)
    template = ctx.wa.templates.get(template_id)
    if template is None or template.status == "DELETED":
        raise HTTPException(404, f"no template {template_id}")
    if body.status not in FORCEABLE_STATUSES:
        raise HTTPException(422, f"status must be one of {', '.join(FORCEABLE_STATUSES)}")
    reason = body.reason or ("INVALID_FORMAT" if body.status == "REJECTED" else "NONE")
    if reason not in REJECTION_REASONS:
        raise HTTPException(422, f"reason must be one of {', '.join(REJECTION_REASONS)}")
    if body.at_review and template.status == "PENDING":
        template.forced_status, template.forced_reason = body.status, reason
    else:
        await schedule.decide_template(ctx, template, body.status, reason)
    return {
        "id": template.id,
        "name": template.name,
        "language": template.language,
        "status": template.status,
        "rejected_reason": template.rejected_reason,
        "forced_status": template.forced_status,
    }


# --- time and reset ----------------------------------------------------------------------------


@control_router.post("/tick")
async def tick(request: Request) -> dict[str, bool]:
    """Emit what is due on the sandbox clock now (every WhatsApp call does this first)."""
    await _ctx(request)
    return {"success": True}


@control_router.get("/undelivered")
async def list_undelivered(request: Request) -> dict[str, Any]:
    """Webhook entries dropped because no app was subscribed to their WABA."""
    ctx = await _ctx(request)
    return {"data": ctx.wa.undelivered}


@control_router.get("/requests")
async def list_requests(request: Request) -> dict[str, Any]:
    """The Graph requests received, oldest first: `method`, `path`, `query`, `content_type`,
    `body` (JSON as sent; multipart as field names, files by name and type)."""
    ctx = ctx_of(request)
    return {"data": ctx.wa.requests}


@control_router.post("/reset")
async def reset(request: Request) -> dict[str, bool]:
    """Forget every WhatsApp object (the core's `POST /_sandbox/reset` resets everything)."""
    ctx = ctx_of(request)
    for object_id in [
        *ctx.wa.wabas,
        *ctx.wa.phone_numbers,
        *ctx.wa.media,
        *ctx.wa.templates,
        *ctx.wa.system_users,
    ]:
        ctx.state.objects.pop(object_id, None)
    ctx.state.whatsapp = WhatsAppState()
    return {"success": True}
