"""The current user: profile, preferences, password, sessions, export and deletion."""

from __future__ import annotations

import httpx

from tests.helpers.factories import PASSWORD, login, register
from tests.helpers.tenancy import assert_other_workspace_gets_404


async def test_profile_update_and_email_conflict(client: httpx.AsyncClient) -> None:
    user = await register(client)
    await register(client, email="taken@example.com")
    renamed = await client.patch("/api/v1/users/me", json={"name": "Bia"}, headers=user.headers)
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Bia"
    clash = await client.patch(
        "/api/v1/users/me", json={"email": "Taken@Example.com"}, headers=user.headers
    )
    assert clash.status_code == 409
    assert clash.json()["errors"][0]["field"] == "email"
    empty = await client.patch("/api/v1/users/me", json={"name": "  "}, headers=user.headers)
    assert empty.status_code == 422
    assert empty.json()["errors"][0]["field"] == "name"


async def test_preferences_validate_and_persist(client: httpx.AsyncClient) -> None:
    user = await register(client)
    defaults = (await client.get("/api/v1/users/me/preferences", headers=user.headers)).json()
    assert defaults["timezone"] == "UTC"
    assert defaults["language"] == "en"
    assert defaults["notifications"]["email_new_message"] is True

    bad = await client.patch(
        "/api/v1/users/me/preferences", json={"timezone": "Mars/Olympus"}, headers=user.headers
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "timezone"

    changed = await client.patch(
        "/api/v1/users/me/preferences",
        json={
            "timezone": "America/Sao_Paulo",
            "language": "pt_BR",
            "notifications": {"email_new_message": False},
        },
        headers=user.headers,
    )
    assert changed.status_code == 200
    again = (await client.get("/api/v1/users/me/preferences", headers=user.headers)).json()
    assert again["timezone"] == "America/Sao_Paulo"
    assert again["language"] == "pt_BR"
    assert again["notifications"]["email_new_message"] is False
    assert again["notifications"]["email_post_failed"] is True


async def test_password_change_ends_every_other_session(client: httpx.AsyncClient) -> None:
    user = await register(client)
    other = await login(client, user.email)
    wrong = await client.post(
        "/api/v1/users/me/password",
        json={"current_password": "Nope-1234", "new_password": "New-Pass-2026"},
        headers=user.headers,
    )
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "current_password"

    changed = await client.post(
        "/api/v1/users/me/password",
        json={"current_password": PASSWORD, "new_password": "New-Pass-2026"},
        headers=user.headers,
    )
    assert changed.status_code == 204
    assert (await client.get("/api/v1/users/me", headers=user.headers)).status_code == 200
    assert (await client.get("/api/v1/users/me", headers=other.headers)).status_code == 401
    await login(client, user.email, "New-Pass-2026")


async def test_sign_out_one_session(client: httpx.AsyncClient) -> None:
    user = await register(client)
    other = await login(client, user.email)
    response = await client.delete(
        f"/api/v1/users/me/sessions/{other.session_id}", headers=user.headers
    )
    assert response.status_code == 204
    assert (await client.get("/api/v1/users/me", headers=other.headers)).status_code == 401
    again = await client.delete(
        f"/api/v1/users/me/sessions/{other.session_id}", headers=user.headers
    )
    assert again.status_code == 404


async def test_another_users_session_answers_404(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    await assert_other_workspace_gets_404(
        client, "DELETE", f"/api/v1/users/me/sessions/{owner.session_id}"
    )
    # ... and the owner's session was not touched.
    assert (await client.get("/api/v1/users/me", headers=owner.headers)).status_code == 200


async def test_export_is_a_json_file_of_everything_about_the_user(
    client: httpx.AsyncClient,
) -> None:
    user = await register(client, email="export@example.com", name="Exporter")
    response = await client.post("/api/v1/users/me/export", headers=user.headers)
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("attachment;")
    data = response.json()
    assert data["user"]["email"] == "export@example.com"
    assert data["workspaces"][0]["role"] == "owner"
    assert data["sessions"][0]["id"] == user.session_id
    assert "password_hash" not in response.text


async def test_delete_account_needs_the_password(client: httpx.AsyncClient) -> None:
    user = await register(client)
    wrong = await client.request(
        "DELETE", "/api/v1/users/me", json={"password": "Wrong-123"}, headers=user.headers
    )
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "password"
    deleted = await client.request(
        "DELETE", "/api/v1/users/me", json={"password": user.password}, headers=user.headers
    )
    assert deleted.status_code == 204
    assert (await client.get("/api/v1/users/me", headers=user.headers)).status_code == 401
    relogin = await client.post(
        "/api/v1/auth/login", json={"email": user.email, "password": user.password}
    )
    assert relogin.status_code == 401
    # The e-mail is free again.
    await register(client, email=user.email)
