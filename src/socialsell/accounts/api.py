"""JSON API: authentication, the current user, their sessions, data and workspaces."""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi import APIRouter, Request, Response, status

from socialsell.accounts import service
from socialsell.accounts.schemas import (
    AccountDelete,
    AuthOut,
    LoginIn,
    PasswordChange,
    PreferencesRead,
    PreferencesUpdate,
    RefreshIn,
    RegisterIn,
    SessionRead,
    TokenPair,
    UserRead,
    UserUpdate,
    WorkspaceMembershipRead,
)
from socialsell.core.constants import API_PREFIX
from socialsell.core.deps import (
    CurrentPrincipal,
    RateLimiterDep,
    SessionDep,
    SettingsDep,
    client_ip,
)

router = APIRouter()
auth = APIRouter(prefix=f"{API_PREFIX}/auth", tags=["auth"])
users = APIRouter(prefix=f"{API_PREFIX}/users/me", tags=["users"])
workspaces = APIRouter(prefix=f"{API_PREFIX}/workspaces", tags=["workspaces"])


def _user_agent(request: Request) -> str:
    return request.headers.get("user-agent", "")


@auth.post("/register", status_code=status.HTTP_201_CREATED, response_model=AuthOut)
async def register(
    data: RegisterIn,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    limiter: RateLimiterDep,
) -> AuthOut:
    await limiter.hit(settings.register_rate_limit, "register", client_ip(request))
    user = await service.register(session, data)
    tokens = await service.start_api_session(
        session, settings, user, user_agent=_user_agent(request), ip_address=client_ip(request)
    )
    return AuthOut(**tokens.model_dump(), user=UserRead.model_validate(user))


@auth.post("/login", response_model=AuthOut)
async def login(
    data: LoginIn,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    limiter: RateLimiterDep,
) -> AuthOut:
    await login_rate_limit(limiter, settings, email=data.email, ip=client_ip(request))
    user = await service.authenticate(session, data.email, data.password)
    tokens = await service.start_api_session(
        session, settings, user, user_agent=_user_agent(request), ip_address=client_ip(request)
    )
    return AuthOut(**tokens.model_dump(), user=UserRead.model_validate(user))


async def login_rate_limit(
    limiter: RateLimiterDep, settings: SettingsDep, *, email: str, ip: str
) -> None:
    """Attempts count per e-mail (guessing one account's password) and per IP (trying many)."""
    await limiter.hit(settings.login_rate_limit, "login-email", email.strip().lower())
    await limiter.hit(settings.login_rate_limit, "login-ip", ip)


@auth.post("/refresh", response_model=TokenPair)
async def refresh(data: RefreshIn, session: SessionDep, settings: SettingsDep) -> TokenPair:
    return await service.refresh_tokens(session, settings, data.refresh_token)


@auth.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(principal: CurrentPrincipal, session: SessionDep) -> None:
    await service.end_session(session, principal.session, "logged_out")


@users.get("", response_model=UserRead)
async def read_me(principal: CurrentPrincipal) -> UserRead:
    return UserRead.model_validate(principal.user)


@users.patch("", response_model=UserRead)
async def update_me(data: UserUpdate, principal: CurrentPrincipal, session: SessionDep) -> UserRead:
    return UserRead.model_validate(await service.update_profile(session, principal, data))


@users.get("/preferences", response_model=PreferencesRead)
async def read_preferences(principal: CurrentPrincipal, session: SessionDep) -> PreferencesRead:
    return await service.get_preferences(session, principal.user)


@users.patch("/preferences", response_model=PreferencesRead)
async def update_preferences(
    data: PreferencesUpdate, principal: CurrentPrincipal, session: SessionDep
) -> PreferencesRead:
    return await service.update_preferences(session, principal.user, data)


@users.post("/password", status_code=status.HTTP_204_NO_CONTENT)
async def change_password(
    data: PasswordChange, principal: CurrentPrincipal, session: SessionDep
) -> None:
    await service.change_password(session, principal, data.current_password, data.new_password)


@users.get("/sessions", response_model=list[SessionRead])
async def list_sessions(principal: CurrentPrincipal, session: SessionDep) -> list[SessionRead]:
    return await service.list_sessions(session, principal)


@users.delete("/sessions/{session_id}", status_code=status.HTTP_204_NO_CONTENT)
async def end_session(
    session_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> None:
    await service.end_user_session(session, principal, session_id)


@users.post(
    "/export",
    responses={200: {"content": {"application/json": {}}, "description": "A JSON file."}},
)
async def export_data(principal: CurrentPrincipal, session: SessionDep) -> Response:
    data: dict[str, Any] = await service.export_user_data(session, principal)
    return Response(
        content=json.dumps(data, indent=2),
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="socialsell-export.json"'},
    )


@users.delete("", status_code=status.HTTP_204_NO_CONTENT)
async def delete_me(data: AccountDelete, principal: CurrentPrincipal, session: SessionDep) -> None:
    await service.delete_account(session, principal, data.password)


@workspaces.get("", response_model=list[WorkspaceMembershipRead])
async def list_workspaces(
    principal: CurrentPrincipal, session: SessionDep
) -> list[WorkspaceMembershipRead]:
    return await service.list_workspaces(session, principal)


router.include_router(auth)
router.include_router(users)
router.include_router(workspaces)
