"""What wraps every Graph API call (everything outside ``/_sandbox``, ``/`` and the OAuth
dialog): version prefix handling, planned faults, rate limits, usage headers and the call log.

Fault plans (``state.faults``, managed with ``/_sandbox/faults``):
- ``rate_limit``: the next N matching calls fail with code 4 (app), 17 (user), 32 (page) or 613
  (custom) — ``code`` picks which, default 4;
- ``transient``: the next N calls fail with code 2, ``is_transient: true``, HTTP 500;
- ``slow``: the next N calls are delayed by ``latency_seconds`` (real time, to exercise timeouts);
- ``webhook_drop`` / ``webhook_duplicate`` / ``webhook_reorder``: applied by the dispatcher.

Rate limits: calls are counted per token subject (the account) and per app over a rolling hour of
the sandbox clock; over ``rate_limit_calls_per_hour`` an account gets code 17, over
``app_rate_limit_calls_per_hour`` the app gets code 4. Usage percentages are reported in
``X-App-Usage`` and ``X-Business-Use-Case-Usage`` on every Graph response.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from meta_sandbox import errors
from meta_sandbox.state import CallRecord, FaultPlan, SandboxState

VERSION_RE = re.compile(r"^/(v\d+\.\d+)(/.*)?$")
NON_GRAPH_PREFIXES = ("/_sandbox", "/oauth/authorize", "/favicon.ico")
HOUR = 3600.0


class VersionPrefixMiddleware:
    """Strip a ``/vNN.N`` prefix before routing so versioned and unversioned paths reach the same
    routes, as on Meta; the version is kept in ``scope["state"]["api_version"]``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            match = VERSION_RE.match(scope["path"])
            if match:
                rest = match.group(2) or "/"
                scope = dict(scope)
                scope["path"] = rest
                scope["raw_path"] = rest.encode()
                scope.setdefault("state", {})["api_version"] = match.group(1)
        await self.app(scope, receive, send)


def is_graph_path(path: str) -> bool:
    return path != "/" and not path.startswith(NON_GRAPH_PREFIXES)


def _take_plan(state: SandboxState, request: Request, kinds: tuple[str, ...]) -> FaultPlan | None:
    for plan in state.faults:
        if plan.kind not in kinds or plan.remaining <= 0:
            continue
        if plan.path_contains and plan.path_contains not in request.url.path:
            continue
        if plan.method and plan.method.upper() != request.method:
            continue
        plan.remaining -= 1
        if plan.remaining <= 0:
            state.faults.remove(plan)
        return plan
    return None


def _subject_for(state: SandboxState, request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    value = header.split(" ", 1)[1].strip() if " " in header else None
    value = value or request.query_params.get("access_token")
    if value and value in state.tokens:
        return state.tokens[value].subject_id
    first = request.url.path.strip("/").split("/", 1)[0]
    if first in state.objects:
        return first
    return None


def _count(state: SandboxState, key: str, now: float) -> int:
    times = [t for t in state.usage.get(key, []) if now - t < HOUR]
    state.usage[key] = times
    return len(times)


def _usage_headers(state: SandboxState, subject: str | None, now: float) -> dict[str, str]:
    settings = state.settings
    app_pct = min(
        100, int(100 * _count(state, "app", now) / settings.app_rate_limit_calls_per_hour)
    )
    headers = {
        "X-App-Usage": json.dumps(
            {"call_count": app_pct, "total_time": app_pct, "total_cputime": app_pct}
        )
    }
    if subject:
        times = state.usage.get(subject, [])
        pct = int(100 * len(times) / settings.rate_limit_calls_per_hour)
        regain = 0
        if pct >= 100 and times:
            regain = max(1, int((times[0] + HOUR - now) / 60) + 1)
        kind = state.kind_of(subject) or ""
        usage_type = "whatsapp" if kind.startswith(("wa", "waba")) else "instagram"
        headers["X-Business-Use-Case-Usage"] = json.dumps(
            {
                subject: [
                    {
                        "type": usage_type,
                        "call_count": min(pct, 100),
                        "total_cputime": min(pct, 100) // 2,
                        "total_time": min(pct, 100) // 2,
                        "estimated_time_to_regain_access": regain,
                    }
                ]
            }
        )
    return headers


def _rate_limit_error(
    state: SandboxState, subject: str | None, now: float
) -> errors.GraphAPIError | None:
    settings = state.settings
    if _count(state, "app", now) >= settings.app_rate_limit_calls_per_hour:
        return errors.rate_limited(4)
    if subject and _count(state, subject, now) >= settings.rate_limit_calls_per_hour:
        return errors.rate_limited(17)
    return None


async def graph_middleware(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    path = request.url.path
    state: SandboxState = request.app.state.sandbox
    if not is_graph_path(path):
        response = await call_next(request)
        _maybe_save(state, request)
        return response
    now = state.clock.now()
    subject = _subject_for(state, request)
    error: errors.GraphAPIError | None = None

    slow = _take_plan(state, request, ("slow",))
    if slow is not None:
        await asyncio.sleep(slow.latency_seconds)
    plan = _take_plan(state, request, ("rate_limit", "transient"))
    if plan is not None and plan.kind == "rate_limit":
        error = errors.rate_limited(plan.code or 4, error_subcode=plan.error_subcode)
    elif plan is not None:
        error = errors.transient_error()
    if error is None:
        error = _rate_limit_error(state, subject, now)
    state.usage.setdefault("app", []).append(now)
    if subject:
        state.usage.setdefault(subject, []).append(now)

    response = error.to_response() if error else await call_next(request)

    token = getattr(request.state, "token", None)
    if token is not None:
        subject = token.subject_id
    version = request.scope.get("state", {}).get("api_version") or state.settings.api_version
    response.headers.update(_usage_headers(state, subject, now))
    response.headers["facebook-api-version"] = version
    trace = secrets.token_urlsafe(8)[:11]
    response.headers["x-fb-trace-id"] = trace
    response.headers["x-fb-request-id"] = secrets.token_urlsafe(18)
    error_code = error.code if error else getattr(request.state, "error_code", None)
    state.call_log.append(
        CallRecord(
            method=request.method,
            path=(f"/{version}" if "api_version" in request.scope.get("state", {}) else "") + path,
            status=response.status_code,
            time=now,
            subject_id=subject,
            error_code=error_code,
            query=_redacted_query(request),
        )
    )
    _maybe_save(state, request)
    return response


def _redacted_query(request: Request) -> str:
    items: list[tuple[str, Any]] = [
        (k, "***" if k in ("access_token", "client_secret") else v)
        for k, v in request.query_params.multi_items()
    ]
    return "&".join(f"{k}={v}" for k, v in items)


def _maybe_save(state: SandboxState, request: Request) -> None:
    if state.settings.state_file and request.method != "GET":
        state.save(state.settings.state_file)
