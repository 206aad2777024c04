"""Who is writing: a contact's name, username and picture from Meta's User Profile API, fetched
once when the contact first appears and refreshed lazily (weekly) after that."""

from __future__ import annotations

import uuid
from datetime import timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from socialsell.channels import service as channels
from socialsell.channels.models import ChannelStatus, Platform
from socialsell.core.crypto import SecretBox
from socialsell.db import utcnow
from socialsell.inbox.repository import GlobalInbox
from socialsell.meta import MetaClient, MetaError

log = structlog.get_logger(__name__)

PROFILE_TTL = timedelta(days=7)
# A failed fetch is tried again after this long, not at every tick.
RETRY_AFTER = timedelta(minutes=10)


async def refresh_contact_profile(
    session: AsyncSession, meta: MetaClient, box: SecretBox, contact_id: uuid.UUID
) -> bool:
    """Fetch and store one contact's profile; True if it was updated."""
    repo = GlobalInbox(session)
    contact = await repo.contact(contact_id)
    if contact is None:
        return False
    channel = await repo.channel(contact.channel_id)
    if (
        channel is None
        or channel.platform != Platform.instagram
        or channel.status != ChannelStatus.active
    ):
        return False
    try:
        profile = await channels.call_meta(
            session, meta, box, channel, lambda client: client.get_user_profile(contact.external_id)
        )
    except MetaError as exc:
        # Code 230 (no consent yet) and passing failures alike: try again a little later.
        log.info("contact_profile_deferred", contact_id=str(contact_id), error=str(exc))
        contact.profile_fetched_at = utcnow() - PROFILE_TTL + RETRY_AFTER
        await session.flush()
        return False
    contact.username = profile.username or contact.username
    contact.name = profile.name or contact.name
    contact.profile_picture_url = profile.profile_pic or contact.profile_picture_url
    contact.profile_fetched_at = utcnow()
    await session.flush()
    return True
