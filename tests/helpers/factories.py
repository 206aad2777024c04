"""Small factories: make what a test needs through the public API, as a user would."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import httpx

PASSWORD = "Sunny-Shop-2026"
_counter = itertools.count(1)


@dataclass
class ApiUser:
    email: str
    password: str
    access_token: str
    refresh_token: str
    session_id: str
    user_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def _user(email: str, password: str, body: dict[str, Any]) -> ApiUser:
    return ApiUser(
        email=email,
        password=password,
        access_token=body["access_token"],
        refresh_token=body["refresh_token"],
        session_id=body["session_id"],
        user_id=body["user"]["id"],
    )


async def register(
    client: httpx.AsyncClient,
    *,
    email: str | None = None,
    password: str = PASSWORD,
    name: str = "Ana Lima",
) -> ApiUser:
    email = email or f"seller{next(_counter)}@example.com"
    response = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": password, "name": name}
    )
    assert response.status_code == 201, response.text
    return _user(email, password, response.json())


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> ApiUser:
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return _user(email, password, response.json())
