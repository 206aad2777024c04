"""FastAPI dependencies shared by every domain: the request's database session (one transaction,
committed when the route returns), settings, the rate limiter, and who is calling."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from socialsell.accounts import service as accounts
from socialsell.accounts.service import Principal
from socialsell.core.errors import AppError, CsrfFailed, NotAuthenticated
from socialsell.core.ratelimit import RateLimiter
from socialsell.core.security import tokens_equal
from socialsell.db import commit, rollback
from socialsell.settings import Settings

SESSION_COOKIE = "socialsell_session"
CSRF_COOKIE = "socialsell_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


class LoginRequired(Exception):
    """A page needs a signed-in user; the HTML handler redirects to /login?next=..."""


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    maker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    return maker


async def get_db_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with get_sessionmaker(request)() as session:
        try:
            yield session
        except AppError as exc:
            await (commit(session) if exc.keep_changes else rollback(session))
            raise
        except BaseException:
            await rollback(session)
            raise
        else:
            await commit(session)


def get_rate_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.rate_limiter
    return limiter


# scope="function": the commit happens before the response is sent, so a client never reads a
# response for data that then fails to commit.
SessionDep = Annotated[AsyncSession, Depends(get_db_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
RateLimiterDep = Annotated[RateLimiter, Depends(get_rate_limiter)]

_bearer = HTTPBearer(auto_error=False, description="An access token from POST /auth/login.")


async def get_principal(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None:
        raise NotAuthenticated
    principal = await accounts.principal_from_access_token(
        session, settings, credentials.credentials
    )
    if principal is None:
        raise NotAuthenticated("The access token is invalid, expired or its session has ended.")
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


async def get_optional_browser_principal(
    request: Request, session: SessionDep, settings: SettingsDep
) -> Principal | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    principal = await accounts.principal_from_cookie(session, settings, cookie)
    if principal is not None:
        request.state.principal = principal
    return principal


async def get_browser_principal(
    principal: Annotated[Principal | None, Depends(get_optional_browser_principal)],
) -> Principal:
    if principal is None:
        raise LoginRequired
    return principal


OptionalBrowserPrincipal = Annotated[Principal | None, Depends(get_optional_browser_principal)]
CurrentBrowserPrincipal = Annotated[Principal, Depends(get_browser_principal)]


def expected_csrf_token(request: Request, principal: Principal | None) -> str | None:
    """Signed-in users carry the token of their session; anonymous forms (login, register) use a
    double-submit cookie set when the form is rendered."""
    if principal is not None:
        return principal.session.csrf_token
    return request.cookies.get(CSRF_COOKIE)


async def verify_csrf(request: Request, principal: OptionalBrowserPrincipal) -> None:
    if request.method in {"GET", "HEAD", "OPTIONS"}:
        return
    expected = expected_csrf_token(request, principal)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not tokens_equal(expected, sent):
        raise CsrfFailed


CsrfProtected = Depends(verify_csrf)


def client_ip(request: Request) -> str:
    # Behind nginx, uvicorn's --proxy-headers fills request.client from X-Forwarded-For.
    return request.client.host if request.client else "unknown"
