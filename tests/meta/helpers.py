"""Constants and small builders shared by the Meta client's unit tests."""

from __future__ import annotations

import json
from typing import Any

import httpx

GRAPH = "https://graph.ig.test"
FACEBOOK = "https://graph.fb.test"
OAUTH = "https://api.ig.test"
AUTHORIZE = "https://www.ig.test"
VERSION = "v23.0"
IG = f"{GRAPH}/{VERSION}"
FB = f"{FACEBOOK}/{VERSION}"
TOKEN = "IGAAsecret-token-value"
APP_ID = "1234"
APP_SECRET = "app-secret-value"


class FakeTime:
    """A clock that only moves when the client sleeps (or a test advances it)."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


def graph_error(
    code: int,
    subcode: int | None = None,
    *,
    status: int = 400,
    message: str = "(#0) error",
    is_transient: bool | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> httpx.Response:
    error: dict[str, Any] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "Atrace123",
        **extra,
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    if is_transient is not None:
        error["is_transient"] = is_transient
    return httpx.Response(status, json={"error": error}, headers=headers)


def buc_header(object_id: str, *, percent: float, regain_minutes: float = 0) -> dict[str, str]:
    value = {
        object_id: [
            {
                "type": "instagram",
                "call_count": percent,
                "total_cputime": 1,
                "total_time": 1,
                "estimated_time_to_regain_access": regain_minutes,
            }
        ]
    }
    return {"X-Business-Use-Case-Usage": json.dumps(value)}


def json_body(request: httpx.Request) -> Any:
    return json.loads(request.content)
