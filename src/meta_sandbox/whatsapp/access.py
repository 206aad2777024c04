"""Who may touch which WhatsApp object: token scopes and business ownership.

A system-user token (the kind the control API issues) reaches the WABAs of its business. A
token without the endpoint's permission gets Graph's code 10; a token of another business gets
code 200 / subcode 1349174 as in the official spec's 403 examples.
"""

from __future__ import annotations

from meta_sandbox import errors
from meta_sandbox.state import AccessToken
from meta_sandbox.whatsapp.context import Ctx
from meta_sandbox.whatsapp.errors import not_your_asset
from meta_sandbox.whatsapp.state import Media, PhoneNumber, Template, Waba


def require_any_scope(token: AccessToken, *scopes: str) -> None:
    if not any(token.has_scope(scope) for scope in scopes):
        raise errors.permission_denied(scopes[0])


def _owns(ctx: Ctx, token: AccessToken, waba_id: str) -> bool:
    user = ctx.wa.system_users.get(token.subject_id)
    return user is not None and waba_id in user.waba_ids


def waba_for(ctx: Ctx, token: AccessToken, waba_id: str, method: str, *scopes: str) -> Waba:
    waba = ctx.wa.wabas.get(waba_id)
    if waba is None:
        raise errors.unsupported_request(waba_id, method)
    require_any_scope(token, *scopes)
    if not _owns(ctx, token, waba.id):
        raise not_your_asset(waba_id)
    return waba


def phone_for(
    ctx: Ctx, token: AccessToken, phone_id: str, method: str, *scopes: str
) -> PhoneNumber:
    phone = ctx.wa.phone_numbers.get(phone_id)
    if phone is None:
        raise errors.unsupported_request(phone_id, method)
    require_any_scope(token, *scopes)
    if not _owns(ctx, token, phone.waba_id):
        raise not_your_asset(phone_id)
    return phone


def media_for(ctx: Ctx, token: AccessToken, media_id: str, method: str, *scopes: str) -> Media:
    media = ctx.wa.media.get(media_id)
    phone = ctx.wa.phone_numbers.get(media.phone_number_id) if media else None
    if media is None or media.deleted or phone is None:
        # Deleted media is gone for good, as on Meta.
        raise errors.unsupported_request(media_id, method)
    require_any_scope(token, *scopes)
    if not _owns(ctx, token, phone.waba_id):
        raise not_your_asset(media_id)
    return media


def template_for(
    ctx: Ctx, token: AccessToken, template_id: str, method: str, *scopes: str
) -> Template:
    template = ctx.wa.templates.get(template_id)
    if template is None or template.status == "DELETED":
        raise errors.unsupported_request(template_id, method)
    require_any_scope(token, *scopes)
    if not _owns(ctx, token, template.waba_id):
        raise not_your_asset(template_id)
    return template
