"""Flash messages for post/redirect/get: the toast to show on the next page lives in a short-lived
cookie signed with the app's secret (HMAC), so a third party cannot plant messages in someone's
browser. The message is stored already translated: it was written in the user's language."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from fastapi import Request, Response

from socialsell.settings import Settings

FLASH_COOKIE = "socialsell_flash"
FLASH_MAX_AGE = 60  # seconds: long enough for the redirect, short enough to never resurface
_LEVELS = {"success", "info", "warning", "error"}


def _secret(request: Request) -> bytes:
    settings: Settings = request.app.state.settings
    return settings.secret_key.get_secret_value().encode()


def _sign(secret: bytes, payload: bytes) -> str:
    return hmac.new(secret, b"flash:" + payload, hashlib.sha256).hexdigest()


def _encode(secret: bytes, toasts: list[dict[str, str]]) -> str:
    payload = base64.urlsafe_b64encode(
        json.dumps({"t": toasts, "at": int(time.time())}, separators=(",", ":")).encode()
    )
    return f"{payload.decode()}.{_sign(secret, payload)}"


def _decode(secret: bytes, value: str) -> list[dict[str, str]]:
    payload, _, signature = value.rpartition(".")
    if not payload or not hmac.compare_digest(_sign(secret, payload.encode()), signature):
        return []
    try:
        data: Any = json.loads(base64.urlsafe_b64decode(payload.encode()))
    except ValueError:
        return []
    if not isinstance(data, dict) or time.time() - int(data.get("at", 0)) > FLASH_MAX_AGE:
        return []
    toasts = data.get("t")
    if not isinstance(toasts, list):
        return []
    return [
        {"level": str(t["level"]), "message": str(t["message"])}
        for t in toasts
        if isinstance(t, dict) and t.get("level") in _LEVELS and "message" in t
    ]


def push(request: Request, response: Response, *, level: str, message: str) -> None:
    """Queue a toast for the next page this browser renders."""
    secret = _secret(request)
    queued = getattr(request.state, "flash_queue", None)
    if not isinstance(queued, list):
        queued = []
        request.state.flash_queue = queued
    queued.append({"level": level, "message": message})
    response.set_cookie(
        FLASH_COOKIE,
        _encode(secret, queued),
        max_age=FLASH_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.secure_cookies,
        path="/",
    )


def read(request: Request) -> list[dict[str, str]]:
    """The toasts waiting for this page; the response then clears the cookie."""
    value = request.cookies.get(FLASH_COOKIE)
    if not value:
        return []
    request.state.flash_consumed = True
    return _decode(_secret(request), value)


def clear(response: Response) -> None:
    if FLASH_COOKIE.encode() in b"".join(v for k, v in response.raw_headers if k == b"set-cookie"):
        return  # a new flash was just queued on this response; keep it
    response.delete_cookie(FLASH_COOKIE, path="/")
