"""App-level webhook subscriptions through the Graph API, what the App Dashboard does:
``GET|POST|DELETE /{app-id}/subscriptions`` with an app access token (``app_id|app_secret``).

POST performs the same verification handshake as ``PUT /_sandbox/webhooks``. The ``fields`` are
recorded and listed; which events reach the callback is decided per account
(``/{ig-user-id}/subscribed_apps``, ``/{waba-id}/subscribed_apps``), so they are not a filter here.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from meta_sandbox import errors
from meta_sandbox.deps import ParamsDep, StateDep, TokenDep, get_dispatcher
from meta_sandbox.routing import kind_route
from meta_sandbox.state import AccessToken
from meta_sandbox.webhooks import WebhookDispatcher

router = APIRouter(route_class=kind_route("app"), tags=["app"])
DispatcherDep = Annotated[WebhookDispatcher, Depends(get_dispatcher)]
OBJECTS = ("instagram", "whatsapp_business_account", "page", "user", "permissions")


def _require_app_token(token: AccessToken) -> None:
    if token.kind != "app":
        raise errors.GraphAPIError(
            "(#15) This method must be called with an app access_token.", code=15
        )


@router.get("/{app_id}/subscriptions")
async def list_subscriptions(app_id: str, state: StateDep, token: TokenDep) -> JSONResponse:
    _require_app_token(token)
    data: list[dict[str, Any]] = [
        {
            "object": sub.object,
            "callback_url": sub.callback_url,
            "active": sub.active,
            "fields": [
                {"name": name, "version": state.settings.api_version} for name in sub.fields
            ],
        }
        for sub in state.subscriptions.values()
    ]
    return JSONResponse({"data": data})


@router.post("/{app_id}/subscriptions")
async def subscribe(
    app_id: str, token: TokenDep, params: ParamsDep, dispatcher: DispatcherDep
) -> JSONResponse:
    _require_app_token(token)
    obj = str(params.get("object") or "")
    if obj not in OBJECTS:
        raise errors.invalid_parameter(
            f"(#100) Param object must be one of {{{', '.join(OBJECTS)}}}"
        )
    callback_url = str(params.get("callback_url") or "")
    if not callback_url:
        raise errors.invalid_parameter("(#100) The parameter callback_url is required")
    fields = [f.strip() for f in str(params.get("fields") or "").split(",") if f.strip()]
    await dispatcher.subscribe(obj, callback_url, str(params.get("verify_token") or ""), fields)
    return JSONResponse({"success": True})


@router.delete("/{app_id}/subscriptions")
async def unsubscribe(
    app_id: str, token: TokenDep, params: ParamsDep, dispatcher: DispatcherDep, state: StateDep
) -> JSONResponse:
    _require_app_token(token)
    obj = params.get("object")
    for name in [str(obj)] if obj else list(state.subscriptions):
        dispatcher.unsubscribe(name)
    return JSONResponse({"success": True})
