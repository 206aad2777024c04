"""The Inbox page: the conversation list (filters, search), a thread with its composer, and the
contact panel; plus the fragments static/js/inbox.js swaps in when live events arrive.

Thin routes over the same service calls as inbox.api. Every fragment comes from the templates the
page is built from (``render(..., block=...)``), so a message that arrives live looks exactly like
one that was there on load. A conversation of another workspace answers 404 on every route.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_currency
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from starlette.datastructures import UploadFile

from socialsell.channels import service as channels
from socialsell.channels.deps import MetaDep, SecretBoxDep
from socialsell.channels.models import Channel, Platform
from socialsell.core.deps import CsrfProtected, SessionDep, SettingsDep
from socialsell.core.errors import AppError, NotFound
from socialsell.core.pagination import PageParams
from socialsell.core.storage import Storage, get_storage
from socialsell.db import commit, rollback, utcnow
from socialsell.inbox import overview, service
from socialsell.inbox.models import (
    Conversation,
    ConversationKind,
    ConversationStatus,
    Direction,
    Message,
    MessageStatus,
)
from socialsell.inbox.present import conversation_read, message_read
from socialsell.inbox.repository import ConversationFilters
from socialsell.inbox.schemas import ConversationUpdate, MessageCreate, MessageRead, WindowRead
from socialsell.settings import Settings
from socialsell.web.deps import PageUser, Viewer
from socialsell.web.forms import FORM_ERROR, app_error_messages, validation_messages
from socialsell.web.templating import (
    Translator,
    is_htmx,
    redirect,
    render,
    request_translator,
    toast_trigger,
    url_path,
)
from socialsell.whatsapp import send as whatsapp_send

router = APIRouter(include_in_schema=False)
StorageDep = Annotated[Storage, Depends(get_storage)]

LIST_PAGE = 30
THREAD_PAGE = 30
SEARCH_LIMIT = 30
ThreadPart = Literal["thread", "head", "composer"]


def N_(message: str) -> str:  # gettext's no-op marker: extracted, translated at render time
    return message


# English texts of the inbox service that reach these pages (errors, window reasons).
SERVICE_MESSAGES = (
    N_("This conversation does not exist."),
    N_("This message does not exist."),
    N_("This upload does not exist."),
    N_(
        "Instagram only allows replies within 24 hours of the customer's last message "
        "(7 days for a person answering with the Human Agent tag). Wait for the customer to "
        "write again."
    ),
    N_(
        "The customer has not written in this conversation yet; Instagram lets businesses "
        "answer only after the customer writes first."
    ),
    N_(
        "The customer's last message is more than 7 days old. Instagram allows replies "
        "within 24 hours of it, and up to 7 days for a person answering with the Human "
        "Agent tag; after that, wait for the customer to write again."
    ),
    N_(
        "The customer's last message is more than 24 hours old, and Instagram allows replies "
        "only within 24 hours of it (7 days with the Human Agent tag, which this app does not "
        "have). Wait for the customer to write again."
    ),
    N_("Instagram allows one private reply per comment, within 7 days of the comment."),
    N_(
        "This comment is more than 7 days old; Instagram no longer allows a private "
        "reply to it. Answer publicly instead."
    ),
    N_("A private reply was already sent for this comment; Instagram allows one."),
    N_("Only a message that failed can be sent again."),
    N_("Send a JPEG or PNG image of at most 8 MB."),
    N_("At most 1000 bytes (fewer with accents or emoji)."),
    N_("Comment replies are text only."),
    N_("This comment does not exist in this conversation."),
    N_("This conversation has no comment to answer."),
    N_("This account's connection has expired or was revoked. Reconnect it on the Channels page."),
    N_("This account is disconnected; its history is read-only. Reconnect it to use it."),
)


# ---------------------------------------------------------------------------- presentation


@dataclass(frozen=True, slots=True)
class Filters:
    status: str = "open"  # open | done | all
    unread: bool = False
    kind: str = ""  # "" | dm | comments
    channel: str = ""  # a channel id or ""
    q: str = ""

    @property
    def active(self) -> bool:
        return self.status != "open" or self.unread or bool(self.kind or self.channel or self.q)

    def query(self) -> dict[str, str]:
        """The query string that keeps these filters on links (defaults left out)."""
        out: dict[str, str] = {}
        if self.status != "open":
            out["status"] = self.status
        if self.unread:
            out["unread"] = "1"
        if self.kind:
            out["kind"] = self.kind
        if self.channel:
            out["channel"] = self.channel
        if self.q:
            out["q"] = self.q
        return out

    def with_cursor(self, cursor: str) -> dict[str, str]:
        return self.query() | {"cursor": cursor}

    def repository(self) -> ConversationFilters:
        channel_id: uuid.UUID | None = None
        try:
            channel_id = uuid.UUID(self.channel) if self.channel else None
        except ValueError:
            channel_id = None
        return ConversationFilters(
            channel_id=channel_id,
            status=None if self.status == "all" else ConversationStatus(self.status),
            unread=True if self.unread else None,
            kind=ConversationKind(self.kind) if self.kind else None,
        )


def read_filters(
    status: str = "open", unread: str = "", kind: str = "", channel: str = "", q: str = ""
) -> Filters:
    return Filters(
        status=status if status in {"open", "done", "all"} else "open",
        unread=unread in {"1", "true", "on"},
        kind=kind if kind in {"dm", "comments"} else "",
        channel=channel[:36],
        q=q.strip()[:200],
    )


FiltersDep = Annotated[Filters, Depends(read_filters)]


@dataclass(frozen=True, slots=True)
class ChannelFace:
    id: uuid.UUID
    label: str
    color: str
    platform: str = "instagram"

    @property
    def whatsapp(self) -> bool:
        return self.platform == "whatsapp"


@dataclass(frozen=True, slots=True)
class Moment:
    short: str  # "14:05", "Yesterday", "Mon", "3 Nov"
    full: str  # "26 Nov 2026, 14:05"
    iso: str


@dataclass(slots=True)
class Row:
    """One conversation in the list."""

    id: uuid.UUID
    title: str
    subtitle: str
    avatar: str | None
    initials: str
    channel: ChannelFace
    kind: str
    preview: str
    when: Moment
    unread: int
    status: str
    selected: bool = False
    phone: str = ""  # WhatsApp: the contact's number, "+" and digits

    @property
    def whatsapp(self) -> bool:
        return self.channel.whatsapp


@dataclass(slots=True)
class Media:
    type: str
    url: str | None  # None: not shown (still being copied, or from an address the page refuses)
    content_type: str | None


@dataclass(frozen=True, slots=True)
class Quote:
    """The message a reply quotes (WhatsApp context), as shown above the reply."""

    id: uuid.UUID | None  # None: the quoted message is not in our history
    outbound: bool
    text: str


@dataclass(frozen=True, slots=True)
class Place:
    latitude: float
    longitude: float
    name: str
    address: str
    map_url: str


@dataclass(frozen=True, slots=True)
class Card:
    """One person of a shared contacts card."""

    name: str
    phones: list[str]
    emails: list[str]


@dataclass(frozen=True, slots=True)
class OrderLine:
    product: str
    quantity: str
    price: str


@dataclass(frozen=True, slots=True)
class Order:
    lines: list[OrderLine]
    total: str
    note: str


@dataclass(slots=True)
class Bubble:
    """One message in the thread."""

    id: uuid.UUID
    outbound: bool
    kind: str
    status: str
    text: str | None
    media: list[Media]
    story_url: str | None
    reactions: list[str]
    day: str  # yyyy-mm-dd in the viewer's timezone
    day_label: str
    time: str
    full_time: str
    iso: str
    edited: bool
    deleted: bool
    error: str | None
    can_retry: bool
    mode: str | None
    human_agent: bool
    details: Mapping[str, Any] = field(default_factory=dict)
    # WhatsApp
    platform: str = "instagram"
    external_id: str | None = None
    quote: Quote | None = None
    place: Place | None = None
    cards: list[Card] = field(default_factory=list)
    choice: str | None = None  # the title of the button or list row the customer picked
    order: Order | None = None
    system: str | None = None
    template: str | None = None  # the template's name (outbound templates)
    can_quote: bool = False
    can_react: bool = False
    mine_reaction: str | None = None  # the business's own reaction, which it may take back

    @property
    def whatsapp(self) -> bool:
        return self.platform == "whatsapp"


@dataclass(slots=True)
class Composer:
    """What the reply box may offer now."""

    can_reply: bool
    reason: str | None
    human_agent: bool
    until: datetime | None  # the end of the window that applies (DMs)
    until_text: str
    is_comments: bool
    allow_image: bool
    whatsapp: bool = False
    # WhatsApp: the template picker (loaded with htmx) replaces free text once the window closes.
    templates: bool = False
    until_short: str = ""  # "3 h 12 min"


@dataclass(slots=True)
class Hit:
    conversation: Row
    message_id: uuid.UUID
    snippet: str
    when: Moment


def _tz(viewer: Viewer) -> ZoneInfo:
    try:
        return ZoneInfo(viewer.preferences.timezone)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def moment(value: datetime, now: datetime, viewer: Viewer, t: Translator) -> Moment:
    tz = _tz(viewer)
    locale = viewer.preferences.language
    local, today = value.astimezone(tz), now.astimezone(tz)
    days = (today.date() - local.date()).days
    if days <= 0:
        short = format_time(local, format="short", locale=locale)
    elif days == 1:
        short = t.gettext("Yesterday")
    elif days < 7:
        short = format_date(local, format="EEE", locale=locale)
    elif local.year == today.year:
        short = format_date(local, format="d MMM", locale=locale)
    else:
        short = format_date(local, format="short", locale=locale)
    return Moment(
        short=short,
        full=format_datetime(local, format="medium", locale=locale),
        iso=value.isoformat(),
    )


def day_label(value: datetime, now: datetime, viewer: Viewer, t: Translator) -> str:
    tz = _tz(viewer)
    days = (now.astimezone(tz).date() - value.astimezone(tz).date()).days
    if days == 0:
        return t.gettext("Today")
    if days == 1:
        return t.gettext("Yesterday")
    return format_date(value.astimezone(tz), format="full", locale=viewer.preferences.language)


def shown_url(url: str | None, base_url: str = "") -> str | None:
    """Only addresses the page's CSP loads: ours (made relative) or https. Anything else would
    be refused by the browser (and logged as a violation), so the page says so instead."""
    base = base_url.rstrip("/")
    if url and base and url.startswith(base + "/"):
        return url[len(base) :]
    if url and (url.startswith("https://") or (url.startswith("/") and not url.startswith("//"))):
        return url
    return None


def _channel_face(channel: Channel | None, fallback: uuid.UUID) -> ChannelFace:
    if channel is None:
        return ChannelFace(id=fallback, label="", color="#7c3aed")
    return ChannelFace(
        id=channel.id, label=channel.label, color=channel.color, platform=channel.platform.value
    )


def phone_text(wa_id: str) -> str:
    """A WhatsApp id is the number in international form without "+" (Meta's wa_id)."""
    digits = "".join(ch for ch in wa_id if ch.isdigit())
    return f"+{digits}" if digits else wa_id


def _initials(text: str) -> str:
    letters = [p[0] for p in text.replace("@", " ").replace("_", " ").split() if p]
    return ("".join(letters[:2]) or "?").upper()


def preview_text(preview: str, t: Translator) -> str:
    """The service stores previews of media as "[photo]"; show them in the person's language."""
    names = {
        "[photo]": t.gettext("Photo"),
        "[video]": t.gettext("Video"),
        "[voice message]": t.gettext("Voice message"),
        "[file]": t.gettext("File"),
        "[shared post]": t.gettext("Shared post"),
        "[mentioned you in their story]": t.gettext("Mentioned you in their story"),
        "[replied to your story]": t.gettext("Replied to your story"),
        "[message not supported]": t.gettext("Message not supported"),
        "[sticker]": t.gettext("Sticker"),
        "[location]": t.gettext("Location"),
        "[contact card]": t.gettext("Contact card"),
        "[reply]": t.gettext("Reply"),
        "[button reply]": t.gettext("Button reply"),
        "[reaction]": t.gettext("Reaction"),
        "[order]": t.gettext("Order"),
        "[system message]": t.gettext("System message"),
        "[template]": t.gettext("Template"),
        "[document]": t.gettext("Document"),
        "[audio]": t.gettext("Audio"),
        "[image]": t.gettext("Photo"),
    }
    return names.get(preview, preview)


def row(
    conversation: Conversation,
    faces: Mapping[uuid.UUID, Channel],
    viewer: Viewer,
    t: Translator,
    now: datetime,
    selected: uuid.UUID | None = None,
) -> Row:
    contact = conversation.contact
    face = _channel_face(faces.get(conversation.channel_id), conversation.channel_id)
    if face.whatsapp:
        # WhatsApp: the profile name the customer chose, and always the number.
        phone = phone_text(contact.external_id)
        title = contact.name or phone
        return Row(
            id=conversation.id,
            title=title,
            subtitle=phone if contact.name else "",
            avatar=shown_url(contact.profile_picture_url),
            initials=_initials(contact.name) if contact.name else "#",
            channel=face,
            kind=conversation.kind.value,
            preview=preview_text(conversation.last_message_preview, t),
            when=moment(conversation.last_message_at, now, viewer, t),
            unread=conversation.unread_count,
            status=conversation.status.value,
            selected=conversation.id == selected,
            phone=phone,
        )
    handle = f"@{contact.username}" if contact.username else ""
    title = (
        contact.name
        or handle
        or t.gettext("Instagram user %(id)s", id=contact.external_id[-4:].upper())
    )
    return Row(
        id=conversation.id,
        title=title,
        subtitle=handle if contact.name and handle else "",
        avatar=shown_url(contact.profile_picture_url),
        initials=_initials(contact.name or contact.username or title),
        channel=face,
        kind=conversation.kind.value,
        preview=preview_text(conversation.last_message_preview, t),
        when=moment(conversation.last_message_at, now, viewer, t),
        unread=conversation.unread_count,
        status=conversation.status.value,
        selected=conversation.id == selected,
    )


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: object) -> str:
    return str(value).strip() if isinstance(value, str | int | float) else ""


def _place(details: Mapping[str, Any]) -> Place | None:
    spot = _mapping(details.get("location"))
    try:
        lat, lng = float(spot["latitude"]), float(spot["longitude"])
    except (KeyError, TypeError, ValueError):
        return None
    address = _text(spot.get("address"))
    if _same_point(address, lat, lng):
        address = ""  # a dropped pin's "address" is its coordinates, shown once below
    return Place(
        latitude=lat,
        longitude=lng,
        name=_text(spot.get("name")),
        address=address,
        map_url=f"https://www.openstreetmap.org/?mlat={lat:.6f}&mlon={lng:.6f}#map=17/{lat:.6f}/{lng:.6f}",
    )


def _same_point(text: str, lat: float, lng: float) -> bool:
    parts = text.split(",")
    if len(parts) != 2:
        return False
    try:
        a, b = float(parts[0]), float(parts[1])
    except ValueError:
        return False
    return abs(a - lat) < 1e-6 and abs(b - lng) < 1e-6


def _cards(details: Mapping[str, Any]) -> list[Card]:
    people = details.get("contacts")
    out: list[Card] = []
    for person in people if isinstance(people, list) else []:
        person = _mapping(person)
        name = _mapping(person.get("name"))
        phones = _list(person.get("phones"))
        emails = _list(person.get("emails"))
        out.append(
            Card(
                name=_text(name.get("formatted_name"))
                or " ".join(_text(name.get(k)) for k in ("first_name", "last_name") if name.get(k)),
                phones=[
                    _text(_mapping(x).get("phone")) for x in phones if _mapping(x).get("phone")
                ],
                emails=[
                    _text(_mapping(x).get("email")) for x in emails if _mapping(x).get("email")
                ],
            )
        )
    return out


def _choice(kind: str, details: Mapping[str, Any]) -> str | None:
    if kind == "interactive":
        reply = _mapping(details.get("interactive"))
        picked = _mapping(reply.get("button_reply")) or _mapping(reply.get("list_reply"))
        return _text(picked.get("title")) or _text(picked.get("id")) or None
    if kind == "button":
        button = _mapping(details.get("button"))
        return _text(button.get("text")) or _text(button.get("payload")) or None
    return None


def _order(details: Mapping[str, Any], locale: str) -> Order | None:
    order = _mapping(details.get("order"))
    items = order.get("product_items")
    if not isinstance(items, list):
        return None
    lines: list[OrderLine] = []
    total = 0.0
    currency = ""
    for item in items:
        item = _mapping(item)
        quantity = item.get("quantity")
        price = item.get("item_price")
        currency = _text(item.get("currency")) or currency
        shown = ""
        if isinstance(price, int | float) and currency:
            shown = format_currency(price, currency, locale=locale)
            if isinstance(quantity, int | float):
                total += float(price) * float(quantity)
        lines.append(
            OrderLine(
                product=_text(item.get("product_retailer_id")),
                quantity=_text(quantity) or "1",
                price=shown,
            )
        )
    return Order(
        lines=lines,
        total=format_currency(total, currency, locale=locale) if currency and total else "",
        note=_text(order.get("text")),
    )


def _system(details: Mapping[str, Any]) -> str | None:
    system = _mapping(details.get("system"))
    return _text(system.get("body")) or None


def _template_name(details: Mapping[str, Any]) -> str | None:
    template = _mapping(details.get("template"))
    return _text(template.get("name")) or None


def quote_of(m: MessageRead, max_chars: int = 140) -> Quote:
    text = (m.text or "").strip()
    if not text:
        text = preview_of_kind(m.kind.value)
    return Quote(
        id=m.id,
        outbound=m.direction == Direction.outbound,
        text=text if len(text) <= max_chars else text[: max_chars - 1] + "…",
    )


def preview_of_kind(kind: str) -> str:
    """The bracketed name the service stores as the preview of a message without text."""
    return {
        "image": "[photo]",
        "video": "[video]",
        "audio": "[voice message]",
        "file": "[file]",
        "sticker": "[sticker]",
        "location": "[location]",
        "contacts": "[contact card]",
        "order": "[order]",
    }.get(kind, "")


def bubble(
    m: MessageRead,
    viewer: Viewer,
    t: Translator,
    now: datetime,
    base_url: str = "",
    *,
    platform: str = "instagram",
    quotes: Mapping[str, Quote] | None = None,
) -> Bubble:
    tz = _tz(viewer)
    local = m.sent_at.astimezone(tz)
    story = m.details.get("story") if isinstance(m.details.get("story"), Mapping) else None
    media = [
        Media(type=item.type, url=shown_url(item.url, base_url), content_type=item.content_type)
        for item in m.media
    ]
    story_url = None
    if m.kind.value in {"story_mention", "story_reply"}:
        story_url = next((x.url for x in media if x.url), None) or shown_url(
            str(story.get("url")) if story and story.get("url") else None, base_url
        )
        media = [x for x in media if x.type not in {"story", "story_mention", "ig_story"}]
        if m.kind.value == "story_mention":
            media = []
    reactions = [str(r.get("emoji") or "❤️") for r in m.reactions if r]
    return Bubble(
        id=m.id,
        outbound=m.direction == Direction.outbound,
        kind=m.kind.value,
        status=m.status.value,
        text=m.text,
        media=media,
        story_url=story_url,
        reactions=reactions,
        day=local.date().isoformat(),
        day_label=day_label(m.sent_at, now, viewer, t),
        time=format_time(local, format="short", locale=viewer.preferences.language),
        full_time=format_datetime(local, format="medium", locale=viewer.preferences.language),
        iso=m.sent_at.isoformat(),
        edited=m.edited_at is not None,
        deleted=m.deleted_at is not None,
        error=t.gettext(m.error_message) if m.error_message else None,
        can_retry="retry" in m.actions,
        mode=str(m.details.get("mode")) if m.details.get("mode") else None,
        human_agent=bool(m.details.get("human_agent")),
        details=m.details,
        **_whatsapp_parts(m, platform, quotes or {}, t, viewer.preferences.language),
    )


def _whatsapp_parts(
    m: MessageRead,
    platform: str,
    quotes: Mapping[str, Quote],
    t: Translator,
    locale: str,
) -> dict[str, Any]:
    if platform != "whatsapp":
        return {}
    quote: Quote | None = None
    if m.reply_to_external_id:
        quote = quotes.get(m.reply_to_external_id) or Quote(
            id=None, outbound=False, text=t.gettext("A message that is not in this history")
        )
    kind = m.kind.value
    usable = m.deleted_at is None and bool(m.external_id) and kind not in {"system", "reaction"}
    return {
        "platform": platform,
        "external_id": m.external_id,
        "quote": quote,
        "place": _place(m.details) if kind == "location" else None,
        "cards": _cards(m.details) if kind == "contacts" else [],
        "choice": _choice(kind, m.details),
        "order": _order(m.details, locale) if kind == "order" else None,
        "system": _system(m.details) if kind == "system" else None,
        "template": _template_name(m.details) if kind == "template" else None,
        # Meta takes a reply's context and a reaction only for a message it knows (a wamid).
        "can_quote": usable and m.status != MessageStatus.failed,
        "can_react": usable and m.status != MessageStatus.failed,
        "mine_reaction": next(
            (str(r.get("emoji")) for r in m.reactions if r.get("by") == "business"), None
        ),
    }


def remaining(until: datetime, now: datetime, t: Translator) -> str:
    left = max(timedelta(0), until - now)
    hours, rest = divmod(int(left.total_seconds()), 3600)
    minutes = rest // 60
    if hours >= 24:
        return t.ngettext("%(num)d day left", "%(num)d days left", hours // 24)
    if hours:
        return t.gettext("%(h)s h %(m)s min left", h=hours, m=minutes)
    return t.ngettext("%(num)d minute left", "%(num)d minutes left", max(1, minutes))


def composer(
    conversation: Conversation, settings: Settings, channel: Channel | None, t: Translator
) -> Composer:
    now = utcnow()
    if channel is None or channel.status.value != "active":
        return Composer(
            can_reply=False,
            reason=t.gettext(
                "This account's connection has expired or was revoked. "
                "Reconnect it on the Channels page."
            ),
            human_agent=False,
            until=None,
            until_text="",
            is_comments=conversation.kind == ConversationKind.comments,
            allow_image=False,
        )
    if conversation.kind == ConversationKind.comments:
        return Composer(True, None, False, None, "", is_comments=True, allow_image=False)
    state: WindowRead | None = conversation_read(conversation, settings).window
    if channel.platform == Platform.whatsapp:
        return whatsapp_composer(conversation, state, now, t)
    if state is None or conversation.last_inbound_at is None:
        return Composer(
            False,
            t.gettext(
                "The customer has not written in this conversation yet; Instagram lets "
                "businesses answer only after the customer writes first."
            ),
            False,
            None,
            "",
            is_comments=False,
            allow_image=False,
        )
    if not state.can_reply:
        reason = (
            "The customer's last message is more than 7 days old. Instagram allows replies "
            "within 24 hours of it, and up to 7 days for a person answering with the Human "
            "Agent tag; after that, wait for the customer to write again."
            if settings.inbox_human_agent_tag
            else "The customer's last message is more than 24 hours old, and Instagram allows "
            "replies only within 24 hours of it (7 days with the Human Agent tag, which this app "
            "does not have). Wait for the customer to write again."
        )
        return Composer(False, t.gettext(reason), False, None, "", False, allow_image=False)
    until = state.human_agent_until if state.needs_human_agent_tag else state.standard_until
    return Composer(
        can_reply=True,
        reason=None,
        human_agent=state.needs_human_agent_tag,
        until=until,
        until_text=remaining(until, now, t) if until else "",
        is_comments=False,
        allow_image=True,
    )


def remaining_short(until: datetime, now: datetime, t: Translator) -> str:
    """ "3 h 12 min", "12 min": the time left in a WhatsApp window (never more than 24 h)."""
    left = max(timedelta(0), until - now)
    hours, rest = divmod(int(left.total_seconds()), 3600)
    minutes = rest // 60
    if hours:
        return t.gettext("%(h)s h %(m)s min", h=hours, m=minutes)
    return t.gettext("%(m)s min", m=max(1, minutes))


def whatsapp_composer(
    conversation: Conversation, state: WindowRead | None, now: datetime, t: Translator
) -> Composer:
    """Free text, media, quotes and reactions within 24 h of the customer's last message;
    after that (or before they ever wrote) only an approved template."""
    if state is None or conversation.last_inbound_at is None:
        reason = t.gettext(
            "The customer has not written to this number yet. WhatsApp lets a business start "
            "a conversation only with an approved template."
        )
        return Composer(False, reason, False, None, "", False, False, whatsapp=True, templates=True)
    if not state.can_reply or state.standard_until is None:
        reason = t.gettext(
            "The customer's last message is more than 24 hours old. WhatsApp allows free-form "
            "messages only within 24 hours of it; an approved template can still be sent, and "
            "the window opens again when the customer answers."
        )
        return Composer(False, reason, False, None, "", False, False, whatsapp=True, templates=True)
    until = state.standard_until
    return Composer(
        can_reply=True,
        reason=None,
        human_agent=False,
        until=until,
        until_text=remaining(until, now, t),
        is_comments=False,
        allow_image=True,
        whatsapp=True,
        templates=False,
        until_short=remaining_short(until, now, t),
    )


# ---------------------------------------------------------------------------- loading


async def quotes_for(
    session: SessionDep,
    viewer: Viewer,
    conversation_id: uuid.UUID,
    messages: Sequence[MessageRead],
) -> dict[str, Quote]:
    """The messages these quote (WhatsApp replies), by Meta's id: from the page itself, else
    read from the thread (a quoted message may be older than the page)."""
    shown = {m.external_id: m for m in messages if m.external_id}
    wanted = {m.reply_to_external_id for m in messages if m.reply_to_external_id}
    out = {eid: quote_of(shown[eid]) for eid in wanted if eid in shown}
    missing = wanted - set(out)
    if missing:
        rows = await session.scalars(
            select(Message).where(
                Message.workspace_id == viewer.principal.workspace_id,
                Message.conversation_id == conversation_id,
                Message.external_id.in_(missing),
            )
        )
        for message in rows.all():
            if message.external_id:
                out[message.external_id] = quote_of(message_read_light(message))
    return out


def message_read_light(message: Message) -> MessageRead:
    """Enough of a message to quote it (no media URLs to sign)."""
    return MessageRead(
        id=message.id,
        conversation_id=message.conversation_id,
        direction=message.direction,
        kind=message.kind,
        status=message.status,
        text=None if message.deleted_at else message.text,
        media=[],
        details={},
        reactions=[],
        external_id=message.external_id,
        reply_to_external_id=None,
        sent_at=message.sent_at,
        received_at=message.received_at,
        edited_at=None,
        deleted_at=message.deleted_at,
        read_at=None,
        error_code=None,
        error_message=None,
        author_id=None,
    )


async def bubbles_for(
    session: SessionDep,
    settings: Settings,
    viewer: Viewer,
    t: Translator,
    conversation_id: uuid.UUID,
    platform: str,
    messages: Sequence[Message],
) -> list[Bubble]:
    """Messages as the thread shows them, oldest first as given."""
    now = utcnow()
    reads = [message_read(m, settings) for m in messages]
    quotes = (
        await quotes_for(session, viewer, conversation_id, reads) if platform == "whatsapp" else {}
    )
    return [
        bubble(r, viewer, t, now, settings.base_url, platform=platform, quotes=quotes)
        for r in reads
    ]


async def _platform(session: SessionDep, viewer: Viewer, channel_id: uuid.UUID) -> str:
    channel = await channels.get_channel(session, viewer.principal, channel_id)
    return channel.platform.value


async def _faces(session: SessionDep, viewer: Viewer) -> dict[uuid.UUID, Channel]:
    return {c.id: c for c in await channels.all_channels(session, viewer.principal)}


async def _unread_total(session: SessionDep, viewer: Viewer) -> int:
    return await overview.unread_conversations(session, viewer.principal)


async def _list_context(
    session: SessionDep,
    viewer: Viewer,
    filters: Filters,
    t: Translator,
    faces: dict[uuid.UUID, Channel],
    *,
    selected: uuid.UUID | None = None,
    cursor: str | None = None,
) -> dict[str, Any]:
    now = utcnow()
    rows: list[Row] = []
    hits: list[Hit] = []
    next_cursor: str | None = None
    if filters.q:
        results = await service.search_messages(
            session, viewer.principal, filters.q, limit=SEARCH_LIMIT, offset=0
        )
        hits = [
            Hit(
                conversation=row(r.conversation, faces, viewer, t, now, selected),
                message_id=r.message.id,
                snippet=r.snippet,
                when=moment(r.message.sent_at, now, viewer, t),
            )
            for r in results
        ]
    else:
        conversations, next_cursor = await service.list_conversations(
            session,
            viewer.principal,
            filters.repository(),
            PageParams(limit=LIST_PAGE, cursor=cursor),
        )
        rows = [row(c, faces, viewer, t, now, selected) for c in conversations]
    return {
        "filters": filters,
        "rows": rows,
        "hits": hits,
        "next_cursor": next_cursor,
        "channels": [_channel_face(c, c.id) for c in faces.values()],
        "has_channels": bool(faces),
        "unread_total": await _unread_total(session, viewer),
        "selected_id": selected,
    }


async def _thread_context(
    session: SessionDep,
    settings: Settings,
    viewer: Viewer,
    conversation: Conversation,
    t: Translator,
    faces: dict[uuid.UUID, Channel],
    filters: Filters,
) -> dict[str, Any]:
    now = utcnow()
    messages, cursor = await service.list_messages(
        session, viewer.principal, conversation.id, PageParams(limit=THREAD_PAGE)
    )
    others = [
        row(c, faces, viewer, t, now)
        for c in await overview.contact_conversations(
            session, viewer.principal, conversation.contact_id
        )
        if c.id != conversation.id
    ]
    channel = faces.get(conversation.channel_id)
    return {
        "conversation": row(conversation, faces, viewer, t, now, conversation.id),
        "contact": conversation.contact,
        "contact_url": _contact_url(conversation, channel),
        "contact_phone": phone_text(conversation.contact.external_id)
        if channel is not None and channel.platform == Platform.whatsapp
        else None,
        "bubbles": await bubbles_for(
            session,
            settings,
            viewer,
            t,
            conversation.id,
            channel.platform.value if channel else "instagram",
            list(reversed(messages)),
        ),
        "older_cursor": cursor,
        "composer": composer(conversation, settings, channel, t),
        "others": others,
        "filters": filters,
    }


def _contact_url(conversation: Conversation, channel: Channel | None) -> str | None:
    if channel is not None and channel.platform == Platform.whatsapp:
        digits = "".join(ch for ch in conversation.contact.external_id if ch.isdigit())
        return f"https://wa.me/{digits}" if digits else None
    if conversation.contact.username:
        return f"https://instagram.com/{conversation.contact.username}"
    return None


async def _open(
    session: SessionDep, settings: Settings, viewer: Viewer, conversation_id: uuid.UUID
) -> Conversation:
    """The conversation (404 for another workspace's), marked read as the seller opens it."""
    conversation = await service.get_conversation(session, viewer.principal, conversation_id)
    if conversation.unread_count:
        conversation = await service.update_conversation(
            session, settings, viewer.principal, conversation.id, ConversationUpdate(read=True)
        )
    return conversation


async def _page_context(session: SessionDep, viewer: Viewer) -> dict[str, Any]:
    return {
        "viewer": viewer,
        # The stream starts after the newest event: what happened before is in the page.
        "live_after": await overview.latest_event_id(session, viewer.principal),
    }


# ---------------------------------------------------------------------------- pages


@router.get("/inbox", name="web.inbox")
async def inbox(
    request: Request,
    session: SessionDep,
    viewer: PageUser,
    filters: FiltersDep,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    selected: Annotated[str, Query(max_length=36)] = "",
) -> Response:
    """The list (and an empty thread pane). htmx asks for the list alone when the filters or
    the search change, for a next page of it (``cursor``), or when a live event touched it."""
    t = request_translator(request)
    faces = await _faces(session, viewer)
    try:
        selected_id = uuid.UUID(selected) if selected else None
    except ValueError:
        selected_id = None
    context = (await _page_context(session, viewer)) | await _list_context(
        session, viewer, filters, t, faces, selected=selected_id, cursor=cursor
    )
    context["thread"] = None
    context["cursor"] = cursor
    block = "more_rows" if cursor else "conversation_list"
    return render(request, "inbox/index.html", context, block=block)


@router.get("/inbox/unread", name="inbox.unread")
async def unread_badge(request: Request, session: SessionDep, viewer: PageUser) -> Response:
    """The sidebar's badge, loaded by every signed-in page."""
    total = await _unread_total(session, viewer)
    return render(request, "inbox/_badge.html", {"unread_total": total})


@router.get("/inbox/live/resume", name="inbox.resume")
async def resume(
    session: SessionDep, viewer: PageUser, after: Annotated[int, Query(ge=0)] = 0
) -> JSONResponse:
    """Asked by the page before it resumes its live stream after a break: when the events
    after ``after`` are no longer all in the log (pruned), the page reloads its views."""
    oldest = await overview.oldest_event_id(session, viewer.principal)
    latest = await overview.latest_event_id(session, viewer.principal)
    # Event ids come from one sequence: nothing pruned means the event `after` is still kept.
    too_old = after > 0 and oldest is not None and oldest > after
    return JSONResponse({"reload": too_old, "latest": latest if too_old else after})


@router.get("/inbox/{conversation_id}", name="inbox.conversation")
async def conversation_page(
    request: Request,
    conversation_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    viewer: PageUser,
    filters: FiltersDep,
    part: ThreadPart = "thread",
) -> Response:
    t = request_translator(request)
    faces = await _faces(session, viewer)
    conversation = await _open(session, settings, viewer, conversation_id)
    context = await _page_context(session, viewer)
    context |= await _list_context(session, viewer, filters, t, faces, selected=conversation.id)
    context["thread"] = await _thread_context(
        session, settings, viewer, conversation, t, faces, filters
    )
    return render(request, "inbox/index.html", context, block=part)


@router.get("/inbox/{conversation_id}/messages", name="inbox.older")
async def older_messages(
    request: Request,
    conversation_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    viewer: PageUser,
    cursor: Annotated[str, Query(min_length=1, max_length=500)],
) -> Response:
    """An older page of the thread (infinite scroll up), oldest first, with the next sentinel."""
    t = request_translator(request)
    messages, next_cursor = await service.list_messages(
        session, viewer.principal, conversation_id, PageParams(limit=THREAD_PAGE, cursor=cursor)
    )
    conversation = await service.get_conversation(session, viewer.principal, conversation_id)
    platform = await _platform(session, viewer, conversation.channel_id)
    return render(
        request,
        "inbox/_older.html",
        {
            "conversation_id": conversation_id,
            "bubbles": await bubbles_for(
                session, settings, viewer, t, conversation_id, platform, list(reversed(messages))
            ),
            "older_cursor": next_cursor,
        },
    )


@router.get("/inbox/{conversation_id}/messages/{message_id}", name="inbox.message")
async def message_fragment(
    request: Request,
    conversation_id: uuid.UUID,
    message_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    viewer: PageUser,
) -> Response:
    """One message as the thread shows it (with its day separator; the script drops a
    separator that repeats the day above it)."""
    message = await service.get_message(session, viewer.principal, message_id)
    if message.conversation_id != conversation_id:
        raise NotFound("This message does not exist.")
    return await _message_response(request, session, message, settings, viewer)


async def _message_response(
    request: Request,
    session: SessionDep,
    message: Message,
    settings: Settings,
    viewer: Viewer,
    *,
    headers: Mapping[str, str] | None = None,
) -> Response:
    t = request_translator(request)
    platform = await _platform(session, viewer, message.channel_id)
    shown = await bubbles_for(
        session, settings, viewer, t, message.conversation_id, platform, [message]
    )
    return render(request, "inbox/_message.html", {"b": shown[0]}, headers=headers)


# ---------------------------------------------------------------------------- actions


def _triggers(**events: Any) -> dict[str, str]:
    return {"HX-Trigger": json.dumps(events, ensure_ascii=True)}


@router.post("/inbox/{conversation_id}/messages", name="inbox.reply", dependencies=[CsrfProtected])
async def reply(
    request: Request,
    conversation_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    viewer: PageUser,
    meta: MetaDep,
    box: SecretBoxDep,
    storage: StorageDep,
) -> Response:
    """Send from the composer: text, an image, or both (the image first). The browser's
    Idempotency-Key makes a repeated submit replay the stored message instead of sending again."""
    t = request_translator(request)
    conversation = await service.get_conversation(session, viewer.principal, conversation_id)
    form = await request.form()
    raw_text = form.get("text")
    text = raw_text.strip() if isinstance(raw_text, str) else ""
    upload = form.get("image")
    image = upload if isinstance(upload, UploadFile) and upload.filename else None
    raw_mode = form.get("mode")
    mode = raw_mode if raw_mode in {"public", "private"} else None
    quoted = _uuid_or_none(form.get("reply_to_message_id"))
    key = (request.headers.get("Idempotency-Key") or str(form.get("idempotency_key") or ""))[:100]
    values = {"text": text}
    errors: dict[str, str] = {}
    sent: list[Message] = []
    if not text and image is None:
        errors["text"] = t.gettext("Write a message or attach an image.")
    outbox = service.Outbox(meta, box, settings)
    try:
        if not errors and image is not None:
            image_key = f"{key}:image" if key else None
            replay = (
                await overview.message_by_idempotency_key(session, viewer.principal, image_key)
                if image_key
                else None
            )
            if replay is not None:
                sent.append(replay)
            else:
                data = await image.read(service.MAX_UPLOAD_BYTES + 1)
                stored, _ = await service.store_upload(
                    storage, viewer.principal, data, image.content_type
                )
                image_payload: dict[str, Any] = {"image_key": stored}
                if quoted is not None:
                    image_payload["reply_to_message_id"] = quoted
                sent.append(
                    await _send(
                        session,
                        outbox,
                        storage,
                        viewer,
                        conversation.id,
                        image_payload,
                        image_key,
                    )
                )
        if not errors and text:
            payload: dict[str, Any] = {"text": text}
            if mode is not None and conversation.kind == ConversationKind.comments:
                payload["mode"] = mode
            # WhatsApp: the quoted message (context); quoted once, by the first part sent.
            if quoted is not None and conversation.kind == ConversationKind.dm and image is None:
                payload["reply_to_message_id"] = quoted
            sent.append(
                await _send(
                    session,
                    outbox,
                    storage,
                    viewer,
                    conversation.id,
                    payload,
                    f"{key}:text" if key else None,
                )
            )
    except ValidationError as exc:
        errors = validation_messages(exc.errors(), t)
    except AppError as exc:
        errors = app_error_messages(exc, t)
        if FORM_ERROR not in errors and "text" not in errors:
            errors = {FORM_ERROR: " ".join(errors.values())}
    faces = await _faces(session, viewer)
    fresh = await service.get_conversation(session, viewer.principal, conversation.id)
    thread = {
        "conversation": row(fresh, faces, viewer, t, utcnow(), fresh.id),
        "composer": composer(fresh, settings, faces.get(fresh.channel_id), t),
    }
    if errors and not sent:
        return render(
            request,
            "inbox/index.html",
            {
                **(await _page_context(session, viewer)),
                "thread": thread,
                "errors": errors,
                "values": values,
            },
            block="composer",
            status_code=422,
        )
    if not is_htmx(request):
        return redirect(request, url_path(request, "inbox.conversation", conversation_id=fresh.id))
    events: dict[str, Any] = {
        "inbox:upsert": {
            "conversation": str(fresh.id),
            "messages": [str(m.id) for m in sent],
        }
    }
    failed = [m for m in sent if m.status == MessageStatus.failed]
    if failed or errors:
        events["toast"] = {
            "level": "error",
            "message": t.gettext("The message was not sent; the reason is under it."),
        }
    return render(
        request,
        "inbox/index.html",
        {
            **(await _page_context(session, viewer)),
            "thread": thread,
            "errors": errors,
            "values": {},
        },
        block="composer",
        headers=_triggers(**events),
    )


def _uuid_or_none(value: object) -> uuid.UUID | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


async def _send(
    session: SessionDep,
    outbox: service.Outbox,
    storage: Storage,
    viewer: Viewer,
    conversation_id: uuid.UUID,
    payload: dict[str, Any],
    key: str | None,
) -> Message:
    """The API's reply flow: store ``pending``, commit, then call Meta and settle."""
    data = MessageCreate.model_validate(payload)
    try:
        message, created = await service.prepare_reply(
            session, outbox, storage, viewer.principal, conversation_id, data, key
        )
    except IntegrityError:
        # The same key raced in from a concurrent submit: that one's message is the answer.
        await rollback(session)
        message, created = await service.prepare_reply(
            session, outbox, storage, viewer.principal, conversation_id, data, key
        )
    if not created:
        return message
    await commit(session)
    try:
        return await service.deliver(session, outbox, message.id)
    except AppError:
        # The channel needs reconnecting: the message is stored as failed with the reason.
        return await service.get_message(session, viewer.principal, message.id)


@router.post("/inbox/messages/{message_id}/retry", name="inbox.retry", dependencies=[CsrfProtected])
async def retry(
    request: Request,
    message_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    viewer: PageUser,
    meta: MetaDep,
    box: SecretBoxDep,
) -> Response:
    t = request_translator(request)
    message = await service.retry_message(session, viewer.principal, message_id)
    await commit(session)
    try:
        message = await service.deliver(session, service.Outbox(meta, box, settings), message.id)
    except AppError:
        message = await service.get_message(session, viewer.principal, message_id)
    if not is_htmx(request):
        return redirect(
            request,
            url_path(request, "inbox.conversation", conversation_id=message.conversation_id),
        )
    headers: dict[str, str] = {}
    if message.status == MessageStatus.failed:
        headers["HX-Trigger"] = toast_trigger(
            "error", t.gettext("The message was not sent again; the reason is under it.")
        )
    return await _message_response(request, session, message, settings, viewer, headers=headers)


REACTIONS = ("👍", "❤️", "😂", "😮", "😢", "🙏")


@router.post("/inbox/messages/{message_id}/react", name="inbox.react", dependencies=[CsrfProtected])
async def react(
    request: Request,
    message_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    viewer: PageUser,
    meta: MetaDep,
    box: SecretBoxDep,
) -> Response:
    """WhatsApp: the seller reacts to a message (an empty emoji takes the reaction back)."""
    t = request_translator(request)
    form = await request.form()
    raw = form.get("emoji")
    emoji = raw if isinstance(raw, str) and (raw == "" or raw in REACTIONS) else None
    message = await service.get_message(session, viewer.principal, message_id)
    headers: dict[str, str] = {}
    if emoji is None:
        headers["HX-Trigger"] = toast_trigger("error", t.gettext("Choose one of the reactions."))
    else:
        outbox = service.Outbox(meta, box, settings)
        try:
            # A savepoint: a refused reaction changes nothing, and the page still renders.
            async with session.begin_nested():
                message = await whatsapp_send.react(
                    session, outbox, viewer.principal, message_id, emoji
                )
        except AppError as exc:
            headers["HX-Trigger"] = toast_trigger("error", t.gettext(exc.message))
    if not is_htmx(request):
        return redirect(
            request,
            url_path(request, "inbox.conversation", conversation_id=message.conversation_id),
        )
    return await _message_response(request, session, message, settings, viewer, headers=headers)


async def _update(
    request: Request,
    session: SessionDep,
    settings: Settings,
    viewer: Viewer,
    conversation_id: uuid.UUID,
    data: ConversationUpdate,
    toast: str,
) -> Response:
    t = request_translator(request)
    await service.update_conversation(session, settings, viewer.principal, conversation_id, data)
    target = url_path(request, "inbox.conversation", conversation_id=conversation_id)
    if data.read is False or data.status == ConversationStatus.done:
        # Marked unread or done: back to the list, so opening it does not mark it read again.
        target = url_path(request, "web.inbox")
    return redirect(request, target, toast=("success", t.gettext(toast)))


@router.post("/inbox/{conversation_id}/done", name="inbox.done", dependencies=[CsrfProtected])
async def mark_done(
    request: Request,
    conversation_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    viewer: PageUser,
) -> Response:
    return await _update(
        request,
        session,
        settings,
        viewer,
        conversation_id,
        ConversationUpdate(status=ConversationStatus.done),
        N_("Marked as done."),
    )


@router.post("/inbox/{conversation_id}/reopen", name="inbox.reopen", dependencies=[CsrfProtected])
async def reopen(
    request: Request,
    conversation_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    viewer: PageUser,
) -> Response:
    return await _update(
        request,
        session,
        settings,
        viewer,
        conversation_id,
        ConversationUpdate(status=ConversationStatus.open),
        N_("Reopened."),
    )


@router.post(
    "/inbox/{conversation_id}/unread", name="inbox.mark_unread", dependencies=[CsrfProtected]
)
async def mark_unread(
    request: Request,
    conversation_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    viewer: PageUser,
) -> Response:
    return await _update(
        request,
        session,
        settings,
        viewer,
        conversation_id,
        ConversationUpdate(read=False),
        N_("Marked as unread."),
    )


@router.post("/inbox/{conversation_id}/read", name="inbox.mark_read", dependencies=[CsrfProtected])
async def mark_read(
    request: Request,
    conversation_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    viewer: PageUser,
) -> Response:
    """Called by the script when a message arrives in the thread the seller is looking at."""
    await service.update_conversation(
        session, settings, viewer.principal, conversation_id, ConversationUpdate(read=True)
    )
    return Response(status_code=204)


__all__: Sequence[str] = ("router",)
