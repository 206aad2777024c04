"""The publisher: takes one claimed post from ``publishing`` to ``published`` (or ``failed``),
exactly once however often it is interrupted.

The steps, each ending in a checkpoint commit (a unit of work of its own, see :meth:`_checkpoint`)
so that what was done at Meta is in the database before the next step starts:

1. check the account's publishing limit (a full quota waits, it is not a failure);
2. create the container(s) — carousel children first, each child's id committed as soon as it
   exists — then the post's container, committed;
3. poll the container with back-off until FINISHED (in place for a while, then by handing the
   post back to the tick with a short lease);
4. commit ``publish_attempted_at``, call ``media_publish``;
5. commit the media id and ``published``; then fetch the permalink (its absence is no failure).

After a crash anywhere, the tick claims the post again once its lease has expired, and the
publisher starts by asking Meta about the stored container before doing anything: FINISHED is
published (once), PUBLISHED (or ``media_publish`` answering "duplicate post") is recognised and
recorded without publishing again, ERROR/EXPIRED is re-created. Only a committed container is
ever published, and Meta publishes a container at most once: so a post is published at most once.

Fencing: the post row carries ``lease_owner`` and SQLAlchemy's ``version`` counter. Every write
is ``UPDATE ... WHERE version = :seen``; a tick that re-claimed the post moved the version, so a
publisher that lost its lease fails its next write (:class:`StaleDataError`) and stops.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from socialsell import db
from socialsell.channels import service as channels
from socialsell.channels.errors import ChannelDisconnected, ChannelUnavailable
from socialsell.channels.models import Channel, ChannelStatus
from socialsell.core.crypto import SecretBox
from socialsell.core.storage import Storage, media_url
from socialsell.db import utcnow
from socialsell.meta import (
    InstagramClient,
    MetaClient,
    MetaError,
    PermissionDenied,
    RateLimited,
    TransientError,
)
from socialsell.notifications import service as notifications
from socialsell.publishing import events, rules
from socialsell.publishing.models import MediaKind, Post, PostItem, PostKind, PostStatus
from socialsell.publishing.repository import GlobalPosts
from socialsell.settings import Settings

log = structlog.get_logger(__name__)
T = TypeVar("T")

# Test hook: the crash tests SIGKILL a real worker at an exact point of the protocol. A signal
# from outside cannot hit "right after the container id was committed" or "right after
# media_publish answered, before the database knew", and those are the moments that matter.
# Honoured only with SOCIALSELL_ENV=test.
CRASH_ENV = "SOCIALSELL_TEST_PUBLISHER_CRASH_AT"

# Meta's publishing limit is a moving 24 h window; a full quota is looked at again this later.
QUOTA_WAIT = timedelta(minutes=30)
POLL_LATER_MAX = timedelta(seconds=60)
# A container just made and not ready at the first look is looked at again this much later
# (then every ``publishing_poll_later_seconds``): Meta processes most photos within seconds.
FIRST_LOOK_AGAIN = timedelta(seconds=2)
# A published media is recognised in the account's feed by caption, from this long before the
# attempt (clocks differ) on.
RECOGNISE_SLACK = timedelta(minutes=10)
_SUBCODE_RE = re.compile(r"(\d{7})")

# Meta's code/subcode pairs translated into what the person should do (meta-api.md section 3).
ADVICE: dict[int, str] = {
    2207003: "Instagram took too long to download the file. Retry; if it happens again, use a "
    "smaller file.",
    2207004: "The photo is larger than Instagram's 8 MB limit. Upload a smaller one.",
    2207005: "Instagram could not read the photo format. Upload it again as a JPEG.",
    2207006: "Instagram lost the uploaded media. Retry.",
    2207009: "The photo's shape is not accepted: crop it between 4:5 (portrait) and 1.91:1 "
    "(landscape), upload it again and edit the post.",
    2207010: "The caption is too long for Instagram. Shorten it and retry.",
    2207020: "Instagram's copy of the media expired before publishing. Retry.",
    2207023: "Instagram does not know this kind of media. Check the post's type.",
    2207026: "Instagram refused the video: use an MP4 or MOV (H.264, AAC), 3 s to 15 min for "
    "reels, 3 to 60 s for stories.",
    2207028: "A carousel needs 2 to 10 photos or videos.",
    2207040: "The caption mentions too many accounts (at most 20 @mentions).",
    2207042: "The account reached Instagram's limit of posts per 24 hours. Retry later.",
    2207050: "Instagram has restricted this account. Check the Instagram app, then retry.",
    2207051: "Instagram blocked this action as possible spam. Wait a while, then retry.",
    2207052: "Instagram could not download the media from socialsell. Make sure the address in "
    "SOCIALSELL_BASE_URL (or the S3 bucket) is reachable from the internet, then retry.",
}


class LeaseLost(Exception):
    """Another publisher holds the post now (our lease expired and the tick re-claimed it)."""


class HandBack(Exception):
    """Stop here; the post stays ``publishing`` and the tick claims it again after ``delay``."""

    def __init__(self, delay: timedelta, progress: str, *, count_attempt: bool = False) -> None:
        super().__init__(progress)
        self.delay = delay
        self.progress = progress
        self.count_attempt = count_attempt


@dataclass(frozen=True, slots=True)
class Failure:
    code: str
    reason: str
    detail: str | None = None


class Failed(Exception):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.reason)
        self.failure = failure


def crash_point(settings: Settings, name: str) -> None:
    if settings.env == "test" and os.environ.get(CRASH_ENV) == name:
        log.warning("publisher_crash_hook", point=name)
        os.kill(os.getpid(), signal.SIGKILL)


def translate(exc: MetaError) -> Failure:
    subcode = exc.subcode
    code = f"meta_{exc.code}_{subcode}" if subcode else f"meta_{exc.code}"
    detail = exc.user_msg or exc.message
    if subcode in ADVICE:
        return Failure(code, ADVICE[subcode], detail)
    if isinstance(exc, PermissionDenied):
        return Failure(
            code,
            "socialsell may not publish on this account. Reconnect it on the Channels page and "
            "leave 'publish posts' switched on, then retry.",
            detail,
        )
    return Failure(
        code, f"Instagram refused the post: {detail.rstrip('.')}. Fix it, then retry.", detail
    )


def _container_failure(status: str | None) -> Failure:
    match = _SUBCODE_RE.search(status or "")
    subcode = int(match.group(1)) if match else None
    if subcode in ADVICE:
        return Failure(f"container_error_{subcode}", ADVICE[subcode], status)
    return Failure(
        "container_error",
        "Instagram could not process the media. Check the file (format, length, size), then retry.",
        status,
    )


class Publisher:
    def __init__(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        meta: MetaClient,
        box: SecretBox,
        storage: Storage,
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.meta = meta
        self.box = box
        self.storage = storage

    async def run(self, post_id: uuid.UUID, owner: str) -> None:
        """Advance the post as far as it goes now. Safe to call twice: only the lease owner
        acts, and every step starts from what the database (and Meta) say is done."""
        async with self.sessionmaker() as session:
            try:
                await self._run(session, post_id, owner)
            except (LeaseLost, StaleDataError):
                await db.rollback(session)
                log.info("publish_lease_lost", post_id=str(post_id))
                return
            except Exception:
                await db.rollback(session)
                log.exception("publish_crashed", post_id=str(post_id))
            except BaseException:
                await db.rollback(session)
                raise
            else:
                return
        # An unexpected error (a bug, the database going away): counted like a transient
        # failure, so that a post that keeps crashing its publisher ends ``failed`` instead of
        # being claimed again every lease period for ever.
        async with self.sessionmaker() as session:
            post = await GlobalPosts(session).post(post_id)
            if post is None or post.status != PostStatus.publishing or post.lease_owner != owner:
                return
            try:
                if post.attempts + 1 > self.settings.publishing_max_retries:
                    await self._fail(
                        session,
                        post,
                        Failure(
                            "internal_error",
                            "socialsell hit an unexpected error while publishing (it has been "
                            "logged). Retry; if it happens again, contact your administrator.",
                        ),
                    )
                else:
                    delay = self.settings.publishing_retry_base_seconds * 2**post.attempts
                    await self._hand_back(
                        session,
                        post,
                        HandBack(
                            timedelta(seconds=delay),
                            "An unexpected error interrupted publishing; trying again.",
                            count_attempt=True,
                        ),
                    )
            except StaleDataError:
                await db.rollback(session)

    async def _run(self, session: AsyncSession, post_id: uuid.UUID, owner: str) -> None:
        repo = GlobalPosts(session)
        post = await repo.post(post_id)
        if post is None or post.status != PostStatus.publishing or post.lease_owner != owner:
            return  # done, deleted, or a stale doorbell of an earlier claim
        channel = await repo.channel(post.channel_id)
        try:
            if channel is None:
                raise Failed(Failure("channel_missing", "The channel was removed."))
            await self._advance(session, post, channel)
        except HandBack as wait:
            await self._hand_back(session, post, wait)
        except Failed as failed:
            await self._fail(session, post, failed.failure)
        except (ChannelUnavailable, ChannelDisconnected) as exc:
            await self._fail(
                session,
                post,
                Failure(
                    "channel_needs_reconnect",
                    f"{channel.label if channel else 'The channel'} needs to be reconnected "
                    "(its access expired or was removed). Reconnect it, then retry.",
                    exc.message,
                ),
            )

    # --- the steps ------------------------------------------------------------------------------

    async def _advance(self, session: AsyncSession, post: Post, channel: Channel) -> None:
        if channel.status != ChannelStatus.active:
            raise ChannelUnavailable
        if rules.PUBLISH_SCOPE not in (channel.scopes or []):
            raise Failed(
                Failure(
                    "missing_permission",
                    f"{channel.label} did not grant the permission to publish. Reconnect it "
                    "with 'publish posts' switched on, then retry.",
                )
            )
        made_now = post.container_id is None
        if made_now:
            if post.publish_attempted_at is None and not any(i.container_id for i in post.items):
                await self._check_quota(session, post, channel)
            await self._create_containers(session, post, channel)
        status = await self._wait_until_ready(session, post, channel, made_now=made_now)
        if status == "PUBLISHED":
            await self._recognise(session, post, channel)
            return
        await self._publish(session, post, channel)

    async def _check_quota(self, session: AsyncSession, post: Post, channel: Channel) -> None:
        limit = await self._call(session, post, channel, lambda c: c.get_publishing_limit())
        if limit.quota_total is not None and limit.quota_usage >= limit.quota_total:
            raise HandBack(
                QUOTA_WAIT,
                f"Waiting: {channel.label} has published {limit.quota_usage} of the "
                f"{limit.quota_total} posts Instagram allows per 24 hours.",
            )

    def _url(self, item: PostItem) -> str:
        return media_url(
            self.settings,
            self.storage,
            item.media.storage_key,
            ttl_seconds=self.settings.publishing_media_url_ttl_seconds,
        )

    async def _create_containers(self, session: AsyncSession, post: Post, channel: Channel) -> None:
        caption = post.caption or None
        items = list(post.items)
        if not items:
            raise Failed(Failure("no_media", "The post has no photo or video. Edit it, retry."))
        if post.kind == PostKind.carousel:
            for item in items:
                if item.container_id is not None:
                    continue  # made before an interruption: reused, not made twice
                child = await self._call(session, post, channel, self._child_action(item))
                item.container_id = child
                await self._checkpoint(session, post)
            children = [i.container_id for i in items if i.container_id]
            container = await self._call(
                session,
                post,
                channel,
                lambda c: c.create_carousel_container(children, caption=caption),
            )
        else:
            item = items[0]
            url = self._url(item)
            video = item.media.kind == MediaKind.video
            action: Callable[[InstagramClient], Awaitable[str]]
            if post.kind == PostKind.story:
                action = (
                    (lambda c: c.create_story_container(video_url=url))
                    if video
                    else (lambda c: c.create_story_container(image_url=url))
                )
            elif post.kind == PostKind.reel or video:
                # Meta removed feed videos (2023): a feed video is a reel shared to the feed.
                share = True if post.kind == PostKind.feed else post.share_to_feed
                action = lambda c: c.create_reels_container(
                    url, caption=caption, share_to_feed=share
                )
            else:
                action = lambda c: c.create_image_container(url, caption=caption)
            container = await self._call(session, post, channel, action)
        post.container_id = container
        post.progress = "Instagram is processing the media."
        await self._checkpoint(session, post)
        crash_point(self.settings, "after_container")

    def _child_action(self, item: PostItem) -> Callable[[InstagramClient], Awaitable[str]]:
        url = self._url(item)
        if item.media.kind == MediaKind.video:
            return lambda c: c.create_video_carousel_item(url)
        return lambda c: c.create_image_container(url, is_carousel_item=True)

    async def _wait_until_ready(
        self, session: AsyncSession, post: Post, channel: Channel, *, made_now: bool = False
    ) -> str:
        """FINISHED or PUBLISHED; anything else hands back, fails, or starts over.

        Waiting in place holds one of the worker's job slots while doing nothing; under a burst
        (hundreds of posts due in one minute) those slots are what the posts queue for. So by
        default in the embedded mode (``Settings.publishing_poll_budget`` 0) a container still processing hands the
        post back to the tick, which claims it again when the lease it was given runs out."""
        assert post.container_id is not None  # noqa: S101 - set by the caller
        container_id = post.container_id
        budget = self.settings.publishing_poll_budget
        delay = 1.0
        waited = 0.0
        while True:
            container = await self._call(
                session, post, channel, lambda c: c.get_container(container_id)
            )
            status = (container.status_code or "").upper()
            if status in ("FINISHED", "PUBLISHED"):
                return status
            if status == "ERROR":
                # A dead container can never be published: forget it, so Retry makes a new one.
                self._forget_containers(post)
                raise Failed(_container_failure(container.status))
            if status == "EXPIRED":
                self._forget_containers(post)
                raise HandBack(
                    timedelta(0), "Instagram's copy expired; making it again.", count_attempt=True
                )
            if waited + delay > budget:
                later = min(
                    POLL_LATER_MAX,
                    timedelta(seconds=self.settings.publishing_poll_later_seconds)
                    * 2 ** min(post.attempts, 4),
                )
                if made_now and not waited:
                    later = min(later, FIRST_LOOK_AGAIN)
                raise HandBack(later, "Instagram is processing the media.")
            await asyncio.sleep(delay)
            waited += delay
            delay *= 2

    async def _publish(self, session: AsyncSession, post: Post, channel: Channel) -> None:
        assert post.container_id is not None  # noqa: S101
        container_id = post.container_id
        # Committed before the call: from here on, a crash leaves a post whose outcome is asked
        # of Meta (the container's status) rather than guessed.
        post.publish_attempted_at = utcnow()
        post.progress = "Publishing."
        await self._checkpoint(session, post)
        try:
            media_id = await self._meta(session, channel, lambda c: c.publish(container_id))
        except MetaError as exc:
            if exc.code == 506:  # "Duplicate Post": this container is already live
                await self._recognise(session, post, channel)
                return
            if (exc.code, exc.subcode) == (9007, 2207027):
                post.publish_attempted_at = None  # definitely not published: not ready yet
                raise HandBack(
                    timedelta(seconds=self.settings.publishing_poll_later_seconds),
                    "Instagram is processing the media.",
                ) from exc
            if isinstance(exc, RateLimited) and (exc.code, exc.subcode) == (9, 2207042):
                post.publish_attempted_at = None
                raise HandBack(QUOTA_WAIT, ADVICE[2207042]) from exc
            if isinstance(exc, TransientError | RateLimited):
                # Maybe published, maybe not: publish_attempted_at stays, and the next run asks
                # the container before anything else.
                raise self._transient(post, exc) from exc
            post.publish_attempted_at = None  # Meta answered no: nothing was published
            raise Failed(translate(exc)) from exc
        crash_point(self.settings, "after_publish")
        await self._mark_published(session, post, media_id, permalink=None)
        await self._fetch_permalink(session, post, channel, media_id)

    async def _recognise(self, session: AsyncSession, post: Post, channel: Channel) -> None:
        """The container is live, published by an earlier run that did not get to record it.
        Find the media in the account's recent feed (by caption, after the attempt); if it is
        not there (a story, or an eventually consistent feed), the post is published with its
        link pending."""
        since = (post.publish_attempted_at or post.created_at) - RECOGNISE_SLACK
        found_id: str | None = None
        permalink: str | None = None
        try:
            page = await self._call(session, post, channel, lambda c: c.list_media(limit=25))
            candidates = sorted(
                (
                    m
                    for m in page.data
                    if (m.caption or "") == (post.caption or "")
                    and (m.timestamp is None or m.timestamp >= since)
                ),
                key=lambda m: (m.timestamp is None, m.timestamp),
            )
            repo = GlobalPosts(session)
            for media in candidates:
                if not await repo.media_id_taken(media.id, post.id):
                    found_id, permalink = media.id, media.permalink
                    break
        except (HandBack, Failed):
            pass  # the post is live whatever the feed says; the link can come later
        log.info("publish_recognised", post_id=str(post.id), media_id=found_id)
        await self._mark_published(session, post, found_id, permalink=permalink)

    async def _mark_published(
        self, session: AsyncSession, post: Post, media_id: str | None, permalink: str | None
    ) -> None:
        post.status = PostStatus.published
        post.external_media_id = media_id
        post.permalink = permalink
        post.published_at = utcnow()
        post.lease_owner = None
        post.lease_until = None
        post.progress = None
        events.emit(
            session,
            self.settings,
            post.workspace_id,
            events.POST_PUBLISHED,
            {
                "post_id": str(post.id),
                "channel_id": str(post.channel_id),
                "media_id": media_id,
                "permalink": permalink,
            },
        )
        await self._commit(session, post)

    async def _fetch_permalink(
        self, session: AsyncSession, post: Post, channel: Channel, media_id: str
    ) -> None:
        """Published, permalink pending, is a success: a failure here is logged and the
        periodic ``publishing.fill_permalinks`` tries again later."""
        try:
            media = await self._meta(
                session, channel, lambda c: c.get_media(media_id, fields=("id", "permalink"))
            )
        except (MetaError, ChannelUnavailable, ChannelDisconnected) as exc:
            log.info("permalink_pending", post_id=str(post.id), error=str(exc))
            await db.commit(session)  # keep the channel's health, if call_meta changed it
            return
        post.permalink = media.permalink
        await self._commit(session, post)

    # --- outcomes ---------------------------------------------------------------------------------

    def _transient(self, post: Post, exc: MetaError) -> HandBack | Failed:
        """Counts a transient failure: retried with exponential back-off, then a failure."""
        if post.attempts + 1 > self.settings.publishing_max_retries:
            return Failed(
                Failure(
                    f"meta_{exc.code}" if exc.code is not None else "meta_unavailable",
                    "Instagram kept failing while publishing (it may be down). Retry in a few "
                    "minutes.",
                    exc.user_msg or exc.message,
                )
            )
        delay = timedelta(seconds=self.settings.publishing_retry_base_seconds * 2**post.attempts)
        if isinstance(exc, RateLimited):
            delay = max(delay, timedelta(seconds=exc.retry_after_seconds))
        return HandBack(
            delay,
            f"Instagram did not answer properly; trying again in {int(delay.total_seconds())} s.",
            count_attempt=True,
        )

    async def _call(
        self,
        session: AsyncSession,
        post: Post,
        channel: Channel,
        action: Callable[[InstagramClient], Awaitable[T]],
    ) -> T:
        """One Graph call through the channel (health, dead tokens), with Meta's errors sorted
        into "try again later" and "tell the person"."""
        try:
            return await self._meta(session, channel, action)
        except (TransientError, RateLimited) as exc:
            raise self._transient(post, exc) from exc
        except MetaError as exc:
            raise Failed(translate(exc)) from exc

    async def _meta(
        self,
        session: AsyncSession,
        channel: Channel,
        action: Callable[[InstagramClient], Awaitable[T]],
    ) -> T:
        """``call_meta`` (which records the channel's health), committed at once: the health
        update must not hold the channel's row (PostgreSQL) or the database's write lock
        (SQLite) through the next network call or poll, or every post of the channel would
        queue behind it. Nothing else is pending at these points (post changes are committed
        by the checkpoints before each call)."""
        result = await channels.call_meta(session, self.meta, self.box, channel, action)
        await db.commit(session)
        return result

    @staticmethod
    def _forget_containers(post: Post) -> None:
        post.container_id = None
        post.publish_attempted_at = None
        for item in post.items:
            item.container_id = None

    async def _hand_back(self, session: AsyncSession, post: Post, wait: HandBack) -> None:
        if wait.count_attempt:
            post.attempts += 1
        post.progress = wait.progress
        # Still ``publishing``, with a lease that runs out when it is time to look again: the
        # tick claims it then (a new owner), exactly as after a crash.
        post.lease_until = utcnow() + wait.delay
        await self._commit(session, post)
        log.info(
            "publish_handed_back",
            post_id=str(post.id),
            seconds=wait.delay.total_seconds(),
            progress=wait.progress,
        )

    async def _fail(self, session: AsyncSession, post: Post, failure: Failure) -> None:
        post.status = PostStatus.failed
        post.failure_code = failure.code
        post.failure_reason = failure.reason
        post.failure_detail = failure.detail
        post.failed_at = utcnow()
        post.lease_owner = None
        post.lease_until = None
        post.progress = None
        await notifications.notify(
            session,
            post.workspace_id,
            kind="post_failed",
            severity="error",
            title="A post could not be published",
            body=failure.reason,
            link=f"/calendar?post={post.id}",
        )
        events.emit(
            session,
            self.settings,
            post.workspace_id,
            events.POST_FAILED,
            {
                "post_id": str(post.id),
                "channel_id": str(post.channel_id),
                "code": failure.code,
                "reason": failure.reason,
            },
        )
        await self._commit(session, post)
        log.warning("publish_failed", post_id=str(post.id), error_code=failure.code)

    async def _checkpoint(self, session: AsyncSession, post: Post) -> None:
        """A deliberate commit in the middle of the job, each its own unit of work: what was just
        done at Meta (a container made, a publish about to be attempted) must be stored before
        the next call, or a crash would forget it. The lease is renewed at the same time."""
        if post.lease_until is not None and post.lease_until <= utcnow():
            raise LeaseLost
        post.lease_until = utcnow() + timedelta(seconds=self.settings.publishing_lease_seconds)
        await self._commit(session, post)

    async def _commit(self, session: AsyncSession, post: Post) -> None:
        # The flush is ``UPDATE posts ... WHERE id = :id AND version = :seen``: a post claimed
        # by another tick since we read it raises StaleDataError here, before anything commits.
        await session.flush()
        await db.commit(session)


def lease_deadline(settings: Settings, now: datetime) -> datetime:
    return now + timedelta(seconds=settings.publishing_lease_seconds)
