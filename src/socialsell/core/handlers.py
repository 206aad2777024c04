"""Exception handlers: every error becomes the JSON envelope for API clients, and a page or a
toast for people in the browser."""

from __future__ import annotations

from typing import cast
from urllib.parse import quote

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from socialsell.core.deps import LoginRequired
from socialsell.core.errors import (
    HTTP_STATUS_CODES,
    AppError,
    FieldError,
    InternalError,
    envelope,
    field_errors_from_pydantic,
)

log = structlog.get_logger(__name__)

_MACHINE_PREFIXES = ("/api/", "/webhooks/", "/healthz", "/readyz", "/metrics")


def wants_json(request: Request) -> bool:
    if request.url.path.startswith(_MACHINE_PREFIXES):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


async def render_error(
    request: Request,
    *,
    status_code: int,
    code: str,
    message: str,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    if wants_json(request):
        body = envelope(
            status_code=status_code,
            code=code,
            message=message,
            path=request.url.path,
            correlation_id=getattr(request.state, "request_id", None),
            errors=errors or [],
        )
        return JSONResponse(body, status_code=status_code, headers=headers)
    # Imported here: the web layer depends on the core, not the other way round.
    from socialsell.web.templating import render_error_page

    return await render_error_page(
        request, status_code=status_code, code=code, message=message, headers=headers
    )


async def _app_error(request: Request, exc: Exception) -> Response:
    exc = cast(AppError, exc)
    return await render_error(
        request,
        status_code=exc.status_code,
        code=exc.code,
        message=exc.message,
        errors=exc.errors,
        headers=exc.headers,
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    exc = cast(StarletteHTTPException, exc)
    code = HTTP_STATUS_CODES.get(exc.status_code, "http_error")
    default = {
        404: "Nothing lives at this address.",
        405: "This method is not allowed here.",
    }.get(exc.status_code, str(exc.detail))
    message = (
        default if exc.detail in (None, "Not Found", "Method Not Allowed") else str(exc.detail)
    )
    return await render_error(
        request,
        status_code=exc.status_code,
        code=code,
        message=message,
        headers=dict(exc.headers or {}),
    )


async def _validation_error(request: Request, exc: Exception) -> Response:
    exc = cast(RequestValidationError, exc)
    return await render_error(
        request,
        status_code=422,
        code="validation_error",
        message="Some fields are not valid.",
        errors=field_errors_from_pydantic(exc.errors()),
    )


async def _login_required(request: Request, exc: Exception) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    login = f"/login?next={quote(target, safe='')}"
    if request.headers.get("HX-Request"):
        return Response(status_code=204, headers={"HX-Redirect": login})
    return RedirectResponse(login, status_code=303)


async def unhandled_error(request: Request, exc: Exception) -> Response:
    return await render_error(
        request,
        status_code=500,
        code=InternalError.code,
        message=InternalError.default_message,
    )


def install_exception_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(LoginRequired, _login_required)
