"""The settings page: profile, password, preferences, notifications, sessions, export and
deletion, each validated like the API and never showing another person's data."""

from __future__ import annotations

import json
import re
import uuid

from fastapi import FastAPI

from socialsell.accounts.models import Membership, Role, Workspace
from socialsell.core.deps import SESSION_COOKIE
from tests.helpers.factories import PASSWORD
from tests.web.conftest import Browser, BrowserFactory, sign_in, sign_up
from tests.web.test_auth_views import field_error

CHROME_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0 Safari/537.36"
)


async def test_profile_changes_are_saved_with_a_toast(seller: Browser) -> None:
    response = await seller.post(
        "/settings/profile", {"name": "Ana Paula Lima", "email": "ana.paula@example.com"}
    )

    assert response.status_code == 303
    page = (await seller.get("/settings")).text
    assert "Profile saved." in page
    assert 'value="Ana Paula Lima"' in page
    assert 'value="ana.paula@example.com"' in page


async def test_profile_errors_are_next_to_the_field(seller: Browser) -> None:
    response = await seller.post("/settings/profile", {"name": "Ana", "email": "nope"})

    assert response.status_code == 422
    assert "valid e-mail address" in field_error(response.text, "email")
    assert 'value="nope"' in response.text


async def test_htmx_profile_error_swaps_only_that_form(seller: Browser) -> None:
    response = await seller.post("/settings/profile", {"name": "", "email": ""}, htmx=True)

    assert response.status_code == 422
    assert response.text.lstrip().startswith("<form")
    assert 'action="/settings/profile"' in response.text
    assert "current_password" not in response.text


async def test_password_change_needs_the_current_password(seller: Browser) -> None:
    response = await seller.post(
        "/settings/password", {"current_password": "Wrong-1234", "new_password": "Better-2027"}
    )

    assert response.status_code == 422
    assert field_error(response.text, "current_password") == "The current password is wrong."


async def test_password_change_applies_the_password_rule(seller: Browser) -> None:
    response = await seller.post(
        "/settings/password", {"current_password": PASSWORD, "new_password": "alllowercase1"}
    )

    assert response.status_code == 422
    assert field_error(response.text, "new_password") == "Add an upper-case letter."


async def test_password_change_signs_out_other_devices(
    seller: Browser, browser_factory: BrowserFactory
) -> None:
    phone = await browser_factory()
    assert (await sign_in(phone, seller.email)).status_code == 303

    response = await seller.post(
        "/settings/password", {"current_password": PASSWORD, "new_password": "Better-2027"}
    )

    assert response.status_code == 303
    assert "1 other session was signed out." in (await seller.get("/settings")).text
    assert (await phone.get("/")).status_code == 303  # back to sign in
    assert (await seller.get("/")).status_code == 200


async def test_timezone_is_saved_and_shown(seller: Browser) -> None:
    response = await seller.post(
        "/settings/preferences",
        {"timezone": "America/Sao_Paulo", "language": "en", "theme": "system"},
    )

    assert response.status_code == 303
    page = (await seller.get("/settings")).text
    assert 'id="f-timezone" name="timezone" type="text" value="America/Sao_Paulo"' in page
    assert '<option value="Europe/Lisbon">' in page  # the searchable list
    assert "America/Sao_Paulo" in (await seller.get("/")).text


async def test_unknown_timezone_is_refused_next_to_the_field(seller: Browser) -> None:
    response = await seller.post(
        "/settings/preferences", {"timezone": "Mars/Olympus", "language": "en", "theme": "dark"}
    )

    assert response.status_code == 422
    assert "Choose a timezone from the list" in field_error(response.text, "timezone")
    assert 'value="Mars/Olympus"' in response.text


async def test_choosing_portuguese_translates_the_app(seller: Browser) -> None:
    response = await seller.post(
        "/settings/preferences", {"timezone": "UTC", "language": "pt_BR", "theme": "system"}
    )

    assert response.status_code == 303
    page = (await seller.get("/settings")).text
    assert '<html lang="pt-BR"' in page
    assert "Preferências salvas." in page  # the toast speaks the new language
    assert "Configurações" in page
    assert "Sair de todos os outros dispositivos" not in page  # only one session
    # Pages shown without the account (an unknown address) keep the language too.
    assert "Página não encontrada" in (await seller.get("/nowhere")).text


async def test_theme_preference_is_rendered_by_the_server(seller: Browser) -> None:
    await seller.post(
        "/settings/preferences", {"timezone": "UTC", "language": "en", "theme": "dark"}
    )

    html = (await seller.get("/")).text

    assert 'data-theme="dark" data-theme-source="account"' in html


async def test_notification_toggles_are_saved(seller: Browser) -> None:
    response = await seller.post(
        "/settings/notifications",
        {"email_new_message": "off", "weekly_report": "on", "in_app_new_message": "on"},
    )

    assert response.status_code == 303
    page = (await seller.get("/settings")).text
    assert re.search(r'name="weekly_report" value="on" checked', page)
    assert re.search(r'name="email_new_message" value="on"( aria-describedby="[^"]+")?>', page)
    # A toggle the form did not post keeps its value.
    assert re.search(r'name="email_post_failed" value="on" checked', page)


async def test_sessions_list_and_sign_out_one_device(
    seller: Browser, browser_factory: BrowserFactory
) -> None:
    laptop = await browser_factory(user_agent=CHROME_MAC)
    await sign_in(laptop, seller.email)
    page = (await seller.get("/settings")).text
    assert "Firefox on Linux" in page
    assert "Chrome on macOS" in page
    assert page.count("This device") == 1
    other_id = re.search(r'action="/settings/sessions/([0-9a-f-]{36})/end"', page)
    assert other_id

    response = await seller.post(f"/settings/sessions/{other_id.group(1)}/end", htmx=True)

    assert response.status_code == 200
    assert response.text.lstrip().startswith(
        '<section class="card settings__section" id="sessions"'
    )
    assert "Chrome on macOS" not in response.text
    assert json.loads(response.headers["HX-Trigger"])["toast"]["message"] == (
        "That session is signed out."
    )
    assert (await laptop.get("/")).status_code == 303


async def test_sign_out_everywhere_else(seller: Browser, browser_factory: BrowserFactory) -> None:
    for _ in range(2):
        await sign_in(await browser_factory(), seller.email)

    response = await seller.post("/settings/sessions/end-others")

    assert response.status_code == 303
    page = (await seller.get("/settings")).text
    assert "Signed out of 2 other sessions." in page
    assert page.count('action="/settings/sessions/') == 0


async def test_data_export_downloads_json(seller: Browser) -> None:
    response = await seller.get("/settings/export")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["content-disposition"].startswith(
        'attachment; filename="socialsell-export-'
    )
    assert response.json()["user"]["email"] == seller.email


async def test_account_deletion_needs_the_password(seller: Browser) -> None:
    response = await seller.post("/settings/delete", {"password": "Wrong-1234"})

    assert response.status_code == 422
    assert field_error(response.text, "password") == "The password is wrong."
    assert (await seller.get("/")).status_code == 200


async def test_account_deletion_signs_out_and_forgets_the_user(
    seller: Browser, anonymous: Browser
) -> None:
    response = await seller.post("/settings/delete", {"password": PASSWORD})

    assert response.status_code == 303
    assert response.headers["location"] == "/register"
    assert SESSION_COOKIE not in seller.client.cookies
    assert (await sign_in(anonymous, seller.email)).status_code == 422


# ---------------------------------------------------------------------------- tenancy


async def test_another_sellers_data_never_shows(browser_factory: BrowserFactory) -> None:
    ana = await sign_up(await browser_factory(), name="Ana Lima", email="ana@shop.example")
    bruno = await sign_up(await browser_factory(), name="Bruno Souza", email="bruno@shop.example")

    for path in ("/", "/inbox", "/settings", "/settings/export"):
        text = (await bruno.get(path)).text
        assert "ana@shop.example" not in text
        assert "Ana Lima" not in text
    ana_page = (await ana.get("/settings")).text
    assert "Bruno" not in ana_page


async def test_nobody_can_end_someone_elses_session(browser_factory: BrowserFactory) -> None:
    ana = await sign_up(await browser_factory(), name="Ana Lima")
    bruno = await sign_up(await browser_factory(), name="Bruno Souza")
    export = (await ana.get("/settings/export")).json()
    ana_session = export["sessions"][0]["id"]

    response = await bruno.post(f"/settings/sessions/{ana_session}/end")

    assert response.status_code == 404
    assert (await ana.get("/")).status_code == 200


async def test_switching_workspace(app: FastAPI, browser_factory: BrowserFactory) -> None:
    ana = await sign_up(await browser_factory(), name="Ana Lima")
    bruno = await sign_up(await browser_factory(), name="Bruno Souza")
    user_id = uuid.UUID((await ana.get("/settings/export")).json()["user"]["id"])
    async with app.state.sessionmaker() as db:
        agency = Workspace(name="Agency client: Bolos da Bia")
        db.add(agency)
        await db.flush()
        db.add(Membership(workspace_id=agency.id, user_id=user_id, role=Role.editor))
        await db.commit()

    page = (await ana.get("/")).text
    assert "Switch workspace" in page
    response = await ana.post("/workspaces/switch", {"workspace_id": str(agency.id)}, page="/")

    assert response.status_code == 303
    page = (await ana.get("/")).text
    assert "Switched to Agency client: Bolos da Bia." in page
    assert 'aria-current="true"' in page
    # Someone who is not a member cannot switch into it.
    response = await bruno.post("/workspaces/switch", {"workspace_id": str(agency.id)}, page="/")
    assert response.status_code == 404
    assert "Bolos da Bia" not in (await bruno.get("/")).text


async def test_htmx_save_on_the_same_page_reloads_it(seller: Browser) -> None:
    token = await seller.token()

    response = await seller.client.post(
        "/settings/profile",
        data={"csrf_token": token, "name": "Ana", "email": seller.email},
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/settings#profile"},
    )

    # A redirect to /settings#profile would only scroll; a reload shows the toast.
    assert response.status_code == 204
    assert response.headers["HX-Refresh"] == "true"
