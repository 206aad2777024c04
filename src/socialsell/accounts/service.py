"""Accounts: registration, sign-in sessions, tokens, profile, preferences, export and deletion.

No HTTP here: the JSON API and the pages call the same functions. Nothing commits; the edge does.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from socialsell.accounts.models import (
    Membership,
    RefreshToken,
    Role,
    User,
    UserPreferences,
    UserSession,
    Workspace,
)
from socialsell.accounts.repository import AccountsRepository
from socialsell.accounts.schemas import (
    NotificationSettings,
    PreferencesRead,
    PreferencesUpdate,
    RegisterIn,
    SessionRead,
    TokenPair,
    UserUpdate,
    WorkspaceMembershipRead,
)
from socialsell.core import security
from socialsell.core.errors import (
    EmailTaken,
    FieldError,
    InvalidCredentials,
    NotFound,
    TokenInvalid,
    TokenReused,
    ValidationFailed,
)
from socialsell.db import utcnow
from socialsell.settings import Settings

SESSION_TOUCH_INTERVAL = timedelta(minutes=1)


@dataclass(slots=True)
class Principal:
    """Who is calling: the user, the signed-in session, and the workspace they act in."""

    user: User
    session: UserSession
    membership: Membership

    @property
    def workspace_id(self) -> uuid.UUID:
        return self.membership.workspace_id

    @property
    def role(self) -> Role:
        return self.membership.role


@dataclass(frozen=True, slots=True)
class BrowserLogin:
    session: UserSession
    cookie: str


# ---------------------------------------------------------------------------- registration


async def register(session: AsyncSession, data: RegisterIn) -> User:
    repo = AccountsRepository(session)
    if await repo.user_by_email(data.email) is not None:
        raise EmailTaken(errors=[FieldError("email", EmailTaken.default_message)])
    user = User(
        email=data.email.strip(),
        email_normalized=data.email.strip().lower(),
        name=data.name,
        password_hash=security.hash_password(data.password),
    )
    workspace = Workspace(name=f"{data.name}'s workspace")
    session.add_all([user, workspace])
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent registration with the same e-mail won
        raise EmailTaken(errors=[FieldError("email", EmailTaken.default_message)]) from exc
    session.add_all(
        [
            Membership(workspace_id=workspace.id, user_id=user.id, role=Role.owner),
            UserPreferences(user_id=user.id, notifications=NotificationSettings().model_dump()),
        ]
    )
    await session.flush()
    return user


async def authenticate(session: AsyncSession, email: str, password: str) -> User:
    user = await AccountsRepository(session).user_by_email(email)
    if user is None:
        security.verify_password(security.DUMMY_PASSWORD_HASH, password)
        raise InvalidCredentials
    if not security.verify_password(user.password_hash, password):
        raise InvalidCredentials
    if security.password_needs_rehash(user.password_hash):
        user.password_hash = security.hash_password(password)
    return user


# ---------------------------------------------------------------------------- sessions


async def _start_session(
    session: AsyncSession,
    settings: Settings,
    user: User,
    *,
    kind: str,
    user_agent: str,
    ip_address: str,
    cookie_hash: str | None = None,
) -> UserSession:
    repo = AccountsRepository(session)
    now = utcnow()
    memberships = await repo.memberships(user.id)
    user_session = UserSession(
        user_id=user.id,
        workspace_id=memberships[0].workspace_id if memberships else None,
        kind=kind,
        cookie_hash=cookie_hash,
        csrf_token=security.new_token(24),
        user_agent=user_agent[:300],
        ip_address=ip_address[:64],
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(days=settings.session_max_days),
    )
    session.add(user_session)
    await session.flush()
    # At most N live sessions per user: the least recently used ones are ended.
    live = await repo.live_sessions(user.id, now)
    for stale in live[settings.max_sessions_per_user :]:
        stale.ended_at = now
        stale.ended_reason = "session_limit"
    await session.flush()
    return user_session


async def start_api_session(
    session: AsyncSession, settings: Settings, user: User, *, user_agent: str, ip_address: str
) -> TokenPair:
    user_session = await _start_session(
        session, settings, user, kind="api", user_agent=user_agent, ip_address=ip_address
    )
    return await _issue_tokens(session, settings, user_session)


async def start_browser_session(
    session: AsyncSession, settings: Settings, user: User, *, user_agent: str, ip_address: str
) -> BrowserLogin:
    cookie = security.new_token()
    user_session = await _start_session(
        session,
        settings,
        user,
        kind="browser",
        user_agent=user_agent,
        ip_address=ip_address,
        cookie_hash=security.hash_token(cookie),
    )
    return BrowserLogin(session=user_session, cookie=cookie)


async def _issue_tokens(
    session: AsyncSession, settings: Settings, user_session: UserSession
) -> TokenPair:
    lifetime = timedelta(minutes=settings.access_token_minutes)
    access, _ = security.issue_access_token(
        settings.secret_key.get_secret_value(),
        user_id=user_session.user_id,
        session_id=user_session.id,
        lifetime=lifetime,
    )
    refresh = security.new_token()
    session.add(RefreshToken(session_id=user_session.id, token_hash=security.hash_token(refresh)))
    await session.flush()
    return TokenPair(
        access_token=access,
        expires_in=int(lifetime.total_seconds()),
        refresh_token=refresh,
        session_id=user_session.id,
    )


def _session_alive(user_session: UserSession, settings: Settings, now: datetime) -> bool:
    if user_session.ended_at is not None or user_session.expires_at <= now:
        return False
    return now - user_session.last_seen_at <= timedelta(hours=settings.session_idle_hours)


async def refresh_tokens(
    session: AsyncSession, settings: Settings, refresh_token: str
) -> TokenPair:
    """Rotate a refresh token. A token presented twice was stolen or replayed: the whole
    session is ended, so whoever holds the newer token is signed out too."""
    repo = AccountsRepository(session)
    now = utcnow()
    stored = await repo.refresh_token(security.hash_token(refresh_token))
    if stored is None:
        raise TokenInvalid
    user_session = await repo.session_by_id(stored.session_id)
    if user_session is None:
        raise TokenInvalid
    if stored.used_at is not None or not await repo.mark_refresh_used(stored.id, now):
        if user_session.ended_at is None:
            user_session.ended_at = now
            user_session.ended_reason = "refresh_reuse"
        await session.flush()
        raise TokenReused
    if not _session_alive(user_session, settings, now):
        raise TokenInvalid
    user_session.last_seen_at = now
    return await _issue_tokens(session, settings, user_session)


async def _principal_for(
    session: AsyncSession,
    settings: Settings,
    found: tuple[UserSession, User, Membership | None] | None,
) -> Principal | None:
    now = utcnow()
    if found is None:
        return None
    user_session, user, membership = found
    if not _session_alive(user_session, settings, now):
        return None
    if membership is None:  # removed from that workspace: fall back to their first one
        memberships = await AccountsRepository(session).memberships(user.id)
        if not memberships:
            return None
        membership = memberships[0]
        user_session.workspace_id = membership.workspace_id
    # Sliding expiry without a write on every request.
    if now - user_session.last_seen_at >= SESSION_TOUCH_INTERVAL:
        user_session.last_seen_at = now
    return Principal(user=user, session=user_session, membership=membership)


async def principal_from_access_token(
    session: AsyncSession, settings: Settings, token: str
) -> Principal | None:
    claims = security.decode_access_token(settings.secret_key.get_secret_value(), token)
    if claims is None:
        return None
    found = await AccountsRepository(session).session_with_member(
        UserSession.id == claims.session_id, UserSession.user_id == claims.user_id
    )
    return await _principal_for(session, settings, found)


async def principal_from_cookie(
    session: AsyncSession, settings: Settings, cookie: str
) -> Principal | None:
    found = await AccountsRepository(session).session_with_member(
        UserSession.cookie_hash == security.hash_token(cookie), UserSession.kind == "browser"
    )
    return await _principal_for(session, settings, found)


async def end_session(session: AsyncSession, user_session: UserSession, reason: str) -> None:
    if user_session.ended_at is None:
        user_session.ended_at = utcnow()
        user_session.ended_reason = reason
        await session.flush()


async def list_sessions(session: AsyncSession, principal: Principal) -> list[SessionRead]:
    live = await AccountsRepository(session).live_sessions(principal.user.id, utcnow())
    return [
        SessionRead(
            id=s.id,
            kind=s.kind,
            user_agent=s.user_agent,
            ip_address=s.ip_address,
            created_at=s.created_at,
            last_seen_at=s.last_seen_at,
            expires_at=s.expires_at,
            current=s.id == principal.session.id,
        )
        for s in live
    ]


async def end_user_session(
    session: AsyncSession, principal: Principal, session_id: uuid.UUID
) -> None:
    target = await AccountsRepository(session).session_by_id(session_id)
    if target is None or target.user_id != principal.user.id or target.ended_at is not None:
        raise NotFound("This session does not exist or has already ended.")
    await end_session(session, target, "signed_out")


async def end_other_sessions(session: AsyncSession, principal: Principal) -> int:
    return await AccountsRepository(session).end_sessions(
        principal.user.id, utcnow(), "signed_out_elsewhere", except_id=principal.session.id
    )


async def switch_workspace(
    session: AsyncSession, principal: Principal, workspace_id: uuid.UUID
) -> None:
    membership = await AccountsRepository(session).membership(principal.user.id, workspace_id)
    if membership is None:
        raise NotFound("This workspace does not exist.")
    principal.session.workspace_id = workspace_id
    principal.membership = membership
    await session.flush()


# ---------------------------------------------------------------------------- profile


async def update_profile(session: AsyncSession, principal: Principal, data: UserUpdate) -> User:
    user = principal.user
    if data.email is not None and data.email.strip().lower() != user.email_normalized:
        other = await AccountsRepository(session).user_by_email(data.email)
        if other is not None:
            raise EmailTaken(errors=[FieldError("email", EmailTaken.default_message)])
        user.email = data.email.strip()
        user.email_normalized = data.email.strip().lower()
    if data.name is not None:
        user.name = data.name
    try:
        await session.flush()
    except IntegrityError as exc:
        raise EmailTaken(errors=[FieldError("email", EmailTaken.default_message)]) from exc
    return user


async def change_password(
    session: AsyncSession, principal: Principal, current_password: str, new_password: str
) -> int:
    """Change the password and end every other session; returns how many were ended."""
    user = principal.user
    if not security.verify_password(user.password_hash, current_password):
        raise ValidationFailed(
            "The current password is wrong.",
            errors=[FieldError("current_password", "The current password is wrong.")],
        )
    user.password_hash = security.hash_password(new_password)
    user.password_changed_at = utcnow()
    ended = await AccountsRepository(session).end_sessions(
        user.id, utcnow(), "password_changed", except_id=principal.session.id
    )
    await session.flush()
    return ended


async def get_preferences(session: AsyncSession, user: User) -> PreferencesRead:
    prefs = await AccountsRepository(session).preferences(user.id)
    return _preferences_read(prefs)


def _preferences_read(prefs: UserPreferences) -> PreferencesRead:
    return PreferencesRead(
        timezone=prefs.timezone,
        language=prefs.language,
        theme=prefs.theme,
        notifications=NotificationSettings(**(prefs.notifications or {})),
    )


async def update_preferences(
    session: AsyncSession, user: User, data: PreferencesUpdate
) -> PreferencesRead:
    prefs = await AccountsRepository(session).preferences(user.id)
    if data.timezone is not None:
        prefs.timezone = data.timezone
    if data.language is not None:
        prefs.language = data.language
    if data.theme is not None:
        prefs.theme = data.theme
    if data.notifications is not None:
        merged: dict[str, bool] = NotificationSettings(**(prefs.notifications or {})).model_dump()
        merged.update({str(key): value for key, value in data.notifications.items()})
        prefs.notifications = merged
    await session.flush()
    return _preferences_read(prefs)


async def list_workspaces(
    session: AsyncSession, principal: Principal
) -> list[WorkspaceMembershipRead]:
    memberships = await AccountsRepository(session).memberships(principal.user.id)
    return [
        WorkspaceMembershipRead(
            workspace_id=m.workspace_id,
            name=m.workspace.name,
            timezone=m.workspace.timezone,
            role=m.role,
            current=m.workspace_id == principal.workspace_id,
        )
        for m in memberships
    ]


# ---------------------------------------------------------------------------- data rights


async def export_user_data(session: AsyncSession, principal: Principal) -> dict[str, Any]:
    """Everything stored about the user, as JSON-ready data (GDPR art. 15 and 20)."""
    repo = AccountsRepository(session)
    user = principal.user
    prefs = await repo.preferences(user.id)
    sessions = await repo.all_sessions(user.id)
    memberships = await repo.memberships(user.id)
    return {
        "exported_at": utcnow().isoformat(),
        "user": {
            "id": str(user.id),
            "email": user.email,
            "name": user.name,
            "created_at": user.created_at.isoformat(),
            "password_changed_at": user.password_changed_at.isoformat(),
        },
        "preferences": _preferences_read(prefs).model_dump(mode="json"),
        "workspaces": [
            {
                "id": str(m.workspace_id),
                "name": m.workspace.name,
                "role": m.role.value,
                "joined_at": m.created_at.isoformat(),
            }
            for m in memberships
        ],
        "sessions": [
            {
                "id": str(s.id),
                "kind": s.kind,
                "user_agent": s.user_agent,
                "ip_address": s.ip_address,
                "created_at": s.created_at.isoformat(),
                "last_seen_at": s.last_seen_at.isoformat(),
                "ended_at": s.ended_at.isoformat() if s.ended_at else None,
                "ended_reason": s.ended_reason,
            }
            for s in sessions
        ],
    }


async def delete_account(session: AsyncSession, principal: Principal, password: str) -> None:
    """Delete the user, and every workspace where they were the only member (its data has no
    one else to belong to). Shared workspaces stay with their other members."""
    user = principal.user
    if not security.verify_password(user.password_hash, password):
        raise ValidationFailed(
            "The password is wrong.", errors=[FieldError("password", "The password is wrong.")]
        )
    repo = AccountsRepository(session)
    for membership in await repo.memberships(user.id):
        if await repo.member_count(membership.workspace_id) == 1:
            await session.execute(delete(Workspace).where(Workspace.id == membership.workspace_id))
    await session.execute(delete(User).where(User.id == user.id))
    await session.flush()
