"""Small pieces of the web layer that need no database."""

from __future__ import annotations

import pytest

from socialsell.accounts.views import safe_next
from socialsell.web import flash
from socialsell.web.templating import translator
from socialsell.web.useragent import describe_user_agent


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/settings", "/settings"),
        ("/settings?tab=1", "/settings?tab=1"),
        ("", "/"),
        (None, "/"),
        ("https://evil.example", "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
    ],
)
def test_next_is_always_a_path_on_this_site(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected


def test_flash_cookie_rejects_a_forged_signature() -> None:
    secret = b"s" * 32
    value = flash._encode(secret, [{"level": "success", "message": "Saved."}])

    assert flash._decode(secret, value) == [{"level": "success", "message": "Saved."}]
    assert flash._decode(b"other-secret", value) == []
    payload, _, signature = value.rpartition(".")
    assert flash._decode(secret, payload + "x." + signature) == []


@pytest.mark.parametrize(
    ("agent", "kind", "language", "expected"),
    [
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Safari/604.1",
            "browser",
            "en",
            "Safari on iPhone",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0) Chrome/131.0 Safari/537.36 Edg/131.0",
            "browser",
            "en",
            "Edge on Windows",
        ),
        (
            "Mozilla/5.0 (Linux; Android 15) Chrome/131.0 Mobile Safari/537.36",
            "browser",
            "pt_BR",
            "Chrome no Android",
        ),
        ("curl/8.0", "browser", "en", "Unknown device"),
        ("python-httpx/0.28", "api", "pt_BR", "Cliente da API"),
    ],
)
def test_devices_get_a_readable_name(agent: str, kind: str, language: str, expected: str) -> None:
    assert describe_user_agent(agent, kind, translator(language)) == expected
