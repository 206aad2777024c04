"""JSON API of the inbox under /api/v1, and the live event stream (SSE) for API clients
(``GET /api/v1/events``, bearer) and browsers (``GET /events``, session cookie)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, File, Header, Query, Request, Response, UploadFile
from fastapi.responses import StreamingResponse
from sqlalchemy.exc import IntegrityError

from socialsell.accounts.service import Principal
from socialsell.channels.deps import MetaDep, SecretBoxDep
from socialsell.channels.models import Platform
from socialsell.core.constants import API_PREFIX
from socialsell.core.deps import CurrentBrowserPrincipal, CurrentPrincipal, SessionDep, SettingsDep
from socialsell.core.pagination import Page, PageParams, page_params
from socialsell.core.storage import Storage, get_storage, signed_url
from socialsell.db import commit, rollback
from socialsell.inbox import live, service
from socialsell.inbox.models import ConversationKind, ConversationStatus
from socialsell.inbox.present import conversation_read, message_read
from socialsell.inbox.repository import ConversationFilters, InboxRepository
from socialsell.inbox.schemas import (
    ConversationRead,
    ConversationUpdate,
    MessageCreate,
    MessageRead,
    SearchHit,
    SearchPage,
    UploadRead,
)
from socialsell.settings import Settings

router = APIRouter(prefix=API_PREFIX, tags=["inbox"])
stream_router = APIRouter(tags=["inbox"])
StorageDep = Annotated[Storage, Depends(get_storage)]
PageDep = Annotated[PageParams, Depends(page_params)]

KEEPALIVE_SECONDS = 15.0
CATCH_UP_SECONDS = 5.0
BACKLOG_BATCH = 500


@router.get("/conversations", response_model=Page[ConversationRead])
async def list_conversations(
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    params: PageDep,
    channel_id: uuid.UUID | None = None,
    status: ConversationStatus | None = None,
    unread: bool | None = None,
    assignee_id: uuid.UUID | None = None,
    unassigned: bool = False,
    kind: ConversationKind | None = None,
    platform: Platform | None = None,
) -> Page[ConversationRead]:
    """Conversations by last activity, newest first (keyset pages); `platform` keeps one
    channel kind (instagram or whatsapp)."""
    filters = ConversationFilters(
        channel_id=channel_id,
        status=status,
        unread=unread,
        assignee_id=assignee_id,
        unassigned=unassigned,
        kind=kind,
        platform=platform,
    )
    rows, cursor = await service.list_conversations(session, principal, filters, params)
    return Page(items=[conversation_read(c, settings) for c in rows], next_cursor=cursor)


@router.get("/conversations/{conversation_id}", response_model=ConversationRead)
async def read_conversation(
    conversation_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
) -> ConversationRead:
    conversation = await service.get_conversation(session, principal, conversation_id)
    return conversation_read(conversation, settings)


@router.patch("/conversations/{conversation_id}", response_model=ConversationRead)
async def update_conversation(
    conversation_id: uuid.UUID,
    data: ConversationUpdate,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
) -> ConversationRead:
    """Mark read (`read: true`) or unread, open or done (`status`), assign or `unassign`."""
    conversation = await service.update_conversation(
        session, settings, principal, conversation_id, data
    )
    return conversation_read(conversation, settings)


@router.get("/conversations/{conversation_id}/messages", response_model=Page[MessageRead])
async def list_messages(
    conversation_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    params: PageDep,
) -> Page[MessageRead]:
    """Newest first; `next_cursor` pages to older messages."""
    rows, cursor = await service.list_messages(session, principal, conversation_id, params)
    return Page(items=[message_read(m, settings) for m in rows], next_cursor=cursor)


@router.post(
    "/conversations/{conversation_id}/messages", response_model=MessageRead, status_code=201
)
async def send_message(
    conversation_id: uuid.UUID,
    data: MessageCreate,
    response: Response,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    meta: MetaDep,
    box: SecretBoxDep,
    storage: StorageDep,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
) -> MessageRead:
    """Reply. The reply is stored as `pending` and committed before Instagram is called; the
    answer is the message as sent (`sent`) or refused (`failed`, with Instagram's reason and a
    `retry` action). The same `Idempotency-Key` never sends twice: it replays the message
    (200, `Idempotent-Replayed: true`)."""
    outbox = service.Outbox(meta, box, settings)
    try:
        message, created = await service.prepare_reply(
            session, outbox, storage, principal, conversation_id, data, idempotency_key
        )
    except IntegrityError:
        # The same key raced in from a concurrent request: that one's message is the answer.
        await rollback(session)
        message, created = await service.prepare_reply(
            session, outbox, storage, principal, conversation_id, data, idempotency_key
        )
    if not created:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
        return message_read(message, settings)
    # The durability rule: the pending row is committed before Meta is called.
    await commit(session)
    message = await service.deliver(session, outbox, message.id)
    return message_read(message, settings)


@router.post("/messages/{message_id}/retry", response_model=MessageRead)
async def retry_message(
    message_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    meta: MetaDep,
    box: SecretBoxDep,
) -> MessageRead:
    """Send a failed message again (the same row; it never becomes two messages)."""
    message = await service.retry_message(session, principal, message_id)
    await commit(session)
    message = await service.deliver(session, service.Outbox(meta, box, settings), message.id)
    return message_read(message, settings)


@router.get("/messages/search", response_model=SearchPage)
async def search_messages(
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    q: Annotated[str, Query(min_length=1, max_length=200)],
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> SearchPage:
    """Full-text search: word stems, `"exact phrases"`, `-excluded` words; accents ignored.
    Each hit has a snippet with `<mark>` around the matches, and its conversation."""
    results = await service.search_messages(session, principal, q, limit=limit, offset=offset)
    return SearchPage(
        items=[
            SearchHit(
                message=message_read(r.message, settings),
                conversation=conversation_read(r.conversation, settings),
                snippet=r.snippet,
            )
            for r in results
        ],
        next_offset=offset + limit if len(results) == limit else None,
    )


@router.get("/messages/{message_id}", response_model=MessageRead)
async def read_message(
    message_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep, settings: SettingsDep
) -> MessageRead:
    return message_read(await service.get_message(session, principal, message_id), settings)


@router.post("/inbox/uploads", response_model=UploadRead, status_code=201)
async def upload_image(
    principal: CurrentPrincipal,
    settings: SettingsDep,
    storage: StorageDep,
    file: Annotated[UploadFile, File()],
) -> UploadRead:
    """Upload an image (JPEG or PNG, at most 8 MB) to send with `image_key`."""
    data = await file.read(service.MAX_UPLOAD_BYTES + 1)
    key, content_type = await service.store_upload(storage, principal, data, file.content_type)
    return UploadRead(
        key=key, url=signed_url(settings, key), content_type=content_type, size=len(data)
    )


# ---------------------------------------------------------------------------- live events


def _last_event_id(header: str | None, query: int | None) -> int:
    """Where to resume. The browser's EventSource reconnects to the same URL (whose ``after``
    is where the page started) and adds the id of the last event it received as a header, so
    the header, when there is one, is the more recent position."""
    try:
        if header:
            return max(0, int(header))
    except ValueError:
        pass
    return query or 0


def _frame(event_id: int, kind: str, payload: object) -> bytes:
    data = json.dumps(payload, separators=(",", ":"))
    return f"id: {event_id}\nevent: {kind}\ndata: {data}\n\n".encode()


async def event_stream(
    request: Request, settings: Settings, workspace_id: uuid.UUID, last_id: int
) -> AsyncIterator[bytes]:
    """Subscribe first, then replay the log after ``last_id``, then go live; every event is sent
    once, whatever order concurrent transactions commit in (see ``live.StreamCursor``), and the
    log is read again now and then for anything published before the subscription was live."""
    pubsub = live.get_pubsub(settings)
    subscription = pubsub.subscribe(live.channel_name(workspace_id))
    queue: asyncio.Queue[dict[str, object]] = asyncio.Queue(maxsize=1000)
    cursor = live.StreamCursor(last_id)

    async def pump() -> None:
        async for message in subscription:
            await queue.put(message)

    started = asyncio.Event()

    async def pump_started() -> None:
        started.set()
        await pump()

    def frame(event_id: int, kind: str, payload: object) -> bytes:
        cursor.sent(event_id)
        # The SSE id is where a reconnect resumes: the cursor's floor, not this event's id,
        # so an earlier event still in flight is not skipped by the browser's Last-Event-ID.
        return _frame(cursor.floor, kind, payload)

    async def catch_up() -> AsyncIterator[bytes]:
        cursor.expire_holes()
        position = cursor.floor
        while True:
            async with maker() as session:
                backlog = await InboxRepository(session, workspace_id).events_after(
                    position, BACKLOG_BATCH
                )
            for event in backlog:
                position = event.id
                if cursor.wants(event.id):
                    yield frame(event.id, event.kind, event.payload)
            if len(backlog) < BACKLOG_BATCH:
                return

    task = asyncio.create_task(pump_started())
    maker = request.app.state.sessionmaker
    try:
        await started.wait()
        await asyncio.sleep(0)  # let the subscription register before reading the log
        yield b": connected\nretry: 3000\n\n"
        if last_id:
            async with maker() as session:
                oldest = await InboxRepository(session, workspace_id).oldest_event_id()
            if oldest is None or oldest > last_id + 1:
                # What came after last_id may have been pruned: the client reloads its views
                # instead of trusting a replay with holes.
                yield _frame(last_id, "reset", {"reason": "events_pruned"})
        async for chunk in catch_up():
            yield chunk
        caught_up_at = time.monotonic()
        quiet_since = caught_up_at
        while True:
            if await request.is_disconnected():
                break
            if time.monotonic() - caught_up_at >= CATCH_UP_SECONDS:
                caught_up_at = time.monotonic()
                async for chunk in catch_up():
                    quiet_since = caught_up_at
                    yield chunk
            try:
                message = await asyncio.wait_for(queue.get(), timeout=CATCH_UP_SECONDS)
            except TimeoutError:
                if time.monotonic() - quiet_since >= KEEPALIVE_SECONDS:
                    quiet_since = time.monotonic()
                    yield b": keep-alive\n\n"
                continue
            event_id = int(str(message.get("id", 0)))
            if cursor.wants(event_id):
                quiet_since = time.monotonic()
                yield frame(event_id, str(message.get("kind")), message.get("payload"))
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        await subscription.aclose()


def _stream(
    request: Request, settings: Settings, principal: Principal, last_id: int
) -> StreamingResponse:
    return StreamingResponse(
        event_stream(request, settings, principal.workspace_id, last_id),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/events", response_class=StreamingResponse)
async def api_events(
    request: Request,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    last_event_id: Annotated[str | None, Header()] = None,
    after: Annotated[int | None, Query(ge=0)] = None,
) -> StreamingResponse:
    """Server-sent events of the workspace's inbox: `message.created`, `message.updated`,
    `conversation.updated`. Reconnect with `Last-Event-ID` (or `?after=`) to resume."""
    return _stream(request, settings, principal, _last_event_id(last_event_id, after))


@stream_router.get("/events", response_class=StreamingResponse, include_in_schema=False)
async def browser_events(
    request: Request,
    principal: CurrentBrowserPrincipal,
    settings: SettingsDep,
    last_event_id: Annotated[str | None, Header()] = None,
    after: Annotated[int | None, Query(ge=0)] = None,
) -> StreamingResponse:
    return _stream(request, settings, principal, _last_event_id(last_event_id, after))
