"""Gettext translations (Babel catalogs in ``socialsell/locale``), chosen per request from the
user's language preference, then the browser's Accept-Language, then English."""

from __future__ import annotations

import gettext
from functools import cache
from pathlib import Path

from babel.support import Translations

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "messages"
SUPPORTED_LANGUAGES = ("en", "pt_BR")
DEFAULT_LANGUAGE = "en"


@cache
def translations(language: str) -> gettext.NullTranslations:
    if language == DEFAULT_LANGUAGE or language not in SUPPORTED_LANGUAGES:
        return gettext.NullTranslations()
    return Translations.load(str(LOCALE_DIR), [language], DOMAIN)


def negotiate(accept_language: str | None) -> str:
    """Pick a supported language from an Accept-Language header (``pt-BR,pt;q=0.9,en;q=0.8``)."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    ranked: list[tuple[float, str]] = []
    for part in accept_language.split(","):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            continue
        ranked.append((weight, tag.strip().replace("-", "_")))
    for _, tag in sorted(ranked, key=lambda item: -item[0]):
        for supported in SUPPORTED_LANGUAGES:
            if tag.lower() == supported.lower() or supported.lower().startswith(tag.lower()):
                return supported
    return DEFAULT_LANGUAGE
