"""Every page renders for a signed-in seller, sends anonymous visitors to sign in, and sections
that are not built yet say what is coming instead of failing."""

from __future__ import annotations

import pytest

from tests.web.conftest import Browser

SHELL_PAGES = [
    ("/", "Dashboard"),
    ("/inbox", "Inbox"),
    ("/calendar", "Calendar"),
    ("/media", "Media"),
    ("/analytics", "Analytics"),
    ("/channels", "Channels"),
    ("/settings", "Settings"),
]


@pytest.mark.parametrize(("path", "title"), SHELL_PAGES)
async def test_each_page_renders_in_the_shell_with_its_link_active(
    seller: Browser, path: str, title: str
) -> None:
    response = await seller.get(path)

    assert response.status_code == 200
    html = response.text
    assert f"<title>{title} · socialsell</title>" in html
    assert f'href="{path}" aria-current="page"' in html
    assert html.count('aria-current="page"') == 1
    assert 'class="skip-link" href="#main"' in html
    assert seller.name in html  # the user menu


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/inbox",
        "/calendar",
        "/media",
        "/analytics",
        "/channels",
        "/settings",
        "/settings/export",
    ],
)
async def test_anonymous_visitors_are_sent_to_sign_in(anonymous: Browser, path: str) -> None:
    response = await anonymous.get(path)

    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


async def test_anonymous_htmx_requests_are_redirected_by_htmx(anonymous: Browser) -> None:
    response = await anonymous.get("/settings", headers={"HX-Request": "true"})

    assert response.status_code == 204
    assert response.headers["HX-Redirect"].startswith("/login?next=")


async def test_sign_in_pages_send_signed_in_people_home(seller: Browser) -> None:
    for path in ("/login", "/register"):
        response = await seller.get(path)
        assert response.status_code == 303
        assert response.headers["location"] == "/"


async def test_unknown_address_is_a_designed_page(seller: Browser) -> None:
    response = await seller.get("/no-such-page")

    assert response.status_code == 404
    assert "Page not found" in response.text
    assert "Go to the dashboard" in response.text


async def test_pages_only_load_assets_from_this_server(anonymous: Browser) -> None:
    html = (await anonymous.get("/login")).text

    assert "http://" not in html.replace("http://www.w3.org", "")
    assert "https://" not in html
    assert " style=" not in html  # the CSP forbids inline styles
    assert " on" + "click=" not in html
    for asset in ("/static/css/app.css", "/static/js/app.js", "/static/vendor/htmx-2.0.11.min.js"):
        assert asset in html
        assert (await anonymous.get(asset)).status_code == 200
