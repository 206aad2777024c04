"""The sandbox ASGI app.

Routing (see ``meta_sandbox.routing`` for why it works):

1. ``/_sandbox/...`` control API (JSON, OpenAPI at ``/_sandbox/docs``) and the UI at ``/``;
2. OAuth: ``/oauth/authorize`` (www.instagram.com), ``/oauth/access_token`` (api.instagram.com),
   ``/access_token`` and ``/refresh_access_token`` (graph.instagram.com);
3. Instagram Graph routes, built with ``kind_route("ig_", allow_me=True)``: they only match ids
   registered with an ``ig_*`` kind, or ``me``;
4. the WhatsApp Cloud API router from ``meta_sandbox.whatsapp`` (``router``, built with its own
   kind routes; its ``control_router`` is mounted under ``/_sandbox/whatsapp``).
   ``whatsapp.install(state)`` registers its reset hook (filling ``state.whatsapp``) and
   ``whatsapp.on_tick(app)`` runs on every dispatcher tick (see ``WebhookDispatcher``);
5. app-level webhook subscriptions ``/{app-id}/subscriptions`` (``meta_sandbox.app_subscriptions``);
6. a catch-all answering Meta's errors for unknown objects and paths.

Every path also works with a version prefix (``/v23.0/me``): ``VersionPrefixMiddleware`` strips it
before routing. ``graph_middleware`` applies fault plans, rate limits, usage headers and the call
log to Graph calls.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from meta_sandbox import errors, whatsapp
from meta_sandbox.clock import Clock
from meta_sandbox.faults import VersionPrefixMiddleware, graph_middleware, is_graph_path
from meta_sandbox.settings import SandboxSettings
from meta_sandbox.state import SandboxState
from meta_sandbox.webhooks import WebhookDispatcher


def create_app(settings: SandboxSettings | None = None) -> FastAPI:
    settings = settings or SandboxSettings()
    clock = Clock(controlled=settings.controlled_clock)
    state = SandboxState(settings, clock)
    dispatcher = WebhookDispatcher(state)
    state.on_reset(lambda _state: dispatcher.reset())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await dispatcher.start()
        try:
            yield
        finally:
            await dispatcher.stop()
            if state.settings.state_file:
                state.save(state.settings.state_file)

    app = FastAPI(
        title="Meta sandbox",
        description="A local emulator of Meta's Instagram Graph API and WhatsApp Cloud API.",
        version="1.0",
        docs_url="/_sandbox/docs",
        redoc_url=None,
        openapi_url="/_sandbox/openapi.json",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.initial_settings = settings.model_copy(deep=True)
    app.state.clock = clock
    app.state.sandbox = state
    app.state.dispatcher = dispatcher

    from meta_sandbox import app_subscriptions, control
    from meta_sandbox.instagram import routes as instagram_routes
    from meta_sandbox.ui import routes as ui_routes

    app.include_router(ui_routes.router)
    app.include_router(control.router)
    app.include_router(instagram_routes.oauth_router)
    app.include_router(instagram_routes.graph_router)

    whatsapp.install(state)
    # Delivered/read statuses and template reviews fall due on the sandbox clock.
    dispatcher.on_tick(lambda: whatsapp.on_tick(app))
    app.include_router(whatsapp.router)
    app.include_router(whatsapp.control_router, prefix="/_sandbox/whatsapp")

    app.include_router(app_subscriptions.router)
    app.include_router(instagram_routes.fallback_router)

    if settings.state_file:
        state.load(settings.state_file)

    app.add_exception_handler(errors.GraphAPIError, _graph_error)
    app.add_exception_handler(errors.OAuthCodeError, errors.oauth_code_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.middleware("http")(graph_middleware)
    app.add_middleware(VersionPrefixMiddleware)
    return app


async def _graph_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.GraphAPIError)  # noqa: S101
    request.state.error_code = exc.code
    return exc.to_response()


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101
    if is_graph_path(request.url.path):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ())[1:]) or "request"
        return errors.invalid_parameter(
            f"Param {where} is invalid: {first.get('msg', '')}"
        ).to_response()
    return JSONResponse({"detail": exc.errors()}, status_code=422)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101
    if is_graph_path(request.url.path) and exc.status_code in (404, 405):
        return errors.unknown_path(request.url.path.lstrip("/")).to_response()
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
