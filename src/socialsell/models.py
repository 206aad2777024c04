"""Every table, imported in one place so Alembic and the test schema see the whole model."""

from socialsell.accounts.models import (
    Membership,
    RefreshToken,
    User,
    UserPreferences,
    UserSession,
    Workspace,
)
from socialsell.analytics.models import (
    AccountInsight,
    AnalyticsMedia,
    ChannelFollowers,
    DailyRollup,
    MediaInsight,
    RefreshState,
)
from socialsell.channels.models import Channel, OAuthState
from socialsell.core.models import SchedulerLease
from socialsell.inbox.models import ChannelSync, Contact, Conversation, InboxEvent, Message
from socialsell.notifications.models import Notification
from socialsell.publishing.models import MediaAsset, Post, PostItem
from socialsell.webhooks.models import WebhookDelivery
from socialsell.whatsapp.costs.models import WhatsAppRate
from socialsell.whatsapp.templates.models import WhatsAppTemplate, WhatsAppTemplateSync

__all__ = [
    "AccountInsight",
    "AnalyticsMedia",
    "Channel",
    "ChannelFollowers",
    "ChannelSync",
    "Contact",
    "Conversation",
    "DailyRollup",
    "InboxEvent",
    "MediaAsset",
    "MediaInsight",
    "Membership",
    "Message",
    "Notification",
    "OAuthState",
    "Post",
    "PostItem",
    "RefreshState",
    "RefreshToken",
    "SchedulerLease",
    "User",
    "UserPreferences",
    "UserSession",
    "WebhookDelivery",
    "WhatsAppRate",
    "WhatsAppTemplate",
    "WhatsAppTemplateSync",
    "Workspace",
]
