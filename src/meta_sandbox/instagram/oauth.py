"""Instagram API with Instagram Login: the authorize dialog and the token endpoints.

Hosts emulated on the one sandbox host:
- ``GET|POST /oauth/authorize``        www.instagram.com/oauth/authorize (consent page)
- ``POST /oauth/access_token``         api.instagram.com/oauth/access_token (code -> short-lived)
- ``GET /access_token``                graph.instagram.com/access_token (short -> long-lived)
- ``GET /refresh_access_token``        graph.instagram.com/refresh_access_token
"""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from meta_sandbox import errors
from meta_sandbox.deps import ParamsDep, SettingsDep, StateDep
from meta_sandbox.errors import OAuthCodeError
from meta_sandbox.settings import SandboxSettings
from meta_sandbox.state import SandboxState
from meta_sandbox.ui.templating import render

from .models import BASIC, SCOPES, AuthCode

router = APIRouter(tags=["oauth"])


def _split_scopes(raw: str) -> list[str]:
    return [s for s in raw.replace(",", " ").split() if s]


def _redirect_ok(settings: SandboxSettings, redirect_uri: str) -> bool:
    allowed = settings.oauth_redirect_uris
    if not allowed:
        return redirect_uri.startswith(("http://", "https://"))
    # The dashboard may add a trailing slash to the registered URI.
    return redirect_uri in allowed or redirect_uri.rstrip("/") + "/" in allowed


def _dialog_problem(
    settings: SandboxSettings, client_id: str, redirect_uri: str, response_type: str, scope: str
) -> str | None:
    if client_id != settings.app_id:
        return "Invalid platform app"
    if not redirect_uri or not _redirect_ok(settings, redirect_uri):
        return "Invalid redirect_uri"
    if response_type != "code":
        return "Invalid response_type: only code is supported"
    scopes = _split_scopes(scope)
    if not scopes:
        return "Invalid Scopes: the scope parameter is required"
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        return "Invalid Scopes: " + ", ".join(unknown)
    return None


def _error_page(message: str) -> HTMLResponse:
    return HTMLResponse(render("oauth_error.html", message=message), status_code=400)


@router.get("/oauth/authorize", response_class=HTMLResponse)
async def authorize_page(
    request: Request,
    state: StateDep,
    settings: SettingsDep,
    client_id: str = "",
    redirect_uri: str = "",
    response_type: str = "",
    scope: str = "",
) -> HTMLResponse:
    problem = _dialog_problem(settings, client_id, redirect_uri, response_type, scope)
    if problem:
        return _error_page(problem)
    return HTMLResponse(
        render(
            "authorize.html",
            app_name=settings.app_name,
            client_id=client_id,
            redirect_uri=redirect_uri,
            response_type=response_type,
            scope=scope,
            scopes=_split_scopes(scope),
            required_scope=BASIC,
            state=request.query_params.get("state", ""),
            accounts=list(state.instagram.accounts.values()),
        )
    )


@router.post("/oauth/authorize", response_model=None)
async def authorize_decision(
    request: Request, state: StateDep, settings: SettingsDep
) -> RedirectResponse | HTMLResponse:
    """The consent form posts here; tests can post it directly with ``account_id`` and
    ``decision=allow|deny`` (and optionally ``granted`` scopes, default all requested)."""
    form = await request.form()

    def get(key: str) -> str:
        return str(form.get(key) or "")

    client_id, redirect_uri, scope = get("client_id"), get("redirect_uri"), get("scope")
    problem = _dialog_problem(settings, client_id, redirect_uri, get("response_type"), scope)
    if problem:
        return _error_page(problem)
    sep = "&" if "?" in redirect_uri else "?"
    state_value = get("state")
    if get("decision") != "allow":
        params = {
            "error": "access_denied",
            "error_reason": "user_denied",
            "error_description": "The user denied your request",
        }
        if state_value:
            params["state"] = state_value
        return RedirectResponse(redirect_uri + sep + urlencode(params), status_code=302)
    account = state.instagram.accounts.get(get("account_id"))
    if account is None:
        return _error_page("Pick an account to continue")
    requested = _split_scopes(scope)
    granted_raw = [str(v) for v in form.getlist("granted")]
    granted = [s for s in requested if s in granted_raw] if granted_raw else requested
    if BASIC in requested and BASIC not in granted:
        granted.insert(0, BASIC)  # the basic permission cannot be unticked on Meta's dialog
    code = "AQ" + secrets.token_urlsafe(96)
    state.instagram.codes[code] = AuthCode(
        code=code,
        account_id=account.id,
        scopes=granted,
        redirect_uri=redirect_uri,
        created_at=state.clock.now(),
    )
    params = {"code": code}
    if state_value:
        params["state"] = state_value
    return RedirectResponse(redirect_uri + sep + urlencode(params) + "#_", status_code=302)


@router.post("/oauth/access_token")
async def exchange_code(state: StateDep, settings: SettingsDep, params: ParamsDep) -> JSONResponse:
    if params.get("client_id") != settings.app_id:
        raise OAuthCodeError("Invalid platform app", code=400)
    if params.get("client_secret") != settings.app_secret:
        raise OAuthCodeError("Error validating client secret.", code=400)
    if params.get("grant_type") != "authorization_code":
        raise OAuthCodeError("Invalid grant_type: must be authorization_code", code=400)
    raw_code = str(params.get("code") or "").removesuffix("#_")
    auth = state.instagram.codes.get(raw_code)
    if auth is None or auth.used:
        raise OAuthCodeError("Matching code was not found or was already used", code=400)
    if state.clock.now() - auth.created_at > settings.oauth_code_lifetime_seconds:
        raise OAuthCodeError("This authorization code has expired", code=400)
    if params.get("redirect_uri") != auth.redirect_uri:
        raise OAuthCodeError(
            "Error validating verification code. Please make sure your redirect_uri is "
            "identical to the one you used in the OAuth dialog request",
            code=400,
        )
    auth.used = True
    account = state.instagram.accounts[auth.account_id]
    token = state.issue_token(
        subject_id=account.id,
        kind="instagram_user",
        scopes=set(auth.scopes),
        lifetime_seconds=settings.short_lived_token_seconds,
    )
    return JSONResponse(
        {
            "data": [
                {
                    "access_token": token.token,
                    "user_id": account.app_scoped_id,
                    "permissions": ",".join(auth.scopes),
                }
            ]
        }
    )


def _check_secret(settings: SandboxSettings, secret: object) -> None:
    if secret != settings.app_secret:
        raise errors.GraphAPIError("Error validating client secret.", code=1)


def _long_lived_response(state: SandboxState, token_value: str, expires_at: float) -> JSONResponse:
    return JSONResponse(
        {
            "access_token": token_value,
            "token_type": "bearer",
            "expires_in": int(expires_at - state.clock.now()),
        }
    )


@router.get("/access_token")
async def exchange_long_lived(
    state: StateDep, settings: SettingsDep, params: ParamsDep
) -> JSONResponse:
    if params.get("grant_type") != "ig_exchange_token":
        raise errors.invalid_parameter("Param grant_type must be ig_exchange_token")
    _check_secret(settings, params.get("client_secret"))
    if not params.get("access_token"):
        raise errors.invalid_parameter("The parameter access_token is required")
    short = state.resolve_token(str(params["access_token"]))
    if short.long_lived:
        raise errors.invalid_parameter(
            "(#100) ig_exchange_token expects a short-lived Instagram User access token"
        )
    long = state.issue_token(
        subject_id=short.subject_id,
        kind=short.kind,
        scopes=set(short.scopes),
        lifetime_seconds=settings.long_lived_token_seconds,
        long_lived=True,
    )
    assert long.expires_at is not None  # noqa: S101
    return _long_lived_response(state, long.token, long.expires_at)


@router.get("/refresh_access_token")
async def refresh(state: StateDep, settings: SettingsDep, params: ParamsDep) -> JSONResponse:
    if params.get("grant_type") != "ig_refresh_token":
        raise errors.invalid_parameter("Param grant_type must be ig_refresh_token")
    if not params.get("access_token"):
        raise errors.invalid_parameter("The parameter access_token is required")
    token = state.resolve_token(str(params["access_token"]))
    if not token.long_lived:
        raise errors.invalid_parameter("(#100) Only long-lived access tokens can be refreshed")
    if BASIC not in token.scopes:
        raise errors.permission_denied(BASIC)
    if state.clock.now() - token.issued_at < settings.refresh_min_age_seconds:
        raise errors.invalid_parameter(
            "(#100) The access token must be at least 24 hours old to be refreshed"
        )
    # Meta extends the same token's validity; the value may change, clients store what comes back.
    token.issued_at = state.clock.now()
    token.expires_at = token.issued_at + settings.long_lived_token_seconds
    return _long_lived_response(state, token.token, token.expires_at)
