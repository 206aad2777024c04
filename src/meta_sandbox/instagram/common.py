"""Helpers shared by the Instagram endpoints: resolving ``me`` and ids to accounts, field lists,
Meta's timestamp format, cursor paging and webhook entries."""

from __future__ import annotations

import base64
import time
from collections.abc import Sequence
from typing import Any, TypeVar
from urllib.parse import urlencode

from fastapi import Request

from meta_sandbox import errors
from meta_sandbox.state import AccessToken, SandboxState
from meta_sandbox.webhooks import WebhookDispatcher

from .models import IGAccount

T = TypeVar("T")
DEFAULT_LIMIT = 25
MAX_LIMIT = 100


def iso(ts: float) -> str:
    """Meta's timestamp format: ``2022-07-12T19:11:07+0000``."""
    return time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(ts))


def fields_of(params: dict[str, Any], default: Sequence[str]) -> list[str]:
    raw = params.get("fields")
    if not raw:
        return list(default)
    return [f.strip() for f in str(raw).split(",") if f.strip()]


def account_for(
    state: SandboxState, token: AccessToken, object_id: str, method: str = "get"
) -> IGAccount:
    """The account behind ``me`` or an id (IG user id or app-scoped id) that ``token`` may use;
    another account's id answers Meta's "does not exist or missing permissions" error."""
    ig = state.instagram
    account_id = token.subject_id if object_id == "me" else ig.app_scoped.get(object_id, object_id)
    account = ig.accounts.get(account_id)
    if account is None or token.kind != "instagram_user" or token.subject_id != account.id:
        raise errors.unsupported_request(object_id, method)
    return account


def _cursor(index: int) -> str:
    return base64.urlsafe_b64encode(f"idx:{index}".encode()).decode().rstrip("=")


def _index(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode()).decode()
        return int(text.split(":", 1)[1])
    except (ValueError, IndexError) as exc:
        raise errors.invalid_parameter("Invalid cursor") from exc


def paginate(
    request: Request, items: Sequence[T], params: dict[str, Any]
) -> tuple[list[T], dict[str, Any]]:
    """Cursor paging as Meta does it: ``paging.cursors.{before,after}`` plus ``next`` and
    ``previous`` URLs when there is more."""
    try:
        limit = int(params.get("limit", DEFAULT_LIMIT))
    except ValueError as exc:
        raise errors.invalid_parameter("Param limit must be an integer") from exc
    limit = max(1, min(limit, MAX_LIMIT))
    start = 0
    if params.get("after"):
        start = _index(str(params["after"])) + 1
    elif params.get("before"):
        start = max(0, _index(str(params["before"])) - limit)
    page = list(items[start : start + limit])
    paging: dict[str, Any] = {}
    if not page:
        return page, paging
    end = start + len(page) - 1
    paging["cursors"] = {"before": _cursor(start), "after": _cursor(end)}
    base = {k: v for k, v in request.query_params.items() if k not in ("after", "before")}
    # The version prefix was stripped before routing; Meta's paging URLs keep it.
    version = request.scope.get("state", {}).get("api_version")
    path = (f"/{version}" if version else "") + request.url.path
    url = str(request.url.replace(path=path, query=""))
    if end + 1 < len(items):
        paging["next"] = url + "?" + urlencode({**base, "after": _cursor(end)})
    if start > 0:
        paging["previous"] = url + "?" + urlencode({**base, "before": _cursor(start)})
    return page, paging


def now_ms(state: SandboxState) -> int:
    return int(state.clock.now() * 1000)


async def emit_messaging(
    state: SandboxState,
    dispatcher: WebhookDispatcher,
    account: IGAccount,
    field: str,
    event: dict[str, Any],
) -> None:
    """Queue a messaging event if the account subscribed to ``field``."""
    if field not in account.subscribed_fields:
        return
    entry = {"id": account.id, "time": now_ms(state), "messaging": [event]}
    await dispatcher.emit("instagram", entry)


async def emit_change(
    state: SandboxState,
    dispatcher: WebhookDispatcher,
    account: IGAccount,
    field: str,
    value: dict[str, Any],
) -> None:
    """Queue a ``changes``-style event (comments) if the account subscribed to ``field``."""
    if field not in account.subscribed_fields:
        return
    entry = {
        "id": account.id,
        "time": int(state.clock.now()),
        "changes": [{"field": field, "value": value}],
    }
    await dispatcher.emit("instagram", entry)


def check_fields(fields: Sequence[str], allowed: Sequence[str], node_type: str) -> None:
    for name in fields:
        base = name.split("{", 1)[0].split(".", 1)[0]
        if base not in allowed:
            raise errors.invalid_parameter(
                f"(#100) Tried accessing nonexisting field ({base}) on node type ({node_type})"
            )


def pick(data: dict[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    """The requested fields (``id`` always, as Meta does), skipping absent values."""
    out: dict[str, Any] = {}
    for name in fields:
        base = name.split("{", 1)[0].split(".", 1)[0]
        if base in data and data[base] is not None:
            out[base] = data[base]
    out.setdefault("id", data["id"])
    return out
