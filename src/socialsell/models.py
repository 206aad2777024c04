"""Every table, imported in one place so Alembic and the test schema see the whole model."""

from socialsell.accounts.models import (
    Membership,
    RefreshToken,
    User,
    UserPreferences,
    UserSession,
    Workspace,
)

__all__ = [
    "Membership",
    "RefreshToken",
    "User",
    "UserPreferences",
    "UserSession",
    "Workspace",
]
