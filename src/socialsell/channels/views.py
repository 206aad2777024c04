"""HTML pages of the channels domain: the Channels page with a card and a health panel per
account, the Instagram connect flow (start, OAuth callback), the WhatsApp number form and the
cards' actions.

Thin routes over the same service calls as channels.api. Every way a connection can fail ends
on the Channels page with the service's message, in the person's language, in an alert box at
the top (with the Connect button next to it), never on an error page.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from babel.dates import format_timedelta
from babel.numbers import format_decimal
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy import func, select

from socialsell.channels import service
from socialsell.channels.deps import MetaDep, SecretBoxDep
from socialsell.channels.errors import ConnectMetaError, ConnectMissingScope
from socialsell.channels.models import ChannelStatus, Platform
from socialsell.channels.schemas import ChannelRead, ChannelUpdate
from socialsell.core.deps import CsrfProtected, SessionDep, SettingsDep
from socialsell.core.errors import AppError
from socialsell.db import utcnow
from socialsell.web import flash
from socialsell.web.deps import PageUser, Viewer
from socialsell.web.forms import FORM_ERROR, app_error_messages, form_values, parse_form
from socialsell.web.templating import (
    ToastLevel,
    Translator,
    finish,
    is_htmx,
    redirect,
    render,
    request_translator,
    url_path,
)
from socialsell.whatsapp import service as whatsapp
from socialsell.whatsapp.schemas import WhatsAppConnect
from socialsell.whatsapp.templates.models import WhatsAppTemplate, WhatsAppTemplateSync

router = APIRouter(include_in_schema=False)

TOKEN_WARNING = timedelta(days=7)
USAGE_WARNING = 75  # percent of the hourly call budget


def N_(message: str) -> str:  # gettext's no-op marker: extracted, translated at render time
    return message


# English texts of the service (errors, statuses, scope purposes) shown on these pages.
SERVICE_MESSAGES = (
    N_("The account could not be connected. Start again from the Channels page."),
    N_(
        "You declined the permissions socialsell asked for, so nothing was connected. "
        "Connect again and accept them to use this account here."
    ),
    N_(
        "This connection link is not valid: it was altered or belongs to another sign-in. "
        "Start again from the Channels page."
    ),
    N_("This connection link was already used. Start again from the Channels page."),
    N_(
        "The connection took longer than 10 minutes and expired. "
        "Start again from the Channels page."
    ),
    N_(
        "This Instagram account is already connected in another socialsell workspace. "
        "Disconnect it there first, or ask that workspace's owner to invite you."
    ),
    N_("This account's connection has expired or was revoked. Reconnect it on the Channels page."),
    N_("This account is disconnected; its history is read-only. Reconnect it to use it."),
    N_("Instagram answered with an error; try again in a few minutes."),
    N_("This channel does not exist."),
    N_("Access was removed on Instagram (app removed or password changed)."),
    N_("The access token expired or is no longer valid."),
    N_("Disconnected by a member of the workspace."),
)
SCOPE_PURPOSES = {
    "instagram_business_basic": N_("read the profile"),
    "instagram_business_manage_messages": N_("read and answer DMs"),
    "instagram_business_content_publish": N_("publish posts"),
    "instagram_business_manage_comments": N_("read and answer comments"),
    "instagram_business_manage_insights": N_("show analytics"),
}
assert set(SCOPE_PURPOSES) == set(service.SCOPE_PURPOSE)  # noqa: S101 - kept in step at import
_SCOPE_NAME = re.compile(r"instagram_business_\w+")
_META_DETAIL = re.compile(r"\((.*)\)|: (.*)\.$")


# ---------------------------------------------------------------------------- presenting


@dataclass(frozen=True, slots=True)
class Moment:
    """A time shown relative ("3 minutes ago"), absolute on hover."""

    iso: str
    relative: str
    absolute: str


@dataclass(frozen=True, slots=True)
class Scope:
    name: str
    purpose: str
    granted: bool


@dataclass(frozen=True, slots=True)
class ChannelCard:
    channel: ChannelRead
    initials: str
    avatar_url: str | None
    status_label: str
    status_level: str  # success | warning | danger | neutral
    status_reason: str | None
    usable: bool
    token_expires: Moment | None
    token_days_left: int | None
    token_text: str
    token_level: str  # ok | warning | danger | none
    scopes: list[Scope]
    last_webhook: Moment | None
    last_api_call: Moment | None
    usage_percent: int | None
    followers: str | None
    connected: Moment

    @property
    def id(self) -> uuid.UUID:
        return self.channel.id


def relative_time(value: datetime, now: datetime, t: Translator) -> str:
    """ "3 minutes ago", "in 2 months", in the reader's language."""
    delta = value - now
    if abs(delta) < timedelta(minutes=1):
        return t.gettext("just now")
    return format_timedelta(delta, add_direction=True, threshold=1.1, locale=t.language)


def _moment(value: datetime | None, now: datetime, viewer: Viewer, t: Translator) -> Moment | None:
    if value is None:
        return None
    return Moment(
        iso=value.isoformat(),
        relative=relative_time(value, now, t),
        absolute=viewer.format_datetime(value),
    )


def _initials(channel: ChannelRead) -> str:
    source = channel.username or channel.name or "?"
    return source.lstrip("@")[:2].upper()


def _status(status: ChannelStatus, t: Translator) -> tuple[str, str]:
    if status == ChannelStatus.active:
        return t.gettext("Active"), "success"
    if status == ChannelStatus.token_expired:
        return t.gettext("Token expired"), "danger"
    if status == ChannelStatus.revoked:
        return t.gettext("Revoked"), "danger"
    return t.gettext("Disconnected"), "neutral"


def _token(channel: ChannelRead, now: datetime, t: Translator) -> tuple[int | None, str, str]:
    """Days left, the sentence, and its level."""
    if channel.status != ChannelStatus.active or channel.token_expires_at is None:
        if channel.status == ChannelStatus.disconnected:
            return None, t.gettext("Deleted when the account was disconnected"), "none"
        if channel.status in {ChannelStatus.token_expired, ChannelStatus.revoked}:
            return None, t.gettext("No longer valid: reconnect the account"), "danger"
        return None, t.gettext("Unknown"), "none"
    left = channel.token_expires_at - now
    if left <= timedelta(0):
        return 0, t.gettext("Expired: reconnect the account"), "danger"
    days = left.days
    if days < 1:
        return 0, t.gettext("Expires in less than a day"), "danger"
    text = t.ngettext("%(num)d day left", "%(num)d days left", days)
    return days, text, "warning" if left < TOKEN_WARNING else "ok"


def _usage(channel: ChannelRead) -> int | None:
    value = channel.api_usage.get("percent")
    if isinstance(value, int | float):
        return max(0, min(100, round(value)))
    return None


def present(channel: ChannelRead, viewer: Viewer, t: Translator, now: datetime) -> ChannelCard:
    status_label, status_level = _status(channel.status, t)
    days, token_text, token_level = _token(channel, now, t)
    picture = channel.profile_picture_url
    return ChannelCard(
        channel=channel,
        initials=_initials(channel),
        # The CSP loads images from this server and https only; others fall back to initials.
        avatar_url=picture if picture and picture.startswith("https://") else None,
        status_label=status_label,
        status_level=status_level,
        status_reason=t.gettext(channel.status_reason) if channel.status_reason else None,
        usable=channel.status == ChannelStatus.active,
        token_expires=_moment(channel.token_expires_at, now, viewer, t),
        token_days_left=days,
        token_text=token_text,
        token_level=token_level,
        scopes=[
            Scope(name=s, purpose=t.gettext(SCOPE_PURPOSES[s]), granted=s in channel.scopes)
            for s in service.INSTAGRAM_SCOPES
        ],
        last_webhook=_moment(channel.last_webhook_at, now, viewer, t),
        last_api_call=_moment(channel.last_api_success_at, now, viewer, t),
        usage_percent=_usage(channel),
        followers=None
        if channel.followers_count is None
        else t.ngettext(
            "%(count)s follower",
            "%(count)s followers",
            channel.followers_count,
            count=format_decimal(channel.followers_count, locale=t.language),
        ),
        connected=_moment(channel.connected_at, now, viewer, t)
        or Moment(iso="", relative="", absolute=""),
    )


# ---------------------------------------------------------------------------- WhatsApp numbers

QUALITY = {  # Meta's quality rating of a number: its level on the card, and what it means
    "GREEN": ("success", N_("High"), N_("Customers rarely block or report this number.")),
    "YELLOW": (
        "warning",
        N_("Medium"),
        N_("Customers block or report some messages; send only what they asked for."),
    ),
    "RED": (
        "danger",
        N_("Low"),
        N_("Meta may lower this number's messaging limit: send fewer, wanted messages."),
    ),
}
LIMITS = {  # business-initiated conversations with distinct customers per rolling 24 h
    "TIER_50": 50,
    "TIER_250": 250,
    "TIER_1K": 1_000,
    "TIER_2K": 2_000,
    "TIER_10K": 10_000,
    "TIER_100K": 100_000,
}
TEMPLATE_STATUSES = (  # the order the card lists them in
    ("APPROVED", N_("Approved"), "success"),
    ("PENDING", N_("In review"), "info"),
    ("REJECTED", N_("Rejected"), "danger"),
    ("PAUSED", N_("Paused"), "warning"),
    ("DISABLED", N_("Disabled"), "neutral"),
)
CONNECT_FIELDS = ("waba_id", "phone_number_id", "access_token")


@dataclass(frozen=True, slots=True)
class TemplateCount:
    status: str
    label: str
    level: str
    count: int


@dataclass(frozen=True, slots=True)
class WhatsAppCard:
    channel: ChannelRead
    status_label: str
    status_level: str
    status_reason: str | None
    usable: bool
    display_number: str
    verified_name: str
    waba_id: str
    quality: str  # GREEN | YELLOW | RED | NA
    quality_label: str
    quality_level: str  # success | warning | danger | none
    quality_hint: str
    limit_text: str
    last_webhook: Moment | None
    last_api_call: Moment | None
    templates: list[TemplateCount]
    templates_known: bool  # False until the templates were read once
    connected: Moment

    @property
    def id(self) -> uuid.UUID:
        return self.channel.id


def _detail(channel: ChannelRead, key: str) -> str:
    value = channel.details.get(key)
    return str(value) if value not in (None, "") else ""


def messaging_limit(tier: str, t: Translator) -> str:
    if tier == "TIER_UNLIMITED":
        return t.gettext("Unlimited customers a day")
    count = LIMITS.get(tier)
    if count is None:
        return t.gettext("Not reported yet")
    return t.gettext(
        "%(count)s customers a day",
        count=format_decimal(count, locale=t.language),
    )


def present_whatsapp(
    channel: ChannelRead,
    viewer: Viewer,
    t: Translator,
    now: datetime,
    templates: Mapping[str, int] | None,
) -> WhatsAppCard:
    status_label, status_level = _status(channel.status, t)
    quality = _detail(channel, "quality_rating").upper() or "NA"
    level, label, hint = QUALITY.get(
        quality, ("none", N_("Not rated yet"), N_("Meta rates a number after it sends messages."))
    )
    tier = _detail(channel, "messaging_limit_tier") or _detail(
        channel, "whatsapp_business_manager_messaging_limit"
    )
    counts = [
        TemplateCount(status=s, label=t.gettext(name), level=lvl, count=templates.get(s, 0))
        for s, name, lvl in TEMPLATE_STATUSES
        if templates and templates.get(s)
    ]
    return WhatsAppCard(
        channel=channel,
        status_label=status_label,
        status_level=status_level,
        status_reason=t.gettext(channel.status_reason) if channel.status_reason else None,
        usable=channel.status == ChannelStatus.active,
        display_number=_detail(channel, "display_phone_number") or channel.external_id,
        verified_name=_detail(channel, "verified_name") or channel.name,
        waba_id=_detail(channel, "waba_id"),
        quality=quality,
        quality_label=t.gettext(label),
        quality_level=level,
        quality_hint=t.gettext(hint),
        limit_text=messaging_limit(tier, t),
        last_webhook=_moment(channel.last_webhook_at, now, viewer, t),
        last_api_call=_moment(channel.last_api_success_at, now, viewer, t),
        templates=counts,
        templates_known=templates is not None,
        connected=_moment(channel.connected_at, now, viewer, t)
        or Moment(iso="", relative="", absolute=""),
    )


def connect_error_message(exc: AppError, t: Translator) -> str:
    """The service's message in the person's language. Two messages carry details: the missing
    permissions (named with what each is for) and Meta's own words (kept as Meta wrote them)."""
    if isinstance(exc, ConnectMissingScope):
        names = [s for s in _SCOPE_NAME.findall(exc.message) if s in SCOPE_PURPOSES]
        if names:
            needs = ", ".join(
                t.gettext(
                    "%(scope)s (to %(purpose)s)", scope=s, purpose=t.gettext(SCOPE_PURPOSES[s])
                )
                for s in names
            )
            return t.gettext(
                "Instagram did not grant every permission socialsell needs: %(needs)s. "
                "Connect again and leave every permission switched on.",
                needs=needs,
            )
    if isinstance(exc, ConnectMetaError):
        match = _META_DETAIL.search(exc.message)
        detail = next((g for g in match.groups() if g), "") if match else ""
        if detail:
            return t.gettext(
                "Instagram did not connect the account (%(detail)s). Start again; if it happens "
                "again, wait a few minutes.",
                detail=detail,
            )
    return t.gettext(exc.message)


# ---------------------------------------------------------------------------- the page


def redirect_uri(request: Request, base_url: str) -> str:
    return f"{base_url.rstrip('/')}{request.app.url_path_for('channels.instagram_callback')}"


async def _cards(
    session: SessionDep, viewer: Viewer, t: Translator
) -> tuple[list[ChannelCard], list[WhatsAppCard]]:
    """Instagram accounts' cards and WhatsApp numbers' cards."""
    now = utcnow()
    channels = _ordered(await service.all_channels(session, viewer.principal))
    numbers = [c for c in channels if c.platform == Platform.whatsapp]
    counts = await template_counts(session, viewer, [c.id for c in numbers])
    return (
        [
            present(service.channel_read(c), viewer, t, now)
            for c in channels
            if c.platform == Platform.instagram
        ],
        [
            present_whatsapp(service.channel_read(c), viewer, t, now, counts.get(c.id))
            for c in numbers
        ],
    )


async def template_counts(
    session: SessionDep, viewer: Viewer, channel_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dict[str, int]]:
    """Templates per number and status. A number missing from the answer was never synced
    (its card says so rather than "0 approved")."""
    if not channel_ids:
        return {}
    workspace = viewer.principal.workspace_id
    rows = await session.execute(
        select(WhatsAppTemplate.channel_id, WhatsAppTemplate.status, func.count())
        .where(
            WhatsAppTemplate.workspace_id == workspace,
            WhatsAppTemplate.channel_id.in_(channel_ids),
        )
        .group_by(WhatsAppTemplate.channel_id, WhatsAppTemplate.status)
    )
    out: dict[uuid.UUID, dict[str, int]] = {}
    for channel_id, status, count in rows.all():
        out.setdefault(channel_id, {})[str(status)] = int(count)
    synced = await session.scalars(
        select(WhatsAppTemplateSync.channel_id).where(
            WhatsAppTemplateSync.workspace_id == workspace,
            WhatsAppTemplateSync.channel_id.in_(channel_ids),
            WhatsAppTemplateSync.synced_at.is_not(None),
        )
    )
    for channel_id in synced.all():
        out.setdefault(channel_id, {})
    return out


def _ordered(channels: Sequence[Any]) -> list[Any]:
    # Accounts that need attention first, disconnected ones last; then by name.
    rank = {
        ChannelStatus.token_expired: 0,
        ChannelStatus.revoked: 0,
        ChannelStatus.active: 1,
        ChannelStatus.disconnected: 2,
    }
    return sorted(channels, key=lambda c: (rank.get(c.status, 1), c.label.lower()))


async def _page(
    request: Request,
    session: SessionDep,
    viewer: Viewer,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    edit_id: uuid.UUID | None = None,
    block: str | None = None,
    wa_errors: dict[str, str] | None = None,
    wa_values: dict[str, str] | None = None,
) -> Response:
    t = request_translator(request)
    # A failed connection is said in an alert at the top of the page (it stays until the person
    # acts on it); other messages stay toasts.
    pending = [] if is_htmx(request) else flash.read(request)
    alerts = [m["message"] for m in pending if m["level"] == "error"]
    cards, numbers = await _cards(session, viewer, t)
    context: dict[str, Any] = {
        "viewer": viewer,
        "cards": cards,
        "numbers": numbers,
        "wa_errors": wa_errors or {},
        "wa_values": wa_values or {},
        "wa_open": bool(wa_errors),
        "alerts": alerts,
        "toasts": [m for m in pending if m["level"] != "error"],
        "errors": errors or {},
        "values": values or {},
        "edit_id": edit_id,
    }
    if block is not None and edit_id is not None:
        every: list[ChannelCard | WhatsAppCard] = [*cards, *numbers]
        context["card"] = next((c for c in every if c.id == edit_id), None)
    return render(request, "channels/index.html", context, status_code=status_code, block=block)


@router.get("/channels", name="channels.index")
async def channels_page(request: Request, session: SessionDep, viewer: PageUser) -> Response:
    return await _page(request, session, viewer)


@router.get("/channels/instagram/connect", name="channels.instagram_connect")
async def instagram_connect(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    meta: MetaDep,
    viewer: PageUser,
) -> Response:
    """Start the flow (connect or reconnect): a state bound to this sign-in, then Instagram's
    consent page. Reconnecting an account updates its card in place."""
    url = await service.start_instagram_connect(
        session, meta, viewer.principal, redirect_uri=redirect_uri(request, settings.base_url)
    )
    return finish(request, RedirectResponse(url, status_code=303))


@router.get("/channels/instagram/callback", name="channels.instagram_callback")
async def instagram_callback(
    request: Request,
    session: SessionDep,
    meta: MetaDep,
    box: SecretBoxDep,
    viewer: PageUser,
) -> Response:
    """Where Instagram sends the person back, with ``code`` and ``state`` or an ``error``."""
    t = request_translator(request)
    target = url_path(request, "channels.index")
    try:
        channel = await service.complete_instagram_connect(
            session, meta, box, viewer.principal, dict(request.query_params)
        )
    except AppError as exc:
        # The spent state is kept (the session commits when the route returns).
        return redirect(request, target, toast=("error", connect_error_message(exc, t)))
    return redirect(
        request,
        target,
        toast=("success", t.gettext("%(account)s is connected.", account=channel.label)),
    )


def connect_field_errors(errors: Mapping[str, str], t: Translator) -> dict[str, str]:
    """Pydantic's pattern and length messages are for developers: say what to paste instead."""
    required = t.gettext("This field is required.")
    out = dict(errors)
    for name in ("waba_id", "phone_number_id"):
        if name in out and out[name] != required:
            out[name] = t.gettext("Enter the ID as Meta shows it: digits only, no spaces.")
    if "access_token" in out and out["access_token"] != required:
        out["access_token"] = t.gettext(
            "This does not look like an access token: copy the whole token and paste it here."
        )
    return out


@router.post(
    "/channels/whatsapp/connect", name="channels.whatsapp_connect", dependencies=[CsrfProtected]
)
async def whatsapp_connect(
    request: Request, session: SessionDep, settings: SettingsDep, viewer: PageUser
) -> Response:
    """The "Connect WhatsApp number" form: the number is read from Meta to check the three
    values, then its card appears. A value Meta refuses is said next to its field."""
    t = request_translator(request)
    form = await parse_form(request, WhatsAppConnect, t)
    errors = connect_field_errors(form.errors, t)
    if form.data is not None:
        try:
            # In a savepoint: nothing of a refused connection is kept, and the rest of the
            # session (the signed-in user) stays loaded for the page.
            async with session.begin_nested():
                channel = await whatsapp.connect_number(
                    session, viewer.principal, settings, form.data
                )
        except AppError as exc:
            errors = app_error_messages(exc, t)
            if not set(errors) & set(CONNECT_FIELDS) and FORM_ERROR not in errors:
                errors = {FORM_ERROR: " ".join(errors.values())}
        else:
            return redirect(
                request,
                url_path(request, "channels.index"),
                toast=(
                    "success",
                    t.gettext("WhatsApp number %(number)s is connected.", number=channel.label),
                ),
            )
    # The token is never echoed back into the page.
    values = {k: v for k, v in (await form_values(request, CONNECT_FIELDS)).items()}
    values.pop("access_token", None)
    return await _page(
        request,
        session,
        viewer,
        status_code=422,
        wa_errors=errors,
        wa_values=values,
        block="whatsapp_form" if is_htmx(request) else None,
    )


# ---------------------------------------------------------------------------- card actions


def _action_failed(request: Request, exc: AppError) -> Response:
    t = request_translator(request)
    return redirect(
        request, url_path(request, "channels.index"), toast=("error", t.gettext(exc.message))
    )


@router.post("/channels/{channel_id}/sync", name="channels.sync", dependencies=[CsrfProtected])
async def sync_channel(
    channel_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    meta: MetaDep,
    box: SecretBoxDep,
    viewer: PageUser,
) -> Response:
    t = request_translator(request)
    found = await service.get_channel(session, viewer.principal, channel_id)  # 404 first
    try:
        if found.platform == Platform.whatsapp:
            # Quality, messaging limit and name read again; the webhook subscription repaired.
            channel = await whatsapp.sync_number(session, viewer.principal, settings, channel_id)
        else:
            channel = await service.sync_channel(session, meta, box, viewer.principal, channel_id)
    except AppError as exc:
        return _action_failed(request, exc)
    return redirect(
        request,
        url_path(request, "channels.index"),
        toast=("success", t.gettext("%(account)s is up to date.", account=channel.label)),
    )


@router.post(
    "/channels/{channel_id}/webhooks",
    name="channels.repair_webhooks",
    dependencies=[CsrfProtected],
)
async def repair_webhooks(
    channel_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    meta: MetaDep,
    box: SecretBoxDep,
    viewer: PageUser,
) -> Response:
    t = request_translator(request)
    await service.get_channel(session, viewer.principal, channel_id)
    try:
        channel = await service.repair_webhooks(session, meta, box, viewer.principal, channel_id)
    except AppError as exc:
        return _action_failed(request, exc)
    toast: tuple[ToastLevel, str]
    if service.webhook_subscribed(channel):
        toast = ("success", t.gettext("Instagram sends this account's events to socialsell again."))
    else:
        toast = (
            "error",
            t.gettext("Instagram did not accept the subscription. Try again in a few minutes."),
        )
    return redirect(request, url_path(request, "channels.index"), toast=toast)


@router.post(
    "/channels/{channel_id}/disconnect",
    name="channels.disconnect",
    dependencies=[CsrfProtected],
)
async def disconnect_channel(
    channel_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    meta: MetaDep,
    box: SecretBoxDep,
    viewer: PageUser,
) -> Response:
    t = request_translator(request)
    channel = await service.disconnect(session, meta, box, viewer.principal, channel_id)
    return redirect(
        request,
        url_path(request, "channels.index"),
        toast=(
            "success",
            t.gettext(
                "%(account)s is disconnected. Its token was deleted; its conversations and "
                "posts stay here, read-only.",
                account=channel.label,
            ),
        ),
    )


@router.post("/channels/{channel_id}", name="channels.update", dependencies=[CsrfProtected])
async def update_channel(
    channel_id: uuid.UUID, request: Request, session: SessionDep, viewer: PageUser
) -> Response:
    t = request_translator(request)
    await service.get_channel(session, viewer.principal, channel_id)
    form = await parse_form(request, ChannelUpdate, t)
    if form.data is None:
        return await _page(
            request,
            session,
            viewer,
            status_code=422,
            errors=form.errors,
            values=form.values,
            edit_id=channel_id,
            block="edit_form",
        )
    channel = await service.update_channel(session, viewer.principal, channel_id, form.data)
    return redirect(
        request,
        url_path(request, "channels.index"),
        toast=("success", t.gettext("%(account)s is saved.", account=channel.label)),
    )
