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
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from starlette.datastructures import UploadFile

from socialsell.channels import service as channels
from socialsell.channels.deps import MetaDep, SecretBoxDep
from socialsell.channels.models import Channel
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


@dataclass(slots=True)
class Media:
    type: str
    url: str | None  # None: not shown (still being copied, or from an address the page refuses)
    content_type: str | None


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
    return ChannelFace(id=channel.id, label=channel.label, color=channel.color)


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
        channel=_channel_face(faces.get(conversation.channel_id), conversation.channel_id),
        kind=conversation.kind.value,
        preview=preview_text(conversation.last_message_preview, t),
        when=moment(conversation.last_message_at, now, viewer, t),
        unread=conversation.unread_count,
        status=conversation.status.value,
        selected=conversation.id == selected,
    )


def bubble(
    m: MessageRead, viewer: Viewer, t: Translator, now: datetime, base_url: str = ""
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
    )


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


# ---------------------------------------------------------------------------- loading


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
        "contact_url": f"https://instagram.com/{conversation.contact.username}"
        if conversation.contact.username
        else None,
        "bubbles": [
            bubble(message_read(m, settings), viewer, t, now, settings.base_url)
            for m in reversed(messages)
        ],
        "older_cursor": cursor,
        "composer": composer(conversation, settings, channel, t),
        "others": others,
        "filters": filters,
    }


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
    now = utcnow()
    messages, next_cursor = await service.list_messages(
        session, viewer.principal, conversation_id, PageParams(limit=THREAD_PAGE, cursor=cursor)
    )
    return render(
        request,
        "inbox/_older.html",
        {
            "conversation_id": conversation_id,
            "bubbles": [
                bubble(message_read(m, settings), viewer, t, now, settings.base_url)
                for m in reversed(messages)
            ],
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
    return _message_response(request, message, settings, viewer)


def _message_response(
    request: Request,
    message: Message,
    settings: Settings,
    viewer: Viewer,
    *,
    headers: Mapping[str, str] | None = None,
) -> Response:
    t = request_translator(request)
    return render(
        request,
        "inbox/_message.html",
        {"b": bubble(message_read(message, settings), viewer, t, utcnow(), settings.base_url)},
        headers=headers,
    )


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
                sent.append(
                    await _send(
                        session,
                        outbox,
                        storage,
                        viewer,
                        conversation.id,
                        {"image_key": stored},
                        image_key,
                    )
                )
        if not errors and text:
            payload: dict[str, Any] = {"text": text}
            if mode is not None and conversation.kind == ConversationKind.comments:
                payload["mode"] = mode
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
    return _message_response(request, message, settings, viewer, headers=headers)


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
