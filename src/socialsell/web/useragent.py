"""A readable name for a signed-in device ("Firefox on Windows") from its User-Agent header.

Deliberately small: the sessions list only needs enough for a person to recognise their own
devices, not a full user-agent database."""

from __future__ import annotations

from socialsell.web.templating import Translator

# Order matters: Edge and Opera also say "Chrome", Chrome also says "Safari".
_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("HeadlessChrome", "Chromium"),
    ("Chromium/", "Chromium"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def describe_user_agent(user_agent: str, kind: str, t: Translator) -> str:
    if kind == "api":
        return t.gettext("API client")
    browser = next((name for marker, name in _BROWSERS if marker in user_agent), None)
    system = next((name for marker, name in _SYSTEMS if marker in user_agent), None)
    if browser and system:
        return t.gettext("%(browser)s on %(system)s", browser=browser, system=system)
    if browser or system:
        return browser or system or ""
    return t.gettext("Unknown device")
