"""Cross-cutting HTTP behaviour: the error envelope, request ids, security headers, OpenAPI,
operations endpoints and logs without secrets."""

from __future__ import annotations

import logging

import httpx
import pytest
from fastapi import FastAPI

from socialsell.app import create_app
from socialsell.settings import Settings
from tests.helpers.factories import register

ENVELOPE_KEYS = {"statusCode", "code", "message", "errors", "timestamp", "path", "correlationId"}


async def test_unknown_route_gets_the_404_envelope(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/nothing-here", headers={"X-Request-ID": "trace-42"})
    assert response.status_code == 404
    body = response.json()
    assert set(body) == ENVELOPE_KEYS
    assert body["statusCode"] == 404
    assert body["code"] == "not_found"
    assert body["path"] == "/api/v1/nothing-here"
    assert body["correlationId"] == "trace-42"
    assert response.headers["x-request-id"] == "trace-42"


async def test_wrong_method_gets_the_405_envelope(client: httpx.AsyncClient) -> None:
    response = await client.put("/api/v1/auth/login", json={})
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


async def test_malformed_json_gets_the_422_envelope(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/login", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["errors"]


async def test_a_crash_gets_the_500_envelope_with_request_id(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    async def explode() -> None:
        raise RuntimeError("boom: secret detail")

    app.add_api_route("/api/v1/_explode", explode)
    response = await client.get("/api/v1/_explode")
    assert response.status_code == 500
    body = response.json()
    assert body["code"] == "internal_error"
    assert "boom" not in response.text
    assert response.headers["x-request-id"] == body["correlationId"]


async def test_request_id_is_generated_and_invalid_ones_replaced(
    client: httpx.AsyncClient,
) -> None:
    generated = await client.get("/healthz")
    assert len(generated.headers["x-request-id"]) == 32
    spoofed = await client.get("/healthz", headers={"X-Request-ID": "bad id\nwith newline"})
    assert spoofed.headers["x-request-id"] != "bad id\nwith newline"


async def test_security_headers_on_every_response(client: httpx.AsyncClient) -> None:
    for path in ("/healthz", "/api/v1/users/me", "/api/docs"):
        response = await client.get(path)
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp
        script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
        assert "unsafe-inline" not in script_src
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"]


async def test_openapi_documents_the_api_with_bearer_auth(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/api/openapi.json")).json()
    assert "/api/v1/auth/login" in spec["paths"]
    assert "/api/v1/users/me/sessions/{session_id}" in spec["paths"]
    schemes = spec["components"]["securitySchemes"]
    assert any(s["type"] == "http" and s["scheme"] == "bearer" for s in schemes.values())
    docs = await client.get("/api/docs")
    assert docs.status_code == 200
    assert "swagger-ui-bundle.js" in docs.text
    assert (await client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js")).status_code == 200


async def test_health_and_readiness(client: httpx.AsyncClient, settings: Settings) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    expected = {"database"} | ({"redis"} if settings.redis_url else set())
    assert set(ready.json()["checks"]) == expected


async def test_readiness_is_503_when_the_database_is_down(settings: Settings) -> None:
    broken_url = (
        "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere"
        if not settings.is_sqlite
        else f"sqlite+aiosqlite:///{settings.data_dir}/missing-dir/x/db.sqlite"
    )
    broken = create_app(settings.model_copy(update={"database_url": broken_url}))
    transport = httpx.ASGITransport(app=broken)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        response = await c.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"].startswith("error")


async def test_readiness_is_503_when_redis_is_down(settings: Settings) -> None:
    broken = create_app(settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"}))
    transport = httpx.ASGITransport(app=broken)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        response = await c.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"].startswith("error")


async def test_metrics_count_requests_by_route_template(client: httpx.AsyncClient) -> None:
    user = await register(client)
    await client.get("/api/v1/users/me", headers=user.headers)
    await client.delete(f"/api/v1/users/me/sessions/{user.user_id}", headers=user.headers)
    text = (await client.get("/metrics")).text
    assert 'route="/api/v1/users/me",status="200"' in text
    assert 'route="/api/v1/users/me/sessions/{session_id}",status="404"' in text
    assert "socialsell_http_request_duration_seconds_bucket" in text


async def test_logs_never_contain_passwords_tokens_or_cookies(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.INFO)
    user = await register(client)
    refreshed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": user.refresh_token}
    )
    await client.get("/api/v1/users/me", headers=user.headers)
    await client.post("/api/v1/auth/login", json={"email": user.email, "password": "Wrong-Pass-9"})
    output = caplog.text + "".join(str(r.msg) for r in caplog.records) + capsys.readouterr().err
    assert "request" in output  # the request lines were captured at all
    for secret in (
        user.password,
        "Wrong-Pass-9",
        user.access_token,
        user.refresh_token,
        refreshed.json()["refresh_token"],
    ):
        assert secret not in output


def test_production_refuses_default_secret_and_sqlite() -> None:
    from socialsell.settings import ConfigurationError

    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        create_app(Settings(env="production", database_url="postgresql+asyncpg://x/y"))
    with pytest.raises(ConfigurationError, match="SQLite"):
        create_app(Settings(env="production", secret_key="a-real-long-secret-value-123"))
