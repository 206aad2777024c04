"""Signing up, in and out through the pages: field errors next to the fields (422), CSRF on
every form, rate limits with the wait time, and toasts after the redirect."""

from __future__ import annotations

import re

import httpx

from socialsell.core.deps import SESSION_COOKIE
from tests.helpers.factories import PASSWORD
from tests.web.conftest import Browser, BrowserFactory, csrf_from, sign_in, sign_up


def field_error(html: str, field: str) -> str:
    match = re.search(rf'id="f-{field}-error"><svg.*?</svg><span>(.*?)</span>', html, re.DOTALL)
    assert match, f"no error shown next to {field}"
    return match.group(1)


async def test_registering_signs_in_and_welcomes(anonymous: Browser) -> None:
    response = await anonymous.post(
        "/register",
        {"name": "Bia Costa", "email": "bia@example.com", "password": PASSWORD},
        page="/register",
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/"
    assert SESSION_COOKIE in response.cookies
    dashboard = await anonymous.get("/")
    assert "Welcome, Bia" in dashboard.text
    assert "Welcome to socialsell! Your workspace is ready." in dashboard.text  # the toast
    again = await anonymous.get("/")
    assert "Your workspace is ready" not in again.text  # shown once


async def test_register_errors_are_shown_next_to_the_fields(anonymous: Browser) -> None:
    response = await anonymous.post(
        "/register", {"name": "", "email": "not-an-email", "password": "short"}, page="/register"
    )

    assert response.status_code == 422
    assert field_error(response.text, "name") == "This field is required."
    assert "valid e-mail address" in field_error(response.text, "email")
    assert field_error(response.text, "password") == "Use at least 8 characters."
    assert 'value="not-an-email"' in response.text  # kept for fixing
    assert 'aria-invalid="true"' in response.text


async def test_register_with_a_taken_email_says_so_next_to_it(
    seller: Browser, anonymous: Browser
) -> None:
    response = await anonymous.post(
        "/register",
        {"name": "Copy", "email": seller.email.upper(), "password": PASSWORD},
        page="/register",
    )

    assert response.status_code == 422
    assert field_error(response.text, "email") == "An account with this e-mail already exists."


async def test_htmx_form_errors_render_only_the_form(anonymous: Browser) -> None:
    response = await anonymous.post(
        "/register",
        {"name": "X", "email": "x@example.com", "password": "nodigits"},
        page="/register",
        htmx=True,
    )

    assert response.status_code == 422
    assert response.text.lstrip().startswith("<form")
    assert "<html" not in response.text
    assert field_error(response.text, "password") == "Add an upper-case letter."


async def test_wrong_password_is_refused_above_the_form(
    seller: Browser, anonymous: Browser
) -> None:
    response = await sign_in(anonymous, seller.email, "Wrong-password-1")

    assert response.status_code == 422
    assert 'role="alert"' in response.text
    assert "The e-mail or password is wrong." in response.text
    assert f'value="{seller.email}"' in response.text
    assert "Wrong-password-1" not in response.text  # passwords are never echoed


async def test_signing_in_goes_to_the_page_asked_for(seller: Browser, anonymous: Browser) -> None:
    redirect = await anonymous.get("/settings")
    login_page = await anonymous.get(redirect.headers["location"])
    assert 'name="next" value="/settings"' in login_page.text

    response = await anonymous.post(
        "/login",
        {"email": seller.email, "password": PASSWORD, "next": "/settings"},
        page="/login",
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/settings"


async def test_next_cannot_leave_the_site(seller: Browser, anonymous: Browser) -> None:
    response = await anonymous.post(
        "/login",
        {"email": seller.email, "password": PASSWORD, "next": "//evil.example/phish"},
        page="/login",
    )

    assert response.headers["location"] == "/"


async def test_htmx_sign_in_redirects_with_hx_redirect(seller: Browser, anonymous: Browser) -> None:
    response = await anonymous.post(
        "/login", {"email": seller.email, "password": PASSWORD}, page="/login", htmx=True
    )

    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/"


async def test_sign_in_is_rate_limited_with_the_wait_time(
    seller: Browser, anonymous: Browser
) -> None:
    for _ in range(5):
        assert (await sign_in(anonymous, seller.email, "Wrong-password-1")).status_code == 422

    response = await sign_in(anonymous, seller.email, PASSWORD)

    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert re.search(r"Too many attempts. Try again in \d+ seconds?\.", response.text)


async def test_signing_out_ends_the_session(seller: Browser) -> None:
    cookie = seller.client.cookies[SESSION_COOKIE]

    response = await seller.post("/logout", page="/")

    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert "You are signed out." in (await seller.get("/login")).text
    seller.client.cookies.set(SESSION_COOKIE, cookie)  # even a kept cookie no longer works
    assert (await seller.get("/")).status_code == 303


async def test_forms_without_the_csrf_token_are_refused(seller: Browser) -> None:
    response = await seller.client.post("/settings/profile", data={"name": "Mallory"})

    assert response.status_code == 403
    assert "The form has expired; reload the page and try again." in response.text
    assert "Ana Lima" in (await seller.get("/settings")).text


async def test_anonymous_forms_need_the_double_submit_cookie(
    browser_factory: BrowserFactory,
) -> None:
    attacker_page = await browser_factory()
    token = csrf_from((await attacker_page.get("/login")).text)
    victim = await browser_factory()  # has never loaded the form: no CSRF cookie

    response = await victim.client.post(
        "/login", data={"csrf_token": token, "email": "a@example.com", "password": "x"}
    )

    assert response.status_code == 403


async def test_htmx_requests_may_send_the_token_as_a_header(seller: Browser) -> None:
    token = await seller.token()

    response = await seller.client.post(
        "/settings/theme",
        data={"theme": "dark"},
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
    )

    assert response.status_code == 204


async def test_a_refused_htmx_form_gets_a_toast_not_a_page(seller: Browser) -> None:
    response = await seller.client.post(
        "/settings/profile", data={"name": "X"}, headers={"HX-Request": "true"}
    )

    assert response.status_code == 403
    assert "toast" in response.headers["HX-Trigger"]
    assert "<html" not in response.text


async def test_portuguese_browsers_get_portuguese_sign_in(
    browser_factory: BrowserFactory,
) -> None:
    visitor = await browser_factory(accept_language="pt-BR,pt;q=0.9,en;q=0.8")

    html = (await visitor.get("/login")).text

    assert '<html lang="pt-BR"' in html
    assert "Entrar" in html
    assert "Senha" in html


async def test_registering_in_portuguese_keeps_portuguese(
    browser_factory: BrowserFactory,
) -> None:
    visitor = await sign_up(await browser_factory(accept_language="pt-BR"))
    await visitor.client.aclose()
    transport = visitor.client._transport
    english = httpx.AsyncClient(
        transport=transport,
        base_url="http://testserver",
        headers={"Accept-Language": "en"},
        cookies=visitor.client.cookies,
    )
    async with english:
        html = (await english.get("/")).text

    assert "Painel" in html  # the account's language wins over the browser's


async def test_signing_out_needs_the_token_of_the_session(seller: Browser) -> None:
    response = await seller.client.post("/logout", data={"csrf_token": "forged"})

    assert response.status_code == 403
    assert (await seller.get("/")).status_code == 200


async def test_signing_out_after_the_session_expired_just_goes_to_sign_in(
    seller: Browser,
) -> None:
    token = await seller.token("/")
    seller.client.cookies.set(SESSION_COOKIE, "expired-or-unknown")

    response = await seller.client.post("/logout", data={"csrf_token": token})

    assert response.status_code == 303
    assert response.headers["location"] == "/login"
