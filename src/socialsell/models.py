"""Every table, imported in one place so Alembic and the test schema see the whole model."""

from socialsell.accounts.models import (
    Membership,
    RefreshToken,
    User,
    UserPreferences,
    UserSession,
    Workspace,
)
from socialsell.channels.models import Channel, OAuthState
from socialsell.core.models import SchedulerLease
from socialsell.inbox.models import ChannelSync, Contact, Conversation, InboxEvent, Message
from socialsell.notifications.models import Notification
from socialsell.publishing.models import MediaAsset, Post, PostItem
from socialsell.webhooks.models import WebhookDelivery

__all__ = [
    "Channel",
    "ChannelSync",
    "Contact",
    "Conversation",
    "InboxEvent",
    "MediaAsset",
    "Membership",
    "Message",
    "Notification",
    "OAuthState",
    "Post",
    "PostItem",
    "RefreshToken",
    "SchedulerLease",
    "User",
    "UserPreferences",
    "UserSession",
    "WebhookDelivery",
    "Workspace",
]
