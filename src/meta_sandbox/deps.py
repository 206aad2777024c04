"""FastAPI dependencies: the per-app state, clock, settings, webhook dispatcher and the caller's
access token. The objects live on ``app.state`` (set by ``create_app``)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request

from meta_sandbox import errors
from meta_sandbox.clock import Clock
from meta_sandbox.settings import SandboxSettings
from meta_sandbox.state import AccessToken, SandboxState

if TYPE_CHECKING:
    from meta_sandbox.webhooks import WebhookDispatcher


def get_state(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.sandbox
    return state


def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


def get_settings(request: Request) -> SandboxSettings:
    settings: SandboxSettings = request.app.state.settings
    return settings


def get_dispatcher(request: Request) -> WebhookDispatcher:
    dispatcher: WebhookDispatcher = request.app.state.dispatcher
    return dispatcher


async def graph_params(request: Request) -> dict[str, Any]:
    """All parameters of a Graph call: Meta accepts them in the query string, a form body or a
    JSON body alike (body wins). Nested values in forms/queries may be JSON-encoded strings."""
    params: dict[str, Any] = dict(request.query_params)
    if request.method in ("POST", "PUT", "DELETE"):
        content_type = request.headers.get("content-type", "")
        if "application/json" in content_type:
            raw = await request.body()
            if raw.strip():
                try:
                    body = json.loads(raw)
                except ValueError as exc:
                    raise errors.invalid_parameter("Invalid JSON in request body") from exc
                if isinstance(body, dict):
                    params.update(body)
        elif "form" in content_type:
            form = await request.form()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
    return params


async def bearer_token(request: Request) -> AccessToken:
    """The caller's token from ``Authorization: Bearer``, or the ``access_token`` query, form or
    JSON parameter. Raises Meta's 190 errors for invalid, expired or revoked tokens."""
    value: str | None = None
    header = request.headers.get("authorization", "")
    if header.lower().startswith(("bearer ", "oauth ")):
        value = header.split(" ", 1)[1].strip()
    if not value:
        value = (await graph_params(request)).get("access_token")
    if not value:
        raise errors.missing_token()
    token = get_state(request).resolve_token(str(value))
    request.state.token = token
    return token


StateDep = Annotated[SandboxState, Depends(get_state)]
ClockDep = Annotated[Clock, Depends(get_clock)]
SettingsDep = Annotated[SandboxSettings, Depends(get_settings)]
TokenDep = Annotated[AccessToken, Depends(bearer_token)]
ParamsDep = Annotated[dict[str, Any], Depends(graph_params)]
