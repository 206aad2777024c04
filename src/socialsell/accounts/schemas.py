"""What the accounts API reads and writes. The same models validate the HTML forms."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from socialsell.accounts.models import Role
from socialsell.core.i18n import SUPPORTED_LANGUAGES

_TIMEZONES = frozenset(available_timezones())


def password_problem(password: str) -> str | None:
    """The one password rule, shared by the API, the forms and the CLI."""
    if len(password) < 8:
        return "Use at least 8 characters."
    if len(password) > 256:
        return "Use at most 256 characters."
    if not any(c.islower() for c in password):
        return "Add a lower-case letter."
    if not any(c.isupper() for c in password):
        return "Add an upper-case letter."
    if not any(c.isdigit() for c in password):
        return "Add a digit."
    return None


def _check_password(value: str) -> str:
    if problem := password_problem(value):
        raise ValueError(problem)
    return value


def _check_timezone(value: str) -> str:
    if value not in _TIMEZONES:
        raise ValueError("Choose a timezone from the list (for example Europe/Lisbon).")
    return value


def _check_language(value: str) -> str:
    if value not in SUPPORTED_LANGUAGES:
        raise ValueError(f"Choose one of: {', '.join(SUPPORTED_LANGUAGES)}.")
    return value


Password = Annotated[str, AfterValidator(_check_password)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Timezone = Annotated[str, AfterValidator(_check_timezone)]
Language = Annotated[str, AfterValidator(_check_language)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegisterIn(StrictModel):
    email: EmailStr
    password: Password
    name: Name


class LoginIn(StrictModel):
    email: EmailStr
    password: str = Field(min_length=1, max_length=256)


class RefreshIn(StrictModel):
    refresh_token: str = Field(min_length=1, max_length=200)


class TokenPair(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth 2 token type name
    expires_in: int = Field(description="Seconds until the access token expires.")
    refresh_token: str
    session_id: uuid.UUID


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    name: str
    created_at: datetime


class UserUpdate(StrictModel):
    email: EmailStr | None = None
    name: Name | None = None


class NotificationSettings(BaseModel):
    email_new_message: bool = True
    email_post_failed: bool = True
    email_channel_problem: bool = True
    in_app_new_message: bool = True
    weekly_report: bool = False


class PreferencesRead(BaseModel):
    timezone: str
    language: str
    theme: Literal["system", "light", "dark"]
    notifications: NotificationSettings


class PreferencesUpdate(StrictModel):
    timezone: Timezone | None = None
    language: Language | None = None
    theme: Literal["system", "light", "dark"] | None = None
    notifications: (
        dict[
            Literal[
                "email_new_message",
                "email_post_failed",
                "email_channel_problem",
                "in_app_new_message",
                "weekly_report",
            ],
            bool,
        ]
        | None
    ) = None


class PasswordChange(StrictModel):
    current_password: str = Field(min_length=1, max_length=256)
    new_password: Password


class AccountDelete(StrictModel):
    password: str = Field(min_length=1, max_length=256)


class SessionRead(BaseModel):
    id: uuid.UUID
    kind: str
    user_agent: str
    ip_address: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    current: bool


class WorkspaceMembershipRead(BaseModel):
    workspace_id: uuid.UUID
    name: str
    timezone: str
    role: Role
    current: bool


class AuthOut(TokenPair):
    user: UserRead
