"""What every signed-in page needs besides the principal: the user's preferences (language,
theme, timezone) and workspaces (the switcher), loaded once per request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from fastapi import Depends, Request

from socialsell.accounts import service as accounts
from socialsell.accounts.models import User
from socialsell.accounts.schemas import PreferencesRead, WorkspaceMembershipRead
from socialsell.accounts.service import Principal
from socialsell.core.deps import CurrentBrowserPrincipal, SessionDep


@dataclass(slots=True)
class Viewer:
    principal: Principal
    preferences: PreferencesRead
    workspaces: list[WorkspaceMembershipRead]

    @property
    def user(self) -> User:
        return self.principal.user

    @property
    def workspace_name(self) -> str:
        for ws in self.workspaces:
            if ws.current:
                return ws.name
        return ""

    @property
    def first_name(self) -> str:
        return self.user.name.split()[0] if self.user.name.strip() else self.user.email

    @property
    def initials(self) -> str:
        parts = self.user.name.split()
        letters = "".join(p[0] for p in parts[:2]) if parts else self.user.email[:1]
        return letters.upper()

    def format_datetime(self, value: datetime) -> str:
        """A moment in the user's timezone and language ("26 Nov 2026, 11:02")."""
        return format_datetime(
            value,
            format="medium",
            tzinfo=ZoneInfo(self.preferences.timezone),
            locale=self.preferences.language,
        )


async def get_viewer(
    request: Request, session: SessionDep, principal: CurrentBrowserPrincipal
) -> Viewer:
    preferences = await accounts.get_preferences(session, principal.user)
    workspaces = await accounts.list_workspaces(session, principal)
    # Read by web.templating when it renders this request (and its error pages).
    request.state.language = preferences.language
    request.state.theme = preferences.theme
    return Viewer(principal=principal, preferences=preferences, workspaces=workspaces)


PageUser = Annotated[Viewer, Depends(get_viewer)]
