"""Instagram messaging: conversations (``GET /{ig-user-id}/conversations``, ``GET /{conv-id}``),
messages (``GET /{message-id}``) and the send API (``POST /{ig-user-id}/messages``), plus what
personas do (the control API calls ``receive_*`` here).

The 24-hour window: the business may message a person only within 24 h of that person's last
message (7 days with the HUMAN_AGENT tag), and only after the person wrote first; otherwise
Meta's IG-login error code 10 / subcode 2534022. A private reply to a comment is allowed once per
comment, within 7 days of it.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from fastapi import Request

from meta_sandbox import errors
from meta_sandbox.media_files import FetchError, fetch, image_info
from meta_sandbox.state import SandboxState
from meta_sandbox.webhooks import WebhookDispatcher

from .common import check_fields, emit_messaging, fields_of, iso, paginate, pick
from .models import Conversation, IGAccount, Message, Persona

TEXT_MAX_BYTES = 1000
READABLE_MESSAGES = 20
HUMAN_AGENT_SECONDS = 7 * 86_400.0
PRIVATE_REPLY_SECONDS = 7 * 86_400.0
SENDER_ACTIONS = ("typing_on", "typing_off", "mark_seen", "react", "unreact")
ATTACHMENT_TYPES = ("image", "video", "audio", "file")
CONVERSATION_FIELDS = ("id", "updated_time", "participants", "messages", "message_count")
MESSAGE_FIELDS = (
    "id",
    "created_time",
    "from",
    "to",
    "message",
    "attachments",
    "reactions",
    "is_unsupported",
    "story",
    "shares",
)


def _encoded_id(kind: str, *parts: str) -> str:
    raw = ":".join(("ig_" + kind, *parts)).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# --- conversations ------------------------------------------------------------------------------


def get_or_create_conversation(
    state: SandboxState, account: IGAccount, persona: Persona
) -> Conversation:
    ig = state.instagram
    conv = ig.conversation_for(account.id, persona.id)
    if conv is None:
        conv = Conversation(
            id=_encoded_id("conversation", account.id, persona.id),
            account_id=account.id,
            persona_id=persona.id,
            updated_at=state.clock.now(),
        )
        ig.conversations[conv.id] = conv
        state.register_object(conv.id, "ig_conversation")
    return conv


def _new_message(
    state: SandboxState,
    conv: Conversation,
    *,
    outgoing: bool,
    text: str | None,
    attachments: list[dict[str, Any]] | None = None,
    reply_to: dict[str, Any] | None = None,
    via_api: bool = False,
) -> Message:
    seq = state.new_id()
    message = Message(
        id=_encoded_id("item", "1", "IGMessageThread", conv.account_id, seq),
        conversation_id=conv.id,
        account_id=conv.account_id,
        from_id=conv.account_id if outgoing else conv.persona_id,
        to_id=conv.persona_id if outgoing else conv.account_id,
        created_at=state.clock.now(),
        outgoing=outgoing,
        text=text,
        attachments=attachments or [],
        reply_to=reply_to,
        via_api=via_api,
    )
    state.instagram.messages[message.id] = message
    state.register_object(message.id, "ig_message")
    conv.message_ids.append(message.id)
    conv.updated_at = message.created_at
    if not outgoing:
        conv.last_user_message_at = message.created_at
    return message


def _participant(state: SandboxState, object_id: str) -> dict[str, str]:
    ig = state.instagram
    if object_id in ig.accounts:
        return {"username": ig.accounts[object_id].username, "id": object_id}
    persona = ig.personas.get(object_id)
    return {"username": persona.username if persona else "", "id": object_id}


def _message_ids(state: SandboxState, conv: Conversation) -> list[str]:
    # Newest first, as Meta lists them.
    return list(reversed(conv.message_ids))


def conversation_view(
    request: Request,
    state: SandboxState,
    conv: Conversation,
    params: dict[str, Any],
    default: tuple[str, ...] = ("id",),
) -> dict[str, Any]:
    fields = fields_of(params, default)
    check_fields(fields, CONVERSATION_FIELDS, "Conversation")
    data: dict[str, Any] = {"id": conv.id, "updated_time": iso(conv.updated_at)}
    if "participants" in fields:
        data["participants"] = {
            "data": [_participant(state, conv.account_id), _participant(state, conv.persona_id)]
        }
    if "message_count" in fields:
        data["message_count"] = len(conv.message_ids)
    if "messages" in fields:
        page, paging = paginate(request, _message_ids(state, conv), params)
        ig = state.instagram
        block: dict[str, Any] = {
            "data": [{"id": mid, "created_time": iso(ig.messages[mid].created_at)} for mid in page]
        }
        if paging:
            block["paging"] = paging
        data["messages"] = block
    return pick(data, fields)


def conversations_list(
    request: Request, state: SandboxState, account: IGAccount, params: dict[str, Any]
) -> dict[str, Any]:
    platform = params.get("platform")
    if platform and platform != "instagram":
        raise errors.invalid_parameter("(#100) Param platform must be one of {instagram}")
    convs = [c for c in state.instagram.conversations.values() if c.account_id == account.id]
    default: tuple[str, ...] = ("id", "updated_time")
    if params.get("user_id"):
        convs = [c for c in convs if c.persona_id == str(params["user_id"])]
        default = ("id",)
    convs.sort(key=lambda c: (c.updated_at, c.id), reverse=True)
    paging_params = {k: v for k, v in params.items() if k in ("limit", "after", "before")}
    page, paging = paginate(request, convs, paging_params)
    # nested `messages` paging must not reuse the list's cursors
    inner = {k: v for k, v in params.items() if k not in ("after", "before", "limit")}
    body: dict[str, Any] = {
        "data": [conversation_view(request, state, c, inner, default) for c in page]
    }
    if paging:
        body["paging"] = paging
    return body


def _attachment_view(att: dict[str, Any]) -> dict[str, Any]:
    kind = att.get("type")
    url = (att.get("payload") or {}).get("url")
    if kind == "image":
        return {"image_data": {"url": url, "preview_url": url, "width": 1080, "height": 1080}}
    if kind == "video":
        return {"video_data": {"url": url, "preview_url": url}}
    if kind in ("audio", "file"):
        return {"file_url": url}
    return {"type": kind, "payload": att.get("payload")}


def message_view(state: SandboxState, message: Message, params: dict[str, Any]) -> dict[str, Any]:
    fields = fields_of(params, ("id", "created_time"))
    check_fields(fields, MESSAGE_FIELDS, "Message")
    conv = state.instagram.conversations[message.conversation_id]
    if message.id not in conv.message_ids[-READABLE_MESSAGES:] or message.is_deleted:
        raise errors.GraphAPIError(
            "(#100) This message has been deleted or is older than the 20 most recent messages "
            "of the conversation",
            code=100,
            error_subcode=2534048,
        )
    data: dict[str, Any] = {
        "id": message.id,
        "created_time": iso(message.created_at),
        "from": _participant(state, message.from_id),
        "to": {"data": [_participant(state, message.to_id)]},
        "message": message.text or "",
    }
    if message.attachments:
        data["attachments"] = {"data": [_attachment_view(a) for a in message.attachments]}
    if message.reactions:
        data["reactions"] = {"data": message.reactions}
    return pick(data, fields)


# --- user profile API ---------------------------------------------------------------------

PERSONA_FIELDS = (
    "id",
    "name",
    "username",
    "profile_pic",
    "follower_count",
    "is_verified_user",
    "is_user_follow_business",
    "is_business_follow_user",
)


def persona_view(
    state: SandboxState, account: IGAccount, persona: Persona, params: dict[str, Any]
) -> dict[str, Any]:
    """``GET /{IGSID}``: only once the person has messaged the account (their consent)."""
    conv = state.instagram.conversation_for(account.id, persona.id)
    if conv is None or conv.last_user_message_at is None:
        raise errors.GraphAPIError(
            "(#230) User consent is required to access user profile", code=230
        )
    fields = fields_of(params, ("id",))
    check_fields(fields, PERSONA_FIELDS, "InstagramUser")
    base = state.settings.public_url.rstrip("/")
    data = {
        "id": persona.id,
        "name": persona.name,
        "username": persona.username,
        "profile_pic": f"{base}/_sandbox/samples/image.jpg?width=150&height=150&color=%23888888",
        "follower_count": persona.follower_count,
        "is_verified_user": persona.is_verified_user,
        "is_user_follow_business": persona.is_user_follow_business,
        "is_business_follow_user": persona.is_business_follow_user,
    }
    return pick(data, fields)


# --- send API -------------------------------------------------------------------------------


def _json_param(value: Any, name: str) -> dict[str, Any] | None:
    if value is None or value == "":
        return None
    if isinstance(value, dict):
        return value
    try:
        parsed = json.loads(str(value))
    except ValueError as exc:
        raise errors.invalid_parameter(f"(#100) Param {name} must be a JSON object") from exc
    if not isinstance(parsed, dict):
        raise errors.invalid_parameter(f"(#100) Param {name} must be a JSON object")
    return parsed


def _no_user() -> errors.GraphAPIError:
    return errors.GraphAPIError("(#100) No matching user found", code=100, error_subcode=2018001)


async def _check_attachment_url(state: SandboxState, att: dict[str, Any]) -> None:
    url = (att.get("payload") or {}).get("url")
    if not url:
        if (att.get("payload") or {}).get("attachment_id"):
            return
        raise errors.invalid_parameter("(#100) Param message[attachment][payload][url] is required")
    limit = state.settings.image_max_bytes if att.get("type") == "image" else 25 * 1024 * 1024
    try:
        fetched = await fetch(str(url), max_bytes=limit)
    except FetchError as exc:
        raise errors.GraphAPIError(
            "(#100) Upload attachment failure.", code=100, error_subcode=2018047
        ) from exc
    if att.get("type") == "image":
        info = image_info(fetched.data)
        if info is None or info.format not in ("JPEG", "PNG"):
            raise errors.GraphAPIError(
                "(#100) Upload attachment failure: images must be PNG or JPEG.",
                code=100,
                error_subcode=2018047,
            )


async def _parse_message(
    state: SandboxState, message: dict[str, Any]
) -> tuple[str | None, list[dict[str, Any]]]:
    text = message.get("text")
    attachments: list[dict[str, Any]] = []
    single = message.get("attachment")
    many = message.get("attachments")
    if isinstance(single, dict):
        attachments.append(single)
    if isinstance(many, dict):  # the doc's single-image sample spells it this way
        attachments.append(many)
    elif isinstance(many, list):
        if len(many) > 10:
            raise errors.invalid_parameter("(#100) At most 10 attachments can be sent at once")
        attachments.extend(a for a in many if isinstance(a, dict))
    if text is None and not attachments:
        raise errors.invalid_parameter("(#100) Param message must be non-empty.")
    if text is not None and attachments:
        raise errors.invalid_parameter(
            "(#100) Only one of message[text] or message[attachment] may be set"
        )
    if text is not None:
        if not isinstance(text, str) or not text:
            raise errors.invalid_parameter(
                "(#100) Param message[text] must be a non-empty UTF-8 string"
            )
        if len(text.encode()) > TEXT_MAX_BYTES:
            raise errors.invalid_parameter(
                "(#100) Length of param message[text] must be less than or equal to 1000"
            )
    for att in attachments:
        kind = str(att.get("type", ""))
        if kind in ATTACHMENT_TYPES:
            await _check_attachment_url(state, att)
        elif kind == "like_heart":
            continue
        elif kind.upper() == "MEDIA_SHARE":
            media_id = str((att.get("payload") or {}).get("id", ""))
            if media_id not in state.instagram.media:
                raise errors.invalid_parameter(
                    "(#100) Param message[attachment][payload][id] is not a valid media id"
                )
        else:
            raise errors.invalid_parameter(f"(#100) Unsupported attachment type {kind!r}")
    return text, attachments


async def send(
    state: SandboxState, dispatcher: WebhookDispatcher, account: IGAccount, params: dict[str, Any]
) -> dict[str, Any]:
    ig = state.instagram
    recipient = _json_param(params.get("recipient"), "recipient")
    if not recipient:
        raise errors.invalid_parameter("(#100) The parameter recipient is required")
    sender_action = params.get("sender_action")
    message_param = _json_param(params.get("message"), "message")

    if recipient.get("comment_id"):
        return await _private_reply(
            state, dispatcher, account, str(recipient["comment_id"]), message_param
        )

    persona = ig.personas.get(str(recipient.get("id", "")))
    if persona is None:
        raise _no_user()
    conv = ig.conversation_for(account.id, persona.id)

    if sender_action:
        if sender_action not in SENDER_ACTIONS:
            raise errors.invalid_parameter(
                f"(#100) Param sender_action must be one of {SENDER_ACTIONS}"
            )
        if sender_action in ("typing_on", "typing_off", "mark_seen"):
            if message_param is not None or params.get("payload"):
                raise errors.invalid_parameter(
                    "(#100) sender_action cannot be sent with other fields"
                )
            if conv is None:
                raise errors.window_closed()
            if sender_action == "mark_seen":
                for mid in conv.message_ids:
                    m = ig.messages[mid]
                    if not m.outgoing and m.read_at is None:
                        m.read_at = state.clock.now()
            return {"recipient_id": persona.id}
        payload = _json_param(params.get("payload"), "payload") or {}
        target = ig.messages.get(str(payload.get("message_id", "")))
        if target is None or conv is None or target.conversation_id != conv.id:
            raise errors.invalid_parameter(
                "(#100) Param payload[message_id] is not a valid message id"
            )
        target.reactions = [r for r in target.reactions if r.get("id") != account.id]
        if sender_action == "react":
            target.reactions.append(
                {
                    "id": account.id,
                    "username": account.username,
                    "reaction": payload.get("reaction", "love"),
                }
            )
        return {"recipient_id": persona.id}

    if message_param is None:
        raise errors.invalid_parameter("(#100) The parameter message is required")
    _check_window(state, conv, params)
    assert conv is not None  # noqa: S101 - _check_window raised otherwise
    text, attachments = await _parse_message(state, message_param)
    reply_to = _json_param(params.get("reply_to"), "reply_to")
    if reply_to is not None:
        target = ig.messages.get(str(reply_to.get("message_id", "")))
        if target is None or target.conversation_id != conv.id:
            raise errors.invalid_parameter(
                "(#100) Param reply_to[message_id] is not a valid message id"
            )
        reply_to = {"mid": target.id}
    message = _new_message(
        state,
        conv,
        outgoing=True,
        text=text,
        attachments=attachments,
        reply_to=reply_to,
        via_api=True,
    )
    await _emit_echo(state, dispatcher, account, message)
    return {"recipient_id": persona.id, "message_id": message.id}


def _check_window(state: SandboxState, conv: Conversation | None, params: dict[str, Any]) -> None:
    if conv is None or conv.last_user_message_at is None:
        raise errors.window_closed()
    age = state.clock.now() - conv.last_user_message_at
    allowed = state.settings.messaging_window_seconds
    if params.get("messaging_type") == "MESSAGE_TAG" and params.get("tag") == "HUMAN_AGENT":
        allowed = HUMAN_AGENT_SECONDS
    if age > allowed:
        raise errors.window_closed()


async def _private_reply(
    state: SandboxState,
    dispatcher: WebhookDispatcher,
    account: IGAccount,
    comment_id: str,
    message_param: dict[str, Any] | None,
) -> dict[str, Any]:
    ig = state.instagram
    comment = ig.comments.get(comment_id)
    if comment is None or comment.account_id != account.id:
        raise errors.invalid_parameter(
            "(#100) Param recipient[comment_id] is not a valid comment id"
        )
    persona = ig.personas.get(comment.from_id)
    if persona is None:
        raise errors.GraphAPIError(
            "(#100) This user cannot receive private replies", code=100, error_subcode=2534014
        )
    if comment.private_reply_sent:
        raise errors.GraphAPIError(
            "(#10) A private reply has already been sent to this comment",
            code=10,
            error_subcode=2534025,
        )
    if state.clock.now() - comment.created_at > PRIVATE_REPLY_SECONDS:
        raise errors.window_closed()
    if message_param is None:
        raise errors.invalid_parameter("(#100) The parameter message is required")
    text, attachments = await _parse_message(state, message_param)
    conv = get_or_create_conversation(state, account, persona)
    message = _new_message(
        state, conv, outgoing=True, text=text, attachments=attachments, via_api=True
    )
    comment.private_reply_sent = True
    await _emit_echo(state, dispatcher, account, message)
    return {"recipient_id": persona.id, "message_id": message.id}


def _message_event_body(message: Message) -> dict[str, Any]:
    body: dict[str, Any] = {"mid": message.id}
    if message.text is not None:
        body["text"] = message.text
    if message.attachments:
        body["attachments"] = message.attachments
    if message.reply_to:
        body["reply_to"] = message.reply_to
    return body


async def _emit_echo(
    state: SandboxState, dispatcher: WebhookDispatcher, account: IGAccount, message: Message
) -> None:
    body = _message_event_body(message)
    body["is_echo"] = True
    event = {
        "sender": {"id": account.id},
        "recipient": {"id": message.to_id},
        "timestamp": int(message.created_at * 1000),
        "message": body,
    }
    await emit_messaging(state, dispatcher, account, "message_echoes", event)


# --- what personas do (control API) ----------------------------------------------------------


async def receive(
    state: SandboxState,
    dispatcher: WebhookDispatcher,
    account: IGAccount,
    persona: Persona,
    *,
    kind: str,
    text: str | None = None,
    url: str | None = None,
    mid: str | None = None,
    emoji: str | None = None,
    story_id: str | None = None,
) -> dict[str, Any]:
    """A persona acts in its conversation with ``account``; the matching webhook is queued.
    ``kind``: text | image | story_mention | story_reply | reply | reaction | unreact | read."""
    ig = state.instagram
    conv = get_or_create_conversation(state, account, persona)
    ts = int(state.clock.now() * 1000)
    envelope = {"sender": {"id": persona.id}, "recipient": {"id": account.id}, "timestamp": ts}
    base = state.settings.public_url.rstrip("/")

    if kind in ("reaction", "unreact", "read"):
        target = ig.messages.get(mid or "") if mid else None
        if target is None:
            outgoing = [ig.messages[m] for m in conv.message_ids if ig.messages[m].outgoing]
            target = outgoing[-1] if outgoing else None
        if target is None:
            raise errors.invalid_parameter("no message to react to or read in this conversation")
        if kind == "read":
            target.read_at = state.clock.now()
            event = {**envelope, "read": {"mid": target.id}}
            await emit_messaging(state, dispatcher, account, "messaging_seen", event)
            return {"mid": target.id, "conversation_id": conv.id}
        action = "react" if kind == "reaction" else "unreact"
        target.reactions = [r for r in target.reactions if r.get("id") != persona.id]
        reaction: dict[str, Any] = {"mid": target.id, "action": action}
        if action == "react":
            reaction.update({"reaction": "love", "emoji": emoji or "❤️"})
            target.reactions.append(
                {"id": persona.id, "username": persona.username, "reaction": emoji or "❤️"}
            )
        event = {**envelope, "reaction": reaction}
        await emit_messaging(state, dispatcher, account, "message_reactions", event)
        return {"mid": target.id, "conversation_id": conv.id}

    attachments: list[dict[str, Any]] = []
    reply_to: dict[str, Any] | None = None
    if kind == "image":
        attachments = [
            {"type": "image", "payload": {"url": url or base + "/_sandbox/samples/image.jpg"}}
        ]
    elif kind == "story_mention":
        attachments = [
            {
                "type": "story_mention",
                "payload": {
                    "url": url or base + "/_sandbox/samples/image.jpg?width=1080&height=1920"
                },
            }
        ]
    elif kind == "story_reply":
        story = story_id or state.new_id()
        reply_to = {
            "story": {
                "url": url or base + "/_sandbox/samples/image.jpg?width=1080&height=1920",
                "id": story,
            }
        }
    elif kind == "reply":
        target = ig.messages.get(mid or "")
        if target is None or target.conversation_id != conv.id:
            raise errors.invalid_parameter("reply_to mid is not a message of this conversation")
        reply_to = {"mid": target.id}
    elif kind != "text":
        raise errors.invalid_parameter(f"unknown inbound type {kind!r}")
    if kind in ("text", "story_reply", "reply") and not text:
        raise errors.invalid_parameter("text is required")
    message = _new_message(
        state,
        conv,
        outgoing=False,
        text=text if kind != "image" and kind != "story_mention" else None,
        attachments=attachments,
        reply_to=reply_to,
    )
    event = {**envelope, "message": _message_event_body(message)}
    await emit_messaging(state, dispatcher, account, "messages", event)
    return {"mid": message.id, "conversation_id": conv.id}
