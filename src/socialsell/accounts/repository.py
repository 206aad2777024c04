"""Every query of the accounts domain. Users and sessions are above tenancy (a person belongs to
several workspaces); workspace rows are only reached through the caller's memberships."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from socialsell.accounts.models import (
    Membership,
    RefreshToken,
    User,
    UserPreferences,
    UserSession,
    Workspace,
)


class AccountsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def user_by_email(self, email: str) -> User | None:
        return await self.session.scalar(
            select(User).where(User.email_normalized == email.strip().lower())
        )

    async def user_by_id(self, user_id: uuid.UUID) -> User | None:
        return await self.session.get(User, user_id)

    async def preferences(self, user_id: uuid.UUID) -> UserPreferences:
        prefs = await self.session.get(UserPreferences, user_id)
        if prefs is None:  # users created before preferences existed get the defaults
            prefs = UserPreferences(user_id=user_id, notifications={})
            self.session.add(prefs)
            await self.session.flush()
        return prefs

    async def memberships(self, user_id: uuid.UUID) -> Sequence[Membership]:
        result = await self.session.scalars(
            select(Membership)
            .where(Membership.user_id == user_id)
            .options(joinedload(Membership.workspace))
            .order_by(Membership.created_at)
        )
        return result.all()

    async def membership(self, user_id: uuid.UUID, workspace_id: uuid.UUID) -> Membership | None:
        return await self.session.scalar(
            select(Membership)
            .where(Membership.user_id == user_id, Membership.workspace_id == workspace_id)
            .options(joinedload(Membership.workspace))
        )

    async def member_count(self, workspace_id: uuid.UUID) -> int:
        result = await self.session.scalars(
            select(Membership.id).where(Membership.workspace_id == workspace_id)
        )
        return len(result.all())

    async def workspace(self, workspace_id: uuid.UUID) -> Workspace | None:
        return await self.session.get(Workspace, workspace_id)

    async def session_with_member(
        self, *conditions: ColumnElement[bool]
    ) -> tuple[UserSession, User, Membership | None] | None:
        """A sign-in session with its user and the membership of its current workspace, in one
        round trip: every authenticated request starts here."""
        row = (
            await self.session.execute(
                select(UserSession, User, Membership)
                .join(User, User.id == UserSession.user_id)
                .outerjoin(
                    Membership,
                    and_(
                        Membership.user_id == UserSession.user_id,
                        Membership.workspace_id == UserSession.workspace_id,
                    ),
                )
                .options(joinedload(Membership.workspace))
                .where(*conditions)
            )
        ).first()
        return None if row is None else (row[0], row[1], row[2])

    async def session_by_id(self, session_id: uuid.UUID) -> UserSession | None:
        return await self.session.get(UserSession, session_id)

    async def session_by_cookie(self, cookie_hash: str) -> UserSession | None:
        return await self.session.scalar(
            select(UserSession).where(UserSession.cookie_hash == cookie_hash)
        )

    async def live_sessions(self, user_id: uuid.UUID, now: datetime) -> Sequence[UserSession]:
        result = await self.session.scalars(
            select(UserSession)
            .where(
                UserSession.user_id == user_id,
                UserSession.ended_at.is_(None),
                UserSession.expires_at > now,
            )
            .order_by(UserSession.last_seen_at.desc())
        )
        return result.all()

    async def all_sessions(self, user_id: uuid.UUID) -> Sequence[UserSession]:
        result = await self.session.scalars(
            select(UserSession)
            .where(UserSession.user_id == user_id)
            .order_by(UserSession.created_at)
        )
        return result.all()

    async def refresh_token(self, token_hash: str) -> RefreshToken | None:
        return await self.session.scalar(
            select(RefreshToken).where(RefreshToken.token_hash == token_hash)
        )

    async def mark_refresh_used(self, token_id: uuid.UUID, now: datetime) -> bool:
        """Atomically spend a refresh token; False if another request spent it first."""
        result = await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.id == token_id, RefreshToken.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def end_sessions(
        self,
        user_id: uuid.UUID,
        now: datetime,
        reason: str,
        *,
        except_id: uuid.UUID | None = None,
    ) -> int:
        stmt = (
            update(UserSession)
            .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
            .values(ended_at=now, ended_reason=reason)
            .execution_options(synchronize_session="fetch")
        )
        if except_id is not None:
            stmt = stmt.where(UserSession.id != except_id)
        result = await self.session.execute(stmt)
        return int(result.rowcount)  # type: ignore[attr-defined]
