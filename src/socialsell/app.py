"""The application factory: settings in, a FastAPI app out, with every router, middleware and the
resources its lifespan owns (database engine, rate limiter, jobs, the scheduler tick)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from socialsell.accounts.api import router as accounts_api
from socialsell.analytics.api import router as analytics_api
from socialsell.channels.api import router as channels_api
from socialsell.core.constants import API_PREFIX
from socialsell.core.handlers import install_exception_handlers, unhandled_error
from socialsell.core.logging import configure_logging
from socialsell.core.middleware import Metrics, RequestContextMiddleware
from socialsell.core.ops import router as ops_router
from socialsell.core.ratelimit import RateLimiter
from socialsell.core.storage import router as media_router
from socialsell.core.tick import jobs_lifespan
from socialsell.db import create_engine, create_sessionmaker
from socialsell.inbox.api import router as inbox_api
from socialsell.inbox.api import stream_router as inbox_stream
from socialsell.integrations import build_meta_client
from socialsell.notifications.api import router as notifications_api
from socialsell.publishing.api import router as publishing_api
from socialsell.settings import Settings
from socialsell.webhooks.api import router as webhooks_api
from socialsell.whatsapp.api import messages_router as whatsapp_messages_api
from socialsell.whatsapp.api import router as whatsapp_api
from socialsell.whatsapp.costs.api import router as whatsapp_costs_api
from socialsell.whatsapp.templates.api import router as whatsapp_templates_api

STATIC_DIR = Path(__file__).resolve().parent / "web" / "static"

_API_DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>socialsell API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/static/vendor/swagger-ui/swagger-ui.css"></head>
<body data-openapi-url="{openapi_url}"><div id="swagger-ui"></div>
<script src="/static/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/static/js/api-docs.js"></script></body></html>"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    settings.check_production()
    configure_logging(level=settings.log_level, json=settings.json_logs)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.is_sqlite:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        async with jobs_lifespan(settings, app.state.sessionmaker) as jobs:
            app.state.jobs = jobs
            try:
                yield
            finally:
                await app.state.meta.aclose()
        await app.state.engine.dispose()

    app = FastAPI(
        title="socialsell",
        version="0.1.0",
        summary="One inbox, a content calendar and analytics for Instagram and WhatsApp sellers.",
        openapi_url=f"{API_PREFIX[:-3]}/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    engine = create_engine(settings.db_url)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = create_sessionmaker(engine)
    app.state.rate_limiter = RateLimiter(settings.redis_url)
    app.state.metrics = Metrics()
    app.state.meta = build_meta_client(settings)

    install_exception_handlers(app)
    app.add_middleware(
        RequestContextMiddleware, metrics=app.state.metrics, on_error=unhandled_error
    )

    app.include_router(ops_router)
    app.include_router(accounts_api)
    app.include_router(channels_api)
    app.include_router(notifications_api)
    app.include_router(webhooks_api)
    app.include_router(inbox_api)
    app.include_router(inbox_stream)
    app.include_router(publishing_api)
    app.include_router(analytics_api)
    app.include_router(whatsapp_api)
    app.include_router(whatsapp_messages_api)
    app.include_router(whatsapp_templates_api)
    app.include_router(whatsapp_costs_api)
    app.include_router(media_router)
    _include_web(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/api/docs", include_in_schema=False)
    async def api_docs(request: Request) -> HTMLResponse:
        return HTMLResponse(_API_DOCS_PAGE.format(openapi_url=app.openapi_url))

    return app


def _include_web(app: FastAPI) -> None:
    from socialsell.accounts.views import router as accounts_views
    from socialsell.analytics.views import router as analytics_views
    from socialsell.channels.views import router as channels_views
    from socialsell.inbox.views import router as inbox_views
    from socialsell.notifications.views import router as notifications_views
    from socialsell.publishing.views import router as publishing_views
    from socialsell.web.views import router as web_views
    from socialsell.whatsapp.costs.views import router as whatsapp_costs_views
    from socialsell.whatsapp.templates.picker import router as whatsapp_picker_views
    from socialsell.whatsapp.templates.views import router as whatsapp_templates_views

    app.include_router(accounts_views)
    app.include_router(channels_views)
    app.include_router(analytics_views)
    app.include_router(notifications_views)
    app.include_router(web_views)
    app.include_router(inbox_views)
    app.include_router(whatsapp_templates_views)
    app.include_router(whatsapp_picker_views)
    app.include_router(whatsapp_costs_views)
    app.include_router(publishing_views)
