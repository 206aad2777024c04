"""Registration, sign-in, token refresh and rotation, logout and session limits over the API."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from socialsell.accounts.models import UserSession
from socialsell.db import utcnow
from socialsell.settings import Settings
from tests.helpers.factories import PASSWORD, login, register


async def test_register_creates_user_and_personal_workspace(client: httpx.AsyncClient) -> None:
    user = await register(client, email="Ana@Example.com", name="Ana")

    me = await client.get("/api/v1/users/me", headers=user.headers)
    assert me.status_code == 200
    assert me.json()["email"] == "Ana@example.com"  # domains are case-insensitive

    workspaces = (await client.get("/api/v1/workspaces", headers=user.headers)).json()
    assert len(workspaces) == 1
    assert workspaces[0]["role"] == "owner"
    assert workspaces[0]["current"] is True
    assert workspaces[0]["name"] == "Ana's workspace"


async def test_email_is_unique_case_insensitively(client: httpx.AsyncClient) -> None:
    await register(client, email="shop@example.com")
    response = await client.post(
        "/api/v1/auth/register",
        json={"email": "SHOP@example.COM", "password": PASSWORD, "name": "Other"},
    )
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "email_taken"
    assert body["errors"] == [
        {"field": "email", "message": "An account with this e-mail already exists."}
    ]


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("Short1", "at least 8"),
        ("alllowercase1", "upper-case"),
        ("ALLUPPERCASE1", "lower-case"),
        ("NoDigitsHere", "digit"),
    ],
)
async def test_weak_passwords_are_refused_with_the_rule(
    client: httpx.AsyncClient, password: str, problem: str
) -> None:
    response = await client.post(
        "/api/v1/auth/register",
        json={"email": "weak@example.com", "password": password, "name": "Weak"},
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["errors"][0]["field"] == "password"
    assert problem in body["errors"][0]["message"]


async def test_invalid_email_names_the_field(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/register",
        json={"email": "not-an-email", "password": PASSWORD, "name": "X"},
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["email"]


async def test_login_with_wrong_password_is_refused(client: httpx.AsyncClient) -> None:
    user = await register(client)
    response = await client.post(
        "/api/v1/auth/login", json={"email": user.email, "password": "Wrong-Pass-1"}
    )
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"
    unknown = await client.post(
        "/api/v1/auth/login", json={"email": "nobody@example.com", "password": PASSWORD}
    )
    assert unknown.status_code == 401
    assert unknown.json()["message"] == response.json()["message"]


async def test_login_accepts_the_email_in_any_case(client: httpx.AsyncClient) -> None:
    user = await register(client, email="case@example.com")
    again = await login(client, "CASE@EXAMPLE.COM", user.password)
    assert again.user_id == user.user_id


async def test_requests_without_a_valid_token_get_401(client: httpx.AsyncClient) -> None:
    anonymous = await client.get("/api/v1/users/me")
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "not_authenticated"
    assert anonymous.headers["www-authenticate"] == "Bearer"
    forged = await client.get("/api/v1/users/me", headers={"Authorization": "Bearer abc.def.ghi"})
    assert forged.status_code == 401


async def test_refresh_rotates_and_reuse_ends_the_session(client: httpx.AsyncClient) -> None:
    user = await register(client)
    first = await client.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})
    assert first.status_code == 200
    rotated = first.json()
    assert rotated["refresh_token"] != user.refresh_token
    assert rotated["session_id"] == user.session_id
    new_headers = {"Authorization": f"Bearer {rotated['access_token']}"}
    assert (await client.get("/api/v1/users/me", headers=new_headers)).status_code == 200

    # The old refresh token is presented again: someone copied it. The session ends for both.
    replay = await client.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})
    assert replay.status_code == 401
    assert replay.json()["code"] == "token_reused"
    assert (await client.get("/api/v1/users/me", headers=new_headers)).status_code == 401
    newest = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": rotated["refresh_token"]}
    )
    assert newest.status_code == 401


async def test_logout_refuses_the_access_token_at_once(client: httpx.AsyncClient) -> None:
    user = await register(client)
    assert (await client.post("/api/v1/auth/logout", headers=user.headers)).status_code == 204
    after = await client.get("/api/v1/users/me", headers=user.headers)
    assert after.status_code == 401
    refresh = await client.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})
    assert refresh.status_code == 401


async def test_at_most_five_sessions_the_oldest_is_ended(client: httpx.AsyncClient) -> None:
    first = await register(client)
    others = [await login(client, first.email) for _ in range(5)]
    assert (await client.get("/api/v1/users/me", headers=first.headers)).status_code == 401
    for other in others:
        assert (await client.get("/api/v1/users/me", headers=other.headers)).status_code == 200
    sessions = (await client.get("/api/v1/users/me/sessions", headers=others[-1].headers)).json()
    assert len(sessions) == 5
    assert sum(s["current"] for s in sessions) == 1


async def _age_session(app: FastAPI, session_id: str, **values: object) -> None:
    import uuid

    async with app.state.sessionmaker() as db:
        await db.execute(
            update(UserSession).where(UserSession.id == uuid.UUID(session_id)).values(**values)
        )
        await db.commit()


async def test_idle_sessions_expire_after_24_hours(client: httpx.AsyncClient, app: FastAPI) -> None:
    user = await register(client)
    await _age_session(app, user.session_id, last_seen_at=utcnow() - timedelta(hours=23))
    assert (await client.get("/api/v1/users/me", headers=user.headers)).status_code == 200
    # That call slid the window forward; now leave it idle for a day.
    await _age_session(app, user.session_id, last_seen_at=utcnow() - timedelta(hours=24, minutes=1))
    assert (await client.get("/api/v1/users/me", headers=user.headers)).status_code == 401


async def test_sessions_end_after_30_days_even_when_active(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    user = await register(client)
    await _age_session(app, user.session_id, expires_at=utcnow() - timedelta(seconds=1))
    assert (await client.get("/api/v1/users/me", headers=user.headers)).status_code == 401
    refresh = await client.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})
    assert refresh.status_code == 401


async def test_access_tokens_last_15_minutes(client: httpx.AsyncClient) -> None:
    import jwt

    user = await register(client)
    claims = jwt.decode(user.access_token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert claims["sid"] == user.session_id


async def test_login_is_rate_limited_per_email(client: httpx.AsyncClient) -> None:
    user = await register(client)
    for _ in range(5):
        response = await client.post(
            "/api/v1/auth/login", json={"email": user.email, "password": "Wrong-Pass-1"}
        )
        assert response.status_code == 401
    blocked = await client.post(
        "/api/v1/auth/login", json={"email": user.email, "password": user.password}
    )
    assert blocked.status_code == 429
    assert blocked.json()["code"] == "rate_limited"
    assert 1 <= int(blocked.headers["retry-after"]) <= 60


async def test_login_is_rate_limited_per_ip(client: httpx.AsyncClient) -> None:
    for i in range(5):
        response = await client.post(
            "/api/v1/auth/login", json={"email": f"guess{i}@example.com", "password": PASSWORD}
        )
        assert response.status_code == 401
    blocked = await client.post(
        "/api/v1/auth/login", json={"email": "guess9@example.com", "password": PASSWORD}
    )
    assert blocked.status_code == 429


async def test_registration_is_rate_limited(client: httpx.AsyncClient) -> None:
    statuses = []
    for i in range(11):
        response = await client.post(
            "/api/v1/auth/register",
            json={"email": f"bulk{i}@example.com", "password": PASSWORD, "name": "Bulk"},
        )
        statuses.append(response.status_code)
    assert statuses[:10] == [201] * 10
    assert statuses[10] == 429


async def test_login_limits_are_shared_by_processes_only_through_redis(
    settings: Settings,
) -> None:
    """Two app instances stand for two processes: with Redis they share the budget, so an
    attacker cannot multiply it by the number of web processes; in memory each has its own."""
    from socialsell.app import create_app

    first, second = create_app(settings), create_app(settings)
    statuses = []
    for index, app_instance in enumerate([first] * 5 + [second]):
        transport = httpx.ASGITransport(app=app_instance)
        async with (
            app_instance.router.lifespan_context(app_instance),
            httpx.AsyncClient(transport=transport, base_url="http://t") as c,
        ):
            response = await c.post(
                "/api/v1/auth/login",
                json={"email": "shared@example.com", "password": f"Wrong-Pass-{index}"},
            )
            statuses.append(response.status_code)
    assert statuses[:5] == [401] * 5
    assert statuses[5] == (429 if settings.redis_url else 401)
