"""Content publishing: containers (``POST /{ig-user-id}/media``), their status
(``GET /{container-id}``), ``POST /{ig-user-id}/media_publish`` and
``GET /{ig-user-id}/content_publishing_limit``.

The sandbox downloads ``image_url`` / ``video_url`` when the container is created, as Meta does:
unreachable URLs and bad images fail at once with Meta's code/subcode pairs; video problems show up
later as ``status_code=ERROR``. A container is IN_PROGRESS for ``container_processing_seconds``,
then FINISHED (or ERROR), EXPIRED after 24 h, PUBLISHED once published.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from typing import Any

from meta_sandbox import errors
from meta_sandbox.media_files import FetchError, fetch, image_info, video_info
from meta_sandbox.state import SandboxState

from .common import check_fields, fields_of, pick
from .models import Container, IGAccount, Media, StoredFile

DAY = 86_400.0
MEDIA_TYPES = ("IMAGE", "VIDEO", "CAROUSEL", "REELS", "STORIES")
HASHTAG_RE = re.compile(r"(?<![\w&])#\w+")
MENTION_RE = re.compile(r"(?<![\w@])@[\w.]+")
VIDEO_MAX_BYTES = {"REELS": 300 * 1024 * 1024, "STORIES": 100 * 1024 * 1024}
CONTAINER_FIELDS = ("id", "status_code", "status", "copyright_check_status", "media_type")


def _err(
    code: int, subcode: int, message: str, user_msg: str | None = None
) -> errors.GraphAPIError:
    return errors.publishing_error(code, subcode, message, user_msg or message)


def _bool(value: Any) -> bool:
    return str(value).lower() in ("true", "1")


def _list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    text = str(value or "").strip()
    if text.startswith("["):
        try:
            return [str(v) for v in json.loads(text)]
        except ValueError:
            pass
    return [v.strip() for v in text.split(",") if v.strip()]


def container_status(state: SandboxState, container: Container) -> str:
    now = state.clock.now()
    if container.published_media_id:
        return "PUBLISHED"
    if now - container.created_at >= state.settings.container_expiry_seconds:
        return "EXPIRED"
    if container.media_type == "CAROUSEL":
        statuses = [
            container_status(state, state.instagram.containers[c])
            for c in container.children
            if c in state.instagram.containers
        ]
        if "ERROR" in statuses:
            return "ERROR"
        if "IN_PROGRESS" in statuses or now < container.ready_at:
            return "IN_PROGRESS"
        return "FINISHED"
    if now < container.ready_at:
        return "IN_PROGRESS"
    return "ERROR" if container.error_subcode else "FINISHED"


def container_view(
    state: SandboxState, container: Container, params: dict[str, Any]
) -> dict[str, Any]:
    fields = fields_of(params, ("id",))
    check_fields(fields, CONTAINER_FIELDS, "ShadowIGMediaBuilder")
    status_code = container_status(state, container)
    status = status_code.title().replace("_", " ")
    if status_code == "ERROR":
        # Meta's wording; clients extract the subcode from it.
        status = f"Error: Media upload has failed with error code {container.error_subcode}"
    data = {
        "id": container.id,
        "status_code": status_code,
        "status": status,
        "media_type": container.media_type,
        "copyright_check_status": {"matches_found": False, "status": "completed"},
    }
    return pick(data, fields)


def _check_caption(state: SandboxState, caption: str) -> None:
    settings = state.settings
    if len(caption) > settings.caption_max_chars:
        raise _err(36004, 2207010, "The caption is too long.", "The caption was too long.")
    if len(HASHTAG_RE.findall(caption)) > settings.caption_max_hashtags:
        raise errors.invalid_parameter(
            f"(#100) The caption contains more than {settings.caption_max_hashtags} hashtags."
        )
    if len(MENTION_RE.findall(caption)) > settings.caption_max_mentions:
        raise _err(100, 2207040, "Too many tags", "You can't tag more than 20 people.")


async def _download(state: SandboxState, url: str, max_bytes: int) -> bytes:
    try:
        return (await fetch(url, max_bytes=max_bytes)).data
    except FetchError as exc:
        if exc.reason == "timeout":
            raise _err(-2, 2207003, "Timeout", "It took too long to download the media.") from exc
        if exc.reason == "too_large":
            raise _err(
                36000,
                2207004,
                "Image size too large",
                "The image is too large to download. It should be less than 8 MiB.",
            ) from exc
        raise _fetch_failed(url) from exc


def _store(state: SandboxState, data: bytes, content_type: str) -> str:
    file_id = secrets.token_hex(8)
    state.instagram.files[file_id] = StoredFile(
        id=file_id, content_type=content_type, data_b64=base64.b64encode(data).decode()
    )
    return file_id


async def _prepare_image(state: SandboxState, container: Container, check_ratio: bool) -> None:
    assert container.image_url is not None  # noqa: S101
    data = await _download(state, container.image_url, state.settings.image_max_bytes)
    info = image_info(data)
    if info is None or info.format != "JPEG":
        raise _err(
            36001,
            2207005,
            "The image format is not supported.",
            "The image format is not supported. Supported formats are: JPEG.",
        )
    ratio = info.width / info.height
    if check_ratio and not (0.8 - 1e-3 <= ratio <= 1.91 + 1e-3):
        raise _err(
            36003,
            2207009,
            "The aspect ratio is not supported.",
            f"The submitted image with aspect ratio ('{info.width}/{info.height}') cannot be published. Please submit "
            "an image with a valid aspect ratio.",
        )
    container.width, container.height = info.width, info.height
    container.file_id = _store(state, data, "image/jpeg")


async def _prepare_video(state: SandboxState, container: Container) -> None:
    assert container.video_url is not None  # noqa: S101
    limit = VIDEO_MAX_BYTES.get(container.media_type, 300 * 1024 * 1024)
    try:
        data = (await fetch(container.video_url, max_bytes=limit)).data
    except FetchError as exc:
        if exc.reason == "too_large":
            container.error_subcode, container.error_message = (
                2207026,
                "The video file is too large",
            )
            return
        raise await _raise_for(exc, container.video_url) from exc
    info = video_info(data)
    if info is None:
        container.error_subcode = 2207026
        container.error_message = "Unsupported video format. Supported formats are MOV and MP4."
        return
    low, high = (3.0, 60.0) if container.media_type == "STORIES" else (3.0, 900.0)
    if info.duration_seconds is not None and not (low <= info.duration_seconds <= high):
        container.error_subcode = 2207026
        container.error_message = (
            f"The video duration {info.duration_seconds:.1f}s is outside {low:.0f}-{high:.0f}s"
        )
        return
    if len(data) <= 8 * 1024 * 1024:
        container.file_id = _store(state, data, "video/mp4")


async def _raise_for(exc: FetchError, url: str) -> errors.GraphAPIError:
    if exc.reason == "timeout":
        return _err(-2, 2207003, "Timeout", "It took too long to download the media.")
    return _fetch_failed(url)


def _fetch_failed(url: str) -> errors.GraphAPIError:
    return errors.GraphAPIError(
        "Only photo or video can be accepted as media type.",
        code=9004,
        error_subcode=2207052,
        error_user_title="Media download has failed. The media URI doesn't meet our requirements.",
        error_user_msg=f"The media could not be fetched from this URI: {url}. Please check the "
        "limitations section in our development documentation for more details.",
    )


async def create_container(
    state: SandboxState, account: IGAccount, params: dict[str, Any]
) -> dict[str, Any]:
    settings = state.settings
    ig = state.instagram
    now = state.clock.now()
    recent = [
        c for c in ig.containers.values() if c.owner_id == account.id and now - c.created_at < DAY
    ]
    if len(recent) >= settings.containers_per_day:
        raise _err(
            9,
            2207042,
            "(#9) Application request limit reached",
            f"You reached the maximum of {settings.containers_per_day} containers in 24 hours.",
        )
    media_type = str(params.get("media_type") or "").upper()
    is_item = _bool(params.get("is_carousel_item"))
    image_url = params.get("image_url")
    video_url = params.get("video_url")
    caption = str(params.get("caption") or "")
    if not media_type:
        if video_url and not image_url:
            raise errors.invalid_parameter(
                "(#100) The media_type VIDEO is no longer supported for feed videos; "
                "use media_type=REELS"
            )
        media_type = "IMAGE"
    if media_type not in MEDIA_TYPES:
        raise _err(100, 2207023, "The media type is unknown.", f"Unknown media_type {media_type}.")
    if media_type == "VIDEO" and not is_item:
        raise errors.invalid_parameter(
            "(#100) media_type VIDEO is only supported for carousel items; use REELS"
        )
    if is_item and (caption or params.get("location_id")):
        raise errors.invalid_parameter(
            "(#100) caption and location_id are not supported on carousel items"
        )
    if is_item and media_type in ("CAROUSEL", "REELS", "STORIES"):
        raise errors.invalid_parameter(f"(#100) {media_type} cannot be a carousel item")
    alt_text = params.get("alt_text")
    if alt_text is not None and (media_type != "IMAGE" or len(str(alt_text)) > 1000):
        raise errors.invalid_parameter(
            "(#100) alt_text is only for images and at most 1000 characters"
        )
    if caption:
        _check_caption(state, caption)
    _check_tags(media_type, params)
    container = Container(
        id=state.new_id(),
        owner_id=account.id,
        media_type=media_type,
        created_at=now,
        ready_at=now + settings.container_processing_seconds,
        is_carousel_item=is_item,
        image_url=str(image_url) if image_url else None,
        video_url=str(video_url) if video_url else None,
        caption=caption,
        share_to_feed=str(params.get("share_to_feed", "true")).lower() != "false",
        alt_text=str(alt_text) if alt_text is not None else None,
    )
    if media_type == "CAROUSEL":
        children = _list(params.get("children"))
        if not 2 <= len(children) <= 10:
            raise _err(
                100,
                2207028,
                "Invalid number of carousel items",
                "A carousel must have between 2 and 10 items.",
            )
        for child_id in children:
            child = ig.containers.get(child_id)
            if child is None or child.owner_id != account.id or not child.is_carousel_item:
                raise _err(
                    24,
                    2207006,
                    "The media is not found.",
                    f"The carousel item {child_id} cannot be found or is not a carousel item.",
                )
        container.children = children
    elif media_type == "IMAGE":
        if not image_url:
            raise errors.invalid_parameter("(#100) The parameter image_url is required")
        await _prepare_image(state, container, check_ratio=True)
    elif media_type in ("REELS", "VIDEO"):
        if not video_url:
            raise errors.invalid_parameter("(#100) The parameter video_url is required")
        await _prepare_video(state, container)
    elif media_type == "STORIES":
        if image_url:
            await _prepare_image(state, container, check_ratio=False)
        elif video_url:
            await _prepare_video(state, container)
        else:
            raise errors.invalid_parameter("(#100) image_url or video_url is required for STORIES")
    ig.containers[container.id] = container
    state.register_object(container.id, "ig_container")
    return {"id": container.id}


def _json_list(value: Any, name: str) -> list[Any]:
    if isinstance(value, list):
        return value
    try:
        parsed = json.loads(str(value))
    except ValueError as exc:
        raise errors.invalid_parameter(f"(#100) Param {name} must be a JSON array") from exc
    if not isinstance(parsed, list):
        raise errors.invalid_parameter(f"(#100) Param {name} must be a JSON array")
    return parsed


def _check_tags(media_type: str, params: dict[str, Any]) -> None:
    if params.get("user_tags") not in (None, ""):
        for i, tag in enumerate(_json_list(params["user_tags"], "user_tags")):
            if not isinstance(tag, dict) or not tag.get("username"):
                raise errors.invalid_parameter(f"(#100) Param user_tags[{i}][username] is required")
            if media_type == "STORIES":
                continue  # x/y are optional on stories
            for axis in ("x", "y"):
                value = tag.get(axis)
                if not isinstance(value, int | float) or not 0.0 <= float(value) <= 1.0:
                    raise errors.invalid_parameter(
                        f"(#100) Param user_tags[{i}][{axis}] must be a number between 0 and 1"
                    )
    if params.get("collaborators") not in (None, ""):
        if media_type == "STORIES":
            raise errors.invalid_parameter("(#100) collaborators are not supported on stories")
        if len(_list(params["collaborators"])) > 3:
            raise errors.invalid_parameter("(#100) At most 3 collaborators can be invited")


def _shortcode() -> str:
    return secrets.token_urlsafe(8)[:11]


def _media_url(state: SandboxState, file_id: str | None) -> str:
    if not file_id:
        return ""
    return state.settings.public_url.rstrip("/") + f"/_sandbox/cdn/{file_id}"


def _new_media(
    state: SandboxState, container: Container, media_type: str, product: str, child: bool
) -> Media:
    media = Media(
        id=state.new_id(),
        owner_id=container.owner_id,
        media_type=media_type,
        media_product_type=product,
        caption=container.caption,
        created_at=state.clock.now(),
        shortcode=_shortcode(),
        media_url=_media_url(state, container.file_id),
        container_id=container.id,
        via_api=True,
        alt_text=container.alt_text,
        is_carousel_child=child,
    )
    if media_type == "VIDEO":
        media.thumbnail_url = media.media_url or None
    state.instagram.media[media.id] = media
    state.register_object(media.id, "ig_media")
    return media


def publishing_usage(state: SandboxState, account_id: str, since: float | None = None) -> int:
    now = state.clock.now()
    start = max(now - DAY, since or 0.0)
    return sum(1 for t in state.instagram.publish_times.get(account_id, []) if t >= start)


def publish(state: SandboxState, account: IGAccount, params: dict[str, Any]) -> dict[str, Any]:
    creation_id = str(params.get("creation_id") or "")
    if not creation_id:
        raise errors.invalid_parameter("(#100) The parameter creation_id is required")
    container = state.instagram.containers.get(creation_id)
    if container is None or container.owner_id != account.id:
        raise _err(
            24,
            2207006,
            "The media is not found.",
            f"The media with id {creation_id} cannot be found.",
        )
    status = container_status(state, container)
    if status == "PUBLISHED":
        raise errors.GraphAPIError(
            f"(#506) Duplicate Post: the container {creation_id} has already been published",
            code=506,
            error_user_title="Duplicate post",
            error_user_msg="This container was already published.",
        )
    if status == "EXPIRED":
        raise _err(
            -2,
            2207020,
            "The media has expired.",
            "The media you are trying to access has expired. Please try again.",
        )
    if status == "IN_PROGRESS":
        raise _err(
            9007,
            2207027,
            "Media ID is not available",
            "The media is not ready for publishing, please wait for a moment.",
        )
    if status == "ERROR":
        raise errors.invalid_parameter(
            f"(#100) The container {creation_id} has status ERROR and cannot be published"
        )
    if container.is_carousel_item:
        raise errors.invalid_parameter("(#100) A carousel item cannot be published on its own")
    if publishing_usage(state, account.id) >= state.settings.publishing_quota_total:
        raise _err(
            9,
            2207042,
            "(#9) Application request limit reached",
            "You reached the maximum number of posts that can be published in 24 hours.",
        )
    ig = state.instagram
    if container.media_type == "CAROUSEL":
        media = _new_media(state, container, "CAROUSEL_ALBUM", "FEED", child=False)
        for child_id in container.children:
            child = ig.containers[child_id]
            kind = "VIDEO" if child.video_url else "IMAGE"
            item = _new_media(state, child, kind, "FEED", child=True)
            child.published_media_id = item.id
            media.children.append(item.id)
        if not media.media_url and media.children:
            media.media_url = ig.media[media.children[0]].media_url
    elif container.media_type == "REELS":
        media = _new_media(state, container, "VIDEO", "REELS", child=False)
    elif container.media_type == "STORIES":
        kind = "VIDEO" if container.video_url else "IMAGE"
        media = _new_media(state, container, kind, "STORY", child=False)
    else:
        media = _new_media(state, container, "IMAGE", "FEED", child=False)
    container.published_media_id = media.id
    ig.publish_times.setdefault(account.id, []).append(state.clock.now())
    return {"id": media.id}


def publishing_limit(
    state: SandboxState, account: IGAccount, params: dict[str, Any]
) -> dict[str, Any]:
    fields = fields_of(params, ("quota_usage",))
    check_fields(fields, ("quota_usage", "config"), "ContentPublishingLimit")
    since: float | None = None
    if params.get("since"):
        try:
            since = float(params["since"])
        except ValueError as exc:
            raise errors.invalid_parameter("(#100) Param since must be a unix timestamp") from exc
        if state.clock.now() - since > DAY:
            raise errors.invalid_parameter("(#100) Param since must be no more than 24 hours ago")
    item: dict[str, Any] = {}
    if "quota_usage" in fields:
        item["quota_usage"] = publishing_usage(state, account.id, since)
    if "config" in fields:
        item["config"] = {
            "quota_total": state.settings.publishing_quota_total,
            "quota_duration": int(DAY),
        }
    return {"data": [item]}
