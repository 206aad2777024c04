"""Per-account webhook subscription: ``POST|GET|DELETE /{ig-user-id}/subscribed_apps``.

Events reach the app's callback only for accounts that subscribed, and only for the fields they
subscribed to (besides the app-level callback set with ``PUT /_sandbox/webhooks``)."""

from __future__ import annotations

from typing import Any

from meta_sandbox import errors
from meta_sandbox.state import SandboxState

from .models import WEBHOOK_FIELDS, IGAccount


def subscribe(state: SandboxState, account: IGAccount, params: dict[str, Any]) -> dict[str, Any]:
    raw = params.get("subscribed_fields")
    if not raw:
        raise errors.invalid_parameter("(#100) The parameter subscribed_fields is required")
    fields = raw if isinstance(raw, list) else str(raw).strip("[]").replace('"', "").split(",")
    fields = [str(f).strip() for f in fields if str(f).strip()]
    for name in fields:
        if name not in WEBHOOK_FIELDS:
            raise errors.invalid_parameter(
                f'(#100) Param subscribed_fields must be one of {{{", ".join(WEBHOOK_FIELDS)}}} - got "{name}"'
            )
    account.subscribed_fields = sorted(set(fields))
    return {"success": True}


def list_subscriptions(state: SandboxState, account: IGAccount) -> dict[str, Any]:
    if not account.subscribed_fields:
        return {"data": []}
    return {
        "data": [
            {
                "id": state.settings.app_id,
                "name": state.settings.app_name,
                "subscribed_fields": account.subscribed_fields,
            }
        ]
    }


def unsubscribe(state: SandboxState, account: IGAccount) -> dict[str, Any]:
    account.subscribed_fields = []
    return {"success": True}
