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
from socialsell.notifications.models import Notification

__all__ = [
    "Channel",
    "Membership",
    "Notification",
    "OAuthState",
    "RefreshToken",
    "SchedulerLease",
    "User",
    "UserPreferences",
    "UserSession",
    "Workspace",
]
