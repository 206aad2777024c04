"""Instagram webhook payloads (``object: instagram``) into inbox events.

Shapes (reference/meta-api.md §5): ``entry[].messaging[]`` with ``sender``, ``recipient``,
``timestamp`` (ms) and one of ``message`` (text, attachments, ``is_echo``, ``is_deleted``,
``reply_to``), ``reaction``, ``read``, ``message_edit``; and ``entry[].changes[]`` with
``field: comments`` for comments on the account's media (Instagram Login delivers mentions there
too). Anything else is reported as unknown, never guessed at.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from socialsell.inbox.ingest import (
    EditEvent,
    Event,
    IncomingAttachment,
    MessageEvent,
    Party,
    ReactionEvent,
    ReadEvent,
    UnsendEvent,
)
from socialsell.inbox.models import ConversationKind, Direction, MessageKind


class MalformedPayload(ValueError):
    pass


@dataclass
class Parsed:
    # (account id = channel external id, event)
    events: list[tuple[str, Event]] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


_ATTACHMENT_KINDS = {
    "image": MessageKind.image,
    "video": MessageKind.video,
    "audio": MessageKind.audio,
    "file": MessageKind.file,
    "share": MessageKind.share,
    "ig_post": MessageKind.share,
    "ig_reel": MessageKind.share,
    "reel": MessageKind.share,
    "media": MessageKind.share,
    "story_mention": MessageKind.story_mention,
    "ig_story": MessageKind.story_mention,
}


def _time(value: Any) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MalformedPayload("timestamp missing")
    # Messaging events count in milliseconds, `changes` entries in seconds.
    seconds = value / 1000 if value > 100_000_000_000 else float(value)
    return datetime.fromtimestamp(seconds, UTC)


def _id(obj: Any, name: str) -> str:
    if isinstance(obj, Mapping) and isinstance(obj.get("id"), str | int):
        return str(obj["id"])
    raise MalformedPayload(f"{name}.id missing")


def parse(payload: Any) -> Parsed:
    if not isinstance(payload, Mapping) or payload.get("object") != "instagram":
        raise MalformedPayload("not an instagram delivery")
    entries = payload.get("entry")
    if not isinstance(entries, list):
        raise MalformedPayload("entry missing")
    parsed = Parsed()
    for entry in entries:
        if not isinstance(entry, Mapping):
            raise MalformedPayload("entry is not an object")
        account_id = _id(entry, "entry")
        for item in entry.get("messaging") or []:
            _messaging(parsed, account_id, item)
        for change in entry.get("changes") or []:
            _change(parsed, account_id, entry.get("time"), change)
        if not entry.get("messaging") and not entry.get("changes"):
            parsed.unknown.append("entry without messaging or changes")
    return parsed


def _messaging(parsed: Parsed, account_id: str, item: Any) -> None:
    if not isinstance(item, Mapping):
        raise MalformedPayload("messaging item is not an object")
    sender = _id(item.get("sender"), "sender")
    recipient = _id(item.get("recipient"), "recipient")
    at = _time(item.get("timestamp"))
    customer = recipient if sender == account_id else sender
    if isinstance(item.get("message"), Mapping):
        parsed.events.append(
            (account_id, _message(item["message"], account_id, sender, customer, at))
        )
    elif isinstance(item.get("reaction"), Mapping):
        r = item["reaction"]
        removed = r.get("action") == "unreact"
        parsed.events.append(
            (
                account_id,
                ReactionEvent(
                    contact=Party(customer),
                    target_external_id=str(r.get("mid") or ""),
                    at=at,
                    reaction=None
                    if removed
                    else str(r.get("reaction") or r.get("emoji") or "love"),
                    emoji=None if removed else (str(r["emoji"]) if r.get("emoji") else None),
                    by_business=sender == account_id,
                ),
            )
        )
    elif isinstance(item.get("read"), Mapping):
        parsed.events.append(
            (account_id, ReadEvent(Party(customer), str(item["read"].get("mid") or ""), at))
        )
    elif isinstance(item.get("message_edit"), Mapping):
        e = item["message_edit"]
        parsed.events.append(
            (
                account_id,
                EditEvent(
                    target_external_id=str(e.get("mid") or ""),
                    text=str(e.get("text") or ""),
                    edit_count=int(e.get("num_edit") or 1),
                    at=at,
                ),
            )
        )
    else:
        kinds = sorted(k for k in item if k not in {"sender", "recipient", "timestamp"})
        parsed.unknown.append("messaging:" + ",".join(kinds))


def _message(
    m: Mapping[str, Any], account_id: str, sender: str, customer: str, at: datetime
) -> Event:
    mid = m.get("mid")
    if not isinstance(mid, str) or not mid:
        raise MalformedPayload("message.mid missing")
    if m.get("is_deleted"):
        return UnsendEvent(mid, at)
    outbound = bool(m.get("is_echo")) or sender == account_id
    attachments: list[IncomingAttachment] = []
    kind = MessageKind.text
    details: dict[str, Any] = {}
    for att in m.get("attachments") or []:
        if not isinstance(att, Mapping):
            continue
        att_type = str(att.get("type") or "file")
        payload = att.get("payload") if isinstance(att.get("payload"), Mapping) else {}
        url = payload.get("url") if isinstance(payload, Mapping) else None
        attachments.append(
            IncomingAttachment(att_type, str(url) if url else None, dict(payload or {}))
        )
        if kind == MessageKind.text:
            kind = _ATTACHMENT_KINDS.get(att_type, MessageKind.file)
    reply_to = m.get("reply_to") if isinstance(m.get("reply_to"), Mapping) else {}
    reply_mid = None
    if isinstance(reply_to, Mapping):
        if isinstance(reply_to.get("story"), Mapping):
            story = reply_to["story"]
            kind = MessageKind.story_reply
            details["story"] = {"id": story.get("id"), "url": story.get("url")}
            if story.get("url"):
                attachments.append(IncomingAttachment("story", str(story["url"]), dict(story)))
        elif reply_to.get("mid"):
            reply_mid = str(reply_to["mid"])
    if m.get("is_unsupported"):
        kind = MessageKind.unsupported
    for extra in ("quick_reply", "referral"):
        if isinstance(m.get(extra), Mapping):
            details[extra] = dict(m[extra])
    if kind == MessageKind.story_mention:
        details["story_mention"] = True
    text = m.get("text")
    return MessageEvent(
        contact=Party(customer),
        direction=Direction.outbound if outbound else Direction.inbound,
        external_id=mid,
        at=at,
        kind=kind,
        text=str(text) if isinstance(text, str) else None,
        attachments=tuple(attachments),
        reply_to_external_id=reply_mid,
        details=details,
    )


def _change(parsed: Parsed, account_id: str, entry_time: Any, change: Any) -> None:
    if not isinstance(change, Mapping):
        raise MalformedPayload("change is not an object")
    field_name = change.get("field")
    value = change.get("value")
    if field_name not in {"comments", "live_comments"} or not isinstance(value, Mapping):
        parsed.unknown.append(f"changes:{field_name}")
        return
    author = value.get("from")
    comment_id = value.get("id") or value.get("comment_id")
    media = value.get("media") if isinstance(value.get("media"), Mapping) else {}
    media_id = str(media.get("id")) if isinstance(media, Mapping) and media.get("id") else None
    if not isinstance(author, Mapping) or not comment_id or not media_id:
        raise MalformedPayload("comment without from, id or media")
    author_id = _id(author, "from")
    if author_id == account_id:
        # The account's own comment (a reply made in the app): its thread is its parent's,
        # which this payload does not name reliably; replies sent here are stored when sent.
        parsed.unknown.append("changes:comments(own)")
        return
    at = _time(value["timestamp"]) if isinstance(value.get("timestamp"), int) else _time(entry_time)
    details: dict[str, Any] = {
        "media_product_type": media.get("media_product_type")
        if isinstance(media, Mapping)
        else None
    }
    if value.get("parent_id"):
        details["parent_id"] = str(value["parent_id"])
    parsed.events.append(
        (
            account_id,
            MessageEvent(
                contact=Party(author_id, username=_str(author.get("username"))),
                direction=Direction.inbound,
                external_id=str(comment_id),
                at=at,
                kind=MessageKind.comment,
                text=_str(value.get("text")),
                details=details,
                conversation_kind=ConversationKind.comments,
                media_id=media_id,
            ),
        )
    )


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None
