"""Channels: connecting Instagram accounts through OAuth, keeping their tokens alive, and
knowing at every moment whether a channel can be used.

Every Graph call made for a channel goes through :func:`call_meta`, which records the health
(last successful call, usage) and turns "token invalid" into a channel status at once, so a send
or a publish through a dead token is refused with a Reconnect action instead of failing later.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import TypeVar

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from socialsell.accounts.service import Principal
from socialsell.channels.errors import (
    AccountInOtherWorkspace,
    ChannelDisconnected,
    ChannelMetaError,
    ChannelUnavailable,
    ConnectDenied,
    ConnectMetaError,
    ConnectMissingScope,
    ConnectStateExpired,
    ConnectStateInvalid,
    ConnectStateReused,
)
from socialsell.channels.models import Channel, ChannelStatus, OAuthState, Platform
from socialsell.channels.repository import ChannelsRepository, GlobalChannels
from socialsell.channels.schemas import ChannelRead, ChannelUpdate
from socialsell.core import security
from socialsell.core.crypto import SecretBox
from socialsell.core.errors import NotFound
from socialsell.core.pagination import PageParams
from socialsell.db import utcnow
from socialsell.meta import (
    AuthorizationDenied,
    InstagramClient,
    MetaClient,
    MetaError,
    OAuthError,
    Profile,
    TokenError,
)
from socialsell.meta.usage import account_usage_key
from socialsell.notifications import service as notifications

log = structlog.get_logger(__name__)
T = TypeVar("T")

STATE_TTL = timedelta(minutes=10)
REFRESH_WINDOW = timedelta(days=7)
# What socialsell does with an account, and so asks for: profile, DMs, publishing, comments,
# insights. Without any of them a feature would fail later, so the connection is refused now.
INSTAGRAM_SCOPES = (
    "instagram_business_basic",
    "instagram_business_manage_messages",
    "instagram_business_content_publish",
    "instagram_business_manage_comments",
    "instagram_business_manage_insights",
)
SCOPE_PURPOSE = {
    "instagram_business_basic": "read the profile",
    "instagram_business_manage_messages": "read and answer DMs",
    "instagram_business_content_publish": "publish posts",
    "instagram_business_manage_comments": "read and answer comments",
    "instagram_business_manage_insights": "show analytics",
}
# Instagram Login delivers mentions inside `comments`; `message_edit` carries edits.
WEBHOOK_FIELDS = (
    "messages",
    "message_echoes",
    "message_reactions",
    "messaging_seen",
    "message_edit",
    "comments",
)


# ---------------------------------------------------------------------------- reading


def channel_read(channel: Channel) -> ChannelRead:
    return ChannelRead.model_validate(
        {
            **{c: getattr(channel, c) for c in ChannelRead.model_fields if hasattr(channel, c)},
            "missing_scopes": missing_scopes(channel),
            "webhook_subscribed": webhook_subscribed(channel),
        }
    )


def missing_scopes(channel: Channel) -> list[str]:
    if channel.platform != Platform.instagram:
        return []
    return [s for s in INSTAGRAM_SCOPES if s not in (channel.scopes or [])]


def webhook_subscribed(channel: Channel) -> bool:
    if channel.platform != Platform.instagram:
        return bool(channel.webhook_fields)
    return set(WEBHOOK_FIELDS) <= set(channel.webhook_fields or [])


async def list_channels(
    session: AsyncSession, principal: Principal, params: PageParams
) -> tuple[Sequence[Channel], str | None]:
    return await ChannelsRepository(session, principal.workspace_id).page(params)


async def all_channels(session: AsyncSession, principal: Principal) -> Sequence[Channel]:
    return await ChannelsRepository(session, principal.workspace_id).all()


async def get_channel(
    session: AsyncSession, principal: Principal, channel_id: uuid.UUID
) -> Channel:
    channel = await ChannelsRepository(session, principal.workspace_id).get(channel_id)
    if channel is None:
        raise NotFound("This channel does not exist.")
    return channel


async def update_channel(
    session: AsyncSession, principal: Principal, channel_id: uuid.UUID, data: ChannelUpdate
) -> Channel:
    channel = await get_channel(session, principal, channel_id)
    if data.display_name is not None:
        channel.display_name = data.display_name
    if data.color is not None:
        channel.color = data.color.lower()
    await session.flush()
    return channel


# ---------------------------------------------------------------------------- connecting


async def start_instagram_connect(
    session: AsyncSession, meta: MetaClient, principal: Principal, *, redirect_uri: str
) -> str:
    """Record a single-use state bound to this sign-in and return Instagram's authorize URL."""
    state = security.new_token()
    now = utcnow()
    session.add(
        OAuthState(
            workspace_id=principal.workspace_id,
            session_id=principal.session.id,
            user_id=principal.user.id,
            platform=Platform.instagram,
            state_hash=security.hash_token(state),
            redirect_uri=redirect_uri,
            created_at=now,
            expires_at=now + STATE_TTL,
        )
    )
    await session.flush()
    return meta.oauth.authorize_url(redirect_uri=redirect_uri, scopes=INSTAGRAM_SCOPES, state=state)


async def _spend_state(
    session: AsyncSession, principal: Principal, state: str | None
) -> OAuthState:
    repo = GlobalChannels(session)
    row = await repo.oauth_state(security.hash_token(state)) if state else None
    if (
        row is None
        or row.session_id != principal.session.id
        or row.workspace_id != principal.workspace_id
    ):
        raise ConnectStateInvalid
    now = utcnow()
    if row.used_at is not None or not await repo.spend_oauth_state(row.id, now):
        raise ConnectStateReused
    if row.expires_at <= now:
        raise ConnectStateExpired
    return row


async def complete_instagram_connect(
    session: AsyncSession,
    meta: MetaClient,
    box: SecretBox,
    principal: Principal,
    query: dict[str, str],
) -> Channel:
    """The OAuth callback: check the state, exchange the code for a long-lived token, read the
    profile, store or update the channel, subscribe it to webhooks."""
    oauth_state = await _spend_state(session, principal, query.get("state"))
    try:
        code = meta.oauth.code_from_redirect(query)
    except AuthorizationDenied as exc:
        raise ConnectDenied from exc
    except OAuthError as exc:
        raise ConnectMetaError(f"Instagram did not connect the account: {exc.message}.") from exc
    try:
        short = await meta.oauth.exchange_code(code=code, redirect_uri=oauth_state.redirect_uri)
    except MetaError as exc:
        raise ConnectMetaError(
            f"Instagram refused the connection ({exc.message}). Start again from the Channels "
            "page; if it happens again, wait a few minutes."
        ) from exc
    missing = [s for s in INSTAGRAM_SCOPES if s not in short.permissions]
    if missing:
        needs = ", ".join(f"{s} (to {SCOPE_PURPOSE[s]})" for s in missing)
        raise ConnectMissingScope(
            f"Instagram did not grant every permission socialsell needs: {needs}. "
            "Connect again and leave every permission switched on."
        )
    try:
        long = await meta.oauth.exchange_for_long_lived(short.access_token.get_secret_value())
        token = long.access_token.get_secret_value()
        profile = await meta.instagram(token).get_profile()
    except MetaError as exc:
        raise ConnectMetaError(
            f"Instagram answered with an error while connecting ({exc.message}). "
            "Start again in a few minutes."
        ) from exc

    external_id = profile.user_id or short.user_id or profile.id
    channel = await GlobalChannels(session).by_external_id(Platform.instagram, external_id)
    if channel is not None and channel.workspace_id != principal.workspace_id:
        raise AccountInOtherWorkspace
    if channel is None:
        channel = Channel(
            workspace_id=principal.workspace_id,
            platform=Platform.instagram,
            external_id=external_id,
        )
        session.add(channel)
    _apply_profile(channel, profile)
    now = utcnow()
    channel.scopes = list(short.permissions)
    channel.token_encrypted = box.encrypt(token)
    channel.token_expires_at = long.expires_at
    channel.token_refreshed_at = now
    channel.status = ChannelStatus.active
    channel.status_reason = None
    channel.connected_at = now
    channel.connected_by_id = principal.user.id
    channel.disconnected_at = None
    channel.last_api_success_at = now
    await session.flush()
    await _subscribe_webhooks(session, channel, meta.instagram(token, external_id))
    return channel


def _apply_profile(channel: Channel, profile: Profile) -> None:
    channel.username = profile.username or channel.username
    channel.name = profile.name or channel.name
    channel.profile_picture_url = profile.profile_picture_url
    channel.account_type = profile.account_type
    channel.followers_count = profile.followers_count
    channel.media_count = profile.media_count


async def _subscribe_webhooks(
    session: AsyncSession, channel: Channel, client: InstagramClient
) -> None:
    """Subscribe and read back what Meta recorded. A failure leaves the channel connected with
    the subscription marked missing: the health panel offers to repair it."""
    try:
        await client.subscribe_webhooks(WEBHOOK_FIELDS)
        apps = await client.get_webhook_subscriptions()
        channel.webhook_fields = sorted({f for app in apps for f in app.subscribed_fields})
    except MetaError as exc:
        log.warning("webhook_subscribe_failed", channel_id=str(channel.id), error=str(exc))
        channel.webhook_fields = []
    channel.webhook_checked_at = utcnow()
    await session.flush()


# ---------------------------------------------------------------------------- using


def instagram_client(meta: MetaClient, box: SecretBox, channel: Channel) -> InstagramClient:
    if channel.status == ChannelStatus.disconnected or channel.token_encrypted is None:
        raise ChannelDisconnected
    if channel.status in {ChannelStatus.token_expired, ChannelStatus.revoked}:
        raise ChannelUnavailable
    return meta.instagram(box.decrypt(channel.token_encrypted), channel.external_id)


async def call_meta(
    session: AsyncSession,
    meta: MetaClient,
    box: SecretBox,
    channel: Channel,
    action: Callable[[InstagramClient], Awaitable[T]],
) -> T:
    """Run one Graph call for ``channel``, keeping its health up to date."""
    client = instagram_client(meta, box, channel)
    try:
        result = await action(client)
    except TokenError as exc:
        await mark_token_failed(session, channel, exc)
        raise ChannelUnavailable from exc
    channel.last_api_success_at = utcnow()
    reading = await meta.usage_tracker.get(account_usage_key(channel.external_id))
    if reading is not None:
        channel.api_usage = {"percent": reading.percent}
    await session.flush()
    return result


async def mark_token_failed(session: AsyncSession, channel: Channel, exc: TokenError) -> None:
    if channel.status in {ChannelStatus.token_expired, ChannelStatus.revoked}:
        return
    # Subcode 460 (password changed) and 458 (app removed) mean the user took access away.
    revoked = exc.subcode in {458, 460}
    channel.status = ChannelStatus.revoked if revoked else ChannelStatus.token_expired
    channel.status_reason = (
        "Access was removed on Instagram (app removed or password changed)."
        if revoked
        else "The access token expired or is no longer valid."
    )
    if channel.platform == Platform.whatsapp:
        channel.status_reason = (
            "WhatsApp no longer accepts this number's system-user token (it expired, was "
            "revoked or lost its permissions). Connect the number again with a new token."
        )
    await notifications.notify(
        session,
        channel.workspace_id,
        kind="channel_needs_reconnect",
        severity="error",
        title=f"{channel.label} needs to be reconnected",
        body=f"{channel.status_reason} Sending and publishing through it are paused until you "
        "reconnect it.",
        link="/channels",
    )
    await session.flush()


async def sync_channel(
    session: AsyncSession,
    meta: MetaClient,
    box: SecretBox,
    principal: Principal,
    channel_id: uuid.UUID,
) -> Channel:
    channel = await get_channel(session, principal, channel_id)
    if channel.platform == Platform.whatsapp:
        from socialsell.whatsapp import service as whatsapp

        return await whatsapp.refresh_number(
            session, channel, whatsapp.client_for(meta, box, channel)
        )
    try:
        profile = await call_meta(session, meta, box, channel, lambda c: c.get_profile())
    except MetaError as exc:
        raise ChannelMetaError(f"Instagram answered with an error: {exc.message}.") from exc
    _apply_profile(channel, profile)
    await session.flush()
    return channel


async def repair_webhooks(
    session: AsyncSession,
    meta: MetaClient,
    box: SecretBox,
    principal: Principal,
    channel_id: uuid.UUID,
) -> Channel:
    channel = await get_channel(session, principal, channel_id)
    if channel.platform == Platform.whatsapp:
        from socialsell.whatsapp import service as whatsapp

        # Reading the number again re-subscribes the app to its account.
        return await whatsapp.refresh_number(
            session, channel, whatsapp.client_for(meta, box, channel)
        )
    client = instagram_client(meta, box, channel)  # refuses disconnected and expired channels
    await _subscribe_webhooks(session, channel, client)
    return channel


async def disconnect(
    session: AsyncSession,
    meta: MetaClient,
    box: SecretBox,
    principal: Principal,
    channel_id: uuid.UUID,
) -> Channel:
    """Forget the token and stop webhooks; the channel's history stays, read-only."""
    channel = await get_channel(session, principal, channel_id)
    if channel.status == ChannelStatus.disconnected:
        return channel
    # A WhatsApp app subscription belongs to the whole business account (other numbers may
    # use it): only the number's token is forgotten; its webhooks are then ignored.
    if (
        channel.token_encrypted
        and channel.status == ChannelStatus.active
        and channel.platform == Platform.instagram
    ):
        try:
            await meta.instagram(
                box.decrypt(channel.token_encrypted), channel.external_id
            ).unsubscribe_webhooks()
        except MetaError as exc:  # the token is deleted anyway; Meta stops on its own
            log.info("webhook_unsubscribe_failed", channel_id=str(channel.id), error=str(exc))
    channel.token_encrypted = None
    channel.token_expires_at = None
    channel.webhook_fields = []
    channel.status = ChannelStatus.disconnected
    channel.status_reason = "Disconnected by a member of the workspace."
    channel.disconnected_at = utcnow()
    await session.flush()
    return channel


# ---------------------------------------------------------------------------- token refresh


async def channels_due_for_refresh(session: AsyncSession) -> Sequence[uuid.UUID]:
    return await GlobalChannels(session).tokens_expiring_before(utcnow() + REFRESH_WINDOW)


async def refresh_token(
    session: AsyncSession, meta: MetaClient, box: SecretBox, channel_id: uuid.UUID
) -> bool:
    """Refresh one channel's long-lived token. A refusal that will not pass marks the channel
    and notifies the workspace; a passing failure is left for the next run. True if refreshed."""
    channel = await GlobalChannels(session).by_id(channel_id)
    if channel is None or channel.token_encrypted is None or channel.status != ChannelStatus.active:
        return False
    try:
        result = await meta.oauth.refresh_long_lived(box.decrypt(channel.token_encrypted))
    except TokenError as exc:
        await mark_token_failed(session, channel, exc)
        return False
    except OAuthError as exc:
        await mark_token_failed(session, channel, TokenError(exc.message, code=exc.code))
        return False
    except MetaError as exc:
        log.warning("token_refresh_deferred", channel_id=str(channel.id), error=str(exc))
        return False
    channel.token_encrypted = box.encrypt(result.access_token.get_secret_value())
    channel.token_expires_at = result.expires_at
    channel.token_refreshed_at = utcnow()
    await session.flush()
    return True


async def rotate_encryption(session: AsyncSession, box: SecretBox) -> int:
    """Re-encrypt every stored token with the newest key (after adding one)."""
    from sqlalchemy import select

    rows = (
        await session.scalars(select(Channel).where(Channel.token_encrypted.is_not(None)))
    ).all()
    for channel in rows:
        if channel.token_encrypted is not None:
            channel.token_encrypted = box.rotate(channel.token_encrypted)
    await session.flush()
    return len(rows)
