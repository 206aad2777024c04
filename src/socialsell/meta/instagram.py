"""Instagram API with Instagram Login (graph.instagram.com), bound to one account.

Why a client bound per account rather than a token argument on every method: the product holds
many accounts' tokens, and each call must pair an account's id with that same account's token;
binding both once (``meta.instagram(token, ig_user_id)``, a cheap object sharing the one
transport and its connection pool) makes mixing them up impossible, shortens every call site,
and gives the transport the account id it keys usage readings by. Build one per job or request;
it holds no state beyond the pair.

``ig_user_id`` is the professional account id (``user_id`` of ``/me``, ``entry.id`` in webhooks).
Before it is known (right after OAuth) bind ``"me"``, which Meta accepts on every edge used here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from socialsell.meta.http import Host, MetaTransport
from socialsell.meta.models import (
    Comment,
    Container,
    Conversation,
    InsightMetric,
    Media,
    Message,
    Page,
    Profile,
    PublishingLimit,
    SendResult,
    SubscribedApp,
    UserProfile,
    parse_page,
)

USER_PROFILE_FIELDS = ("name", "username", "profile_pic", "follower_count")
PROFILE_FIELDS = (
    "id",
    "user_id",
    "username",
    "name",
    "account_type",
    "profile_picture_url",
    "followers_count",
    "follows_count",
    "media_count",
)
MEDIA_FIELDS = (
    "id",
    "caption",
    "media_type",
    "media_product_type",
    "media_url",
    "permalink",
    "thumbnail_url",
    "timestamp",
    "username",
    "like_count",
    "comments_count",
)
MESSAGE_FIELDS = ("id", "created_time", "from", "to", "message")
COMMENT_FIELDS = (
    "id",
    "text",
    "timestamp",
    "username",
    "from",
    "like_count",
    "hidden",
    "parent_id",
)
CONVERSATION_FIELDS = ("id", "updated_time")

# Meta counts the text limit in UTF-8 bytes, not characters.
MAX_TEXT_BYTES = 1000
MAX_CAROUSEL_ITEMS = 10

AttachmentType = Literal["image", "audio", "video", "file"]


def _epoch(value: datetime | int | None) -> int | None:
    if value is None or isinstance(value, int):
        return value
    return int(value.timestamp())


def _clean(params: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}


class InstagramClient:
    def __init__(self, transport: MetaTransport, access_token: str, ig_user_id: str = "me") -> None:
        if not access_token:
            raise ValueError("access_token is required")
        self._transport = transport
        self._token = access_token
        self.ig_user_id = ig_user_id
        self._usage_keys = () if ig_user_id == "me" else (ig_user_id,)

    def __repr__(self) -> str:
        return f"InstagramClient(ig_user_id={self.ig_user_id!r})"

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
    ) -> Any:
        return await self._transport.request_json(
            method,
            Host.INSTAGRAM,
            path,
            access_token=self._token,
            params=_clean(params) if params else None,
            json=json,
            usage_keys=self._usage_keys,
            idempotent=idempotent,
        )

    # --- profile and media -------------------------------------------------------------------

    async def get_profile(self, fields: Sequence[str] = PROFILE_FIELDS) -> Profile:
        body = await self._call("GET", "me", params={"fields": ",".join(fields)})
        # Meta's docs show {"data": [{...}]} while live responses are flat; accept both.
        if isinstance(body, Mapping) and isinstance(body.get("data"), list) and body["data"]:
            body = body["data"][0]
        return Profile.model_validate(body)

    async def get_user_profile(
        self, igsid: str, fields: Sequence[str] = USER_PROFILE_FIELDS
    ) -> UserProfile:
        """The profile of someone who messaged the account; Meta answers only after they have
        (consent by messaging), with code 230 otherwise."""
        body = await self._call("GET", igsid, params={"fields": ",".join(fields)})
        return UserProfile.model_validate(body)

    async def list_media(
        self,
        *,
        after: str | None = None,
        limit: int | None = None,
        fields: Sequence[str] = MEDIA_FIELDS,
    ) -> Page[Media]:
        body = await self._call(
            "GET",
            f"{self.ig_user_id}/media",
            params={"fields": ",".join(fields), "after": after, "limit": limit},
        )
        return parse_page(body, Media)

    async def get_media(self, media_id: str, fields: Sequence[str] = MEDIA_FIELDS) -> Media:
        body = await self._call("GET", media_id, params={"fields": ",".join(fields)})
        return Media.model_validate(body)

    # --- conversations and messages ----------------------------------------------------------

    async def list_conversations(
        self,
        *,
        user_id: str | None = None,
        after: str | None = None,
        limit: int | None = None,
        fields: Sequence[str] = CONVERSATION_FIELDS,
    ) -> Page[Conversation]:
        """Conversations, newest first; ``user_id`` (an IGSID) narrows to one customer."""
        body = await self._call(
            "GET",
            f"{self.ig_user_id}/conversations",
            params={
                "platform": "instagram",
                "user_id": user_id,
                "fields": ",".join(fields),
                "after": after,
                "limit": limit,
            },
        )
        return parse_page(body, Conversation)

    async def list_messages(self, conversation_id: str) -> Page[Message]:
        """The conversation's messages as ``{id, created_time}`` references.

        Meta serves details only for the 20 most recent messages of a conversation, so there is
        no cursor argument here: fetch details with :meth:`get_message`.
        """
        body = await self._call("GET", conversation_id, params={"fields": "messages"})
        messages = body.get("messages") if isinstance(body, Mapping) else None
        return parse_page(messages, Message)

    async def get_message(self, message_id: str, fields: Sequence[str] = MESSAGE_FIELDS) -> Message:
        body = await self._call("GET", message_id, params={"fields": ",".join(fields)})
        return Message.model_validate(body)

    # --- sending -----------------------------------------------------------------------------

    async def _send(self, payload: Mapping[str, Any]) -> SendResult:
        # Not idempotent: a retry after an ambiguous failure could send the message twice.
        body = await self._call("POST", f"{self.ig_user_id}/messages", json=payload)
        return SendResult.model_validate(body)

    @staticmethod
    def _message_payload(
        recipient_id: str,
        message: Mapping[str, Any],
        *,
        reply_to: str | None,
        human_agent: bool,
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {"recipient": {"id": recipient_id}, "message": dict(message)}
        if reply_to is not None:
            payload["reply_to"] = {"message_id": reply_to}
        if human_agent:
            # Extends the 24-hour window to 7 days for a human's reply; needs Meta's approval of
            # the human-agent feature for the app.
            payload["messaging_type"] = "MESSAGE_TAG"
            payload["tag"] = "HUMAN_AGENT"
        return payload

    async def send_text(
        self,
        recipient_id: str,
        text: str,
        *,
        reply_to: str | None = None,
        human_agent: bool = False,
    ) -> SendResult:
        """A text message; ``reply_to`` (a message id) quotes that message."""
        if len(text.encode()) > MAX_TEXT_BYTES:
            raise ValueError(f"Instagram text messages are limited to {MAX_TEXT_BYTES} UTF-8 bytes")
        return await self._send(
            self._message_payload(
                recipient_id, {"text": text}, reply_to=reply_to, human_agent=human_agent
            )
        )

    async def send_attachment(
        self,
        recipient_id: str,
        url: str,
        *,
        attachment_type: AttachmentType = "image",
        reply_to: str | None = None,
        human_agent: bool = False,
    ) -> SendResult:
        """An image (or audio, video, file) Meta fetches from a public URL."""
        message = {"attachment": {"type": attachment_type, "payload": {"url": url}}}
        return await self._send(
            self._message_payload(recipient_id, message, reply_to=reply_to, human_agent=human_agent)
        )

    async def send_image(
        self,
        recipient_id: str,
        url: str,
        *,
        reply_to: str | None = None,
        human_agent: bool = False,
    ) -> SendResult:
        return await self.send_attachment(
            recipient_id, url, attachment_type="image", reply_to=reply_to, human_agent=human_agent
        )

    async def send_private_reply(self, comment_id: str, text: str) -> SendResult:
        """Reply in the commenter's inbox to a comment (once per comment, within 7 days)."""
        if len(text.encode()) > MAX_TEXT_BYTES:
            raise ValueError(f"Instagram text messages are limited to {MAX_TEXT_BYTES} UTF-8 bytes")
        return await self._send(
            {"recipient": {"comment_id": comment_id}, "message": {"text": text}}
        )

    async def send_reaction(
        self, recipient_id: str, message_id: str, reaction: str = "love", *, remove: bool = False
    ) -> SendResult:
        return await self._send(
            {
                "recipient": {"id": recipient_id},
                "sender_action": "unreact" if remove else "react",
                "payload": {"message_id": message_id, "reaction": reaction},
            }
        )

    async def send_sender_action(
        self, recipient_id: str, action: Literal["typing_on", "typing_off", "mark_seen"]
    ) -> None:
        # Meta rejects any other field alongside a sender action.
        await self._call(
            "POST",
            f"{self.ig_user_id}/messages",
            json={"recipient": {"id": recipient_id}, "sender_action": action},
            idempotent=True,
        )

    # --- content publishing ------------------------------------------------------------------

    async def _create_container(self, params: Mapping[str, Any]) -> str:
        # A duplicate container is harmless (it expires unpublished after 24 h), so transient
        # failures may be retried even after the request may have reached Meta.
        body = await self._call(
            "POST", f"{self.ig_user_id}/media", json=_clean(params), idempotent=True
        )
        return str(body["id"])

    async def create_image_container(
        self,
        image_url: str,
        *,
        caption: str | None = None,
        alt_text: str | None = None,
        is_carousel_item: bool = False,
        user_tags: Sequence[Mapping[str, Any]] | None = None,
        location_id: str | None = None,
        collaborators: Sequence[str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> str:
        """A feed image (JPEG) or, with ``is_carousel_item``, a carousel child. Returns its id."""
        if is_carousel_item and (caption is not None or location_id is not None):
            raise ValueError("carousel items take no caption or location")
        return await self._create_container(
            {
                "image_url": image_url,
                "caption": caption,
                "alt_text": alt_text,
                "is_carousel_item": True if is_carousel_item else None,
                "user_tags": list(user_tags) if user_tags is not None else None,
                "location_id": location_id,
                "collaborators": list(collaborators) if collaborators is not None else None,
                **(extra or {}),
            }
        )

    async def create_video_carousel_item(self, video_url: str) -> str:
        return await self._create_container(
            {"video_url": video_url, "media_type": "VIDEO", "is_carousel_item": True}
        )

    async def create_carousel_container(
        self,
        children: Sequence[str],
        *,
        caption: str | None = None,
        location_id: str | None = None,
        collaborators: Sequence[str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> str:
        if not 2 <= len(children) <= MAX_CAROUSEL_ITEMS:
            raise ValueError(f"a carousel has 2 to {MAX_CAROUSEL_ITEMS} items")
        return await self._create_container(
            {
                "media_type": "CAROUSEL",
                "children": ",".join(children),
                "caption": caption,
                "location_id": location_id,
                "collaborators": list(collaborators) if collaborators is not None else None,
                **(extra or {}),
            }
        )

    async def create_reels_container(
        self,
        video_url: str,
        *,
        caption: str | None = None,
        share_to_feed: bool | None = None,
        cover_url: str | None = None,
        thumb_offset_ms: int | None = None,
        audio_name: str | None = None,
        collaborators: Sequence[str] | None = None,
        location_id: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> str:
        return await self._create_container(
            {
                "media_type": "REELS",
                "video_url": video_url,
                "caption": caption,
                "share_to_feed": share_to_feed,
                "cover_url": cover_url,
                "thumb_offset": thumb_offset_ms,
                "audio_name": audio_name,
                "collaborators": list(collaborators) if collaborators is not None else None,
                "location_id": location_id,
                **(extra or {}),
            }
        )

    async def create_story_container(
        self,
        *,
        image_url: str | None = None,
        video_url: str | None = None,
        user_tags: Sequence[Mapping[str, Any]] | None = None,
    ) -> str:
        if (image_url is None) == (video_url is None):
            raise ValueError("a story takes exactly one of image_url or video_url")
        return await self._create_container(
            {
                "media_type": "STORIES",
                "image_url": image_url,
                "video_url": video_url,
                "user_tags": list(user_tags) if user_tags is not None else None,
            }
        )

    async def get_container(self, container_id: str) -> Container:
        """Processing state: IN_PROGRESS, FINISHED, ERROR (see ``status``), EXPIRED, PUBLISHED."""
        body = await self._call("GET", container_id, params={"fields": "id,status_code,status"})
        return Container.model_validate(body)

    async def publish(self, container_id: str) -> str:
        """``media_publish``; returns the new media id. Never retried after an ambiguous failure:
        ask :meth:`get_container` (``PUBLISHED``?) before trying again."""
        body = await self._call(
            "POST", f"{self.ig_user_id}/media_publish", json={"creation_id": container_id}
        )
        return str(body["id"])

    async def get_publishing_limit(self, *, since: datetime | int | None = None) -> PublishingLimit:
        body = await self._call(
            "GET",
            f"{self.ig_user_id}/content_publishing_limit",
            params={"fields": "quota_usage,config", "since": _epoch(since)},
        )
        data = body.get("data") if isinstance(body, Mapping) else None
        entry: Mapping[str, Any] = (
            data[0] if isinstance(data, list) and data and isinstance(data[0], Mapping) else {}
        )
        raw_config = entry.get("config")
        config: Mapping[str, Any] = raw_config if isinstance(raw_config, Mapping) else {}
        return PublishingLimit(
            quota_usage=entry.get("quota_usage", 0),
            quota_total=config.get("quota_total"),
            quota_duration=config.get("quota_duration"),
        )

    # --- insights ----------------------------------------------------------------------------

    async def get_account_insights(
        self,
        metrics: Sequence[str],
        *,
        period: str = "day",
        metric_type: Literal["total_value", "time_series"] | None = None,
        breakdown: Sequence[str] | None = None,
        timeframe: str | None = None,
        since: datetime | int | None = None,
        until: datetime | int | None = None,
    ) -> list[InsightMetric]:
        """Account metrics. Missing data is an empty list, not zeros (Meta's convention)."""
        body = await self._call(
            "GET",
            f"{self.ig_user_id}/insights",
            params={
                "metric": ",".join(metrics),
                "period": period,
                "metric_type": metric_type,
                "breakdown": ",".join(breakdown) if breakdown else None,
                "timeframe": timeframe,
                "since": _epoch(since),
                "until": _epoch(until),
            },
        )
        return parse_page(body, InsightMetric).data

    async def get_media_insights(
        self, media_id: str, metrics: Sequence[str], *, breakdown: Sequence[str] | None = None
    ) -> list[InsightMetric]:
        body = await self._call(
            "GET",
            f"{media_id}/insights",
            params={
                "metric": ",".join(metrics),
                "breakdown": ",".join(breakdown) if breakdown else None,
            },
        )
        return parse_page(body, InsightMetric).data

    # --- comments ----------------------------------------------------------------------------

    async def list_comments(
        self,
        media_id: str,
        *,
        after: str | None = None,
        limit: int | None = None,
        fields: Sequence[str] = COMMENT_FIELDS,
    ) -> Page[Comment]:
        body = await self._call(
            "GET",
            f"{media_id}/comments",
            params={"fields": ",".join(fields), "after": after, "limit": limit},
        )
        return parse_page(body, Comment)

    async def list_comment_replies(
        self, comment_id: str, *, after: str | None = None, fields: Sequence[str] = COMMENT_FIELDS
    ) -> Page[Comment]:
        body = await self._call(
            "GET", f"{comment_id}/replies", params={"fields": ",".join(fields), "after": after}
        )
        return parse_page(body, Comment)

    async def reply_to_comment(self, comment_id: str, message: str) -> str:
        """A public reply under the comment; returns the reply's comment id."""
        body = await self._call("POST", f"{comment_id}/replies", json={"message": message})
        return str(body["id"])

    async def hide_comment(self, comment_id: str, *, hide: bool = True) -> None:
        await self._call("POST", comment_id, json={"hide": hide}, idempotent=True)

    # --- webhook subscription ----------------------------------------------------------------

    async def subscribe_webhooks(self, fields: Sequence[str]) -> None:
        """Subscribe this account to the app's webhooks for ``fields`` (replaces the set)."""
        if not fields:
            raise ValueError("subscribed_fields must not be empty")
        await self._call(
            "POST",
            f"{self.ig_user_id}/subscribed_apps",
            params={"subscribed_fields": ",".join(fields)},
            idempotent=True,
        )

    async def get_webhook_subscriptions(self) -> list[SubscribedApp]:
        body = await self._call("GET", f"{self.ig_user_id}/subscribed_apps")
        return parse_page(body, SubscribedApp).data

    async def unsubscribe_webhooks(self) -> None:
        await self._call("DELETE", f"{self.ig_user_id}/subscribed_apps")
