"""The Jinja2 environment and the one way views answer with HTML.

A page and its htmx fragments come from one template: ``render(..., block="form")`` renders the
whole page for a normal request and only that ``{% block %}`` for an htmx request, so a form that
fails validation is re-rendered in place with the same markup a full page load would show.

Translations are per request: the template context carries ``gettext``/``ngettext`` bound to the
request's language (the user's preference, else Accept-Language), never a process-wide install,
because one process serves people in different languages at the same time.
"""

from __future__ import annotations

import gettext as gettext_module
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlencode, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from jinja2.runtime import Context
from markupsafe import Markup
from sqlalchemy import inspect as sa_inspect

from socialsell.accounts.service import Principal
from socialsell.core import i18n
from socialsell.core.deps import CSRF_COOKIE, CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE
from socialsell.core.security import new_token
from socialsell.web import flash

WEB_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"
MACROS = "macros/ui.html"

ToastLevel = Literal["success", "info", "warning", "error"]
LANGUAGE_COOKIE = "socialsell_lang"


# ---------------------------------------------------------------------------- translations


@dataclass(frozen=True, slots=True)
class Translator:
    """gettext for one language, usable from Python (flash messages, field errors)."""

    language: str
    catalog: gettext_module.NullTranslations

    def gettext(self, message: str, **variables: Any) -> str:
        text = self.catalog.gettext(message)
        return text % variables if variables else text

    def ngettext(self, singular: str, plural: str, n: int, **variables: Any) -> str:
        text = self.catalog.ngettext(singular, plural, n)
        variables.setdefault("num", n)
        return text % variables


@cache
def translator(language: str) -> Translator:
    return Translator(language, i18n.translations(language))


def request_language(request: Request) -> str:
    """The page's language: set by the signed-in page dependency from the user's preference,
    otherwise negotiated from the browser's Accept-Language."""
    language = getattr(request.state, "language", None)
    if isinstance(language, str) and language in i18n.SUPPORTED_LANGUAGES:
        return language
    # Pages rendered without the account (error pages, sign-in after signing out) remember the
    # language the account chose in this browser.
    remembered = request.cookies.get(LANGUAGE_COOKIE)
    if remembered in i18n.SUPPORTED_LANGUAGES:
        return str(remembered)
    return i18n.negotiate(request.headers.get("accept-language"))


def request_translator(request: Request) -> Translator:
    return translator(request_language(request))


def _jinja_gettext(t: Translator) -> Callable[..., str]:
    # The same contract as jinja2.ext's "newstyle" gettext: the translated string is marked safe
    # before %-formatting, so the variables (not the translation) are autoescaped.
    @pass_context
    def gettext(context: Context, message: str, **variables: Any) -> str:
        rv = t.catalog.gettext(message)
        if context.eval_ctx.autoescape:
            rv = Markup(rv)  # noqa: S704 - our own catalog; the variables are escaped
        return rv % variables

    return gettext


def _jinja_ngettext(t: Translator) -> Callable[..., str]:
    @pass_context
    def ngettext(context: Context, singular: str, plural: str, num: int, **variables: Any) -> str:
        variables.setdefault("num", num)
        rv = t.catalog.ngettext(singular, plural, num)
        if context.eval_ctx.autoescape:
            rv = Markup(rv)  # noqa: S704 - our own catalog; the variables are escaped
        return rv % variables

    return ngettext


# ---------------------------------------------------------------------------- environment


@cache
def static_version(path: str) -> str:
    """A short content hash for cache busting: static files can then be cached for long."""
    try:
        return hashlib.sha256((STATIC_DIR / path).read_bytes()).hexdigest()[:10]
    except OSError:
        return "0"


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,  # a typo in a template fails the view test, not silently
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Per-request callables shadow these; they only exist so the extension compiles newstyle.
    null = gettext_module.NullTranslations()
    env.install_gettext_callables(  # type: ignore[attr-defined]
        null.gettext, null.ngettext, newstyle=True
    )
    env.globals["json_attr"] = lambda value: json.dumps(value, separators=(",", ":"))
    return env


# ---------------------------------------------------------------------------- rendering


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _is_boosted(request: Request) -> bool:
    return request.headers.get("HX-Boosted") == "true"


def csrf_token_for(request: Request) -> tuple[str, bool]:
    """The token forms must send back, and whether the anonymous double-submit cookie is new."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is not None:
        # Read without a lazy load: an error page renders after the request's transaction was
        # rolled back, when the session row is expired and detached. That page has no forms.
        token = sa_inspect(principal.session).dict.get("csrf_token")
        return (token if isinstance(token, str) else ""), False
    existing = request.cookies.get(CSRF_COOKIE)
    if existing:
        return existing, False
    token = getattr(request.state, "new_csrf_cookie", None)
    if not isinstance(token, str):
        token = new_token(24)
        request.state.new_csrf_cookie = token
    return token, True


def url_path(request: Request, name: str, /, *, _fragment: str = "", **params: Any) -> str:
    """The path of a named route: views never hand-build URLs."""
    path = str(request.app.url_path_for(name, **{k: str(v) for k, v in params.items()}))
    return f"{path}#{_fragment}" if _fragment else path


def _url_for(request: Request) -> Callable[..., str]:
    def url_for(name: str, /, **params: Any) -> str:
        query = params.pop("_query", None)
        if name == "static":
            path = str(params["path"])
            return f"{request.app.url_path_for('static', path=path)}?v={static_version(path)}"
        url = str(request.app.url_path_for(name, **{k: str(v) for k, v in params.items()}))
        if query:
            url += "?" + urlencode(query)
        return url

    return url_for


def base_context(request: Request, *, full_page: bool = True) -> dict[str, Any]:
    t = request_translator(request)
    csrf_token, _ = csrf_token_for(request)
    principal: Principal | None = getattr(request.state, "principal", None)
    return {
        "request": request,
        "principal": principal,
        "language": t.language,
        "html_lang": t.language.replace("_", "-"),
        "theme": getattr(request.state, "theme", "system"),
        "theme_from_account": hasattr(request.state, "theme"),
        "gettext": _jinja_gettext(t),
        "_": _jinja_gettext(t),
        "ngettext": _jinja_ngettext(t),
        "url_for": _url_for(request),
        "csrf_token": csrf_token,
        "csrf_field": CSRF_FIELD,
        "csrf_header": CSRF_HEADER,
        "htmx": is_htmx(request),
        "current_path": request.url.path,
        # Only a full page shows (and so consumes) the flash; a fragment leaves it for later.
        "toasts": flash.read(request) if full_page else [],
        "extra_toasts": [],
        "errors": {},
        "values": {},
    }


def render_string(
    request: Request, template: str, context: Mapping[str, Any], *, block: str | None = None
) -> str:
    tpl = environment().get_template(template)
    full = base_context(request, full_page=block is None) | dict(context)
    if block is None:
        return tpl.render(full)
    if block not in tpl.blocks:
        raise KeyError(f"{template} has no block {block!r}")
    # A block rendered alone skips the layouts' top-level `{% import ... as ui with context %}`;
    # provide the same module so fragments use the same components as the page.
    full["ui"] = environment().get_template(MACROS).make_module(full)
    ctx = tpl.new_context(full)
    return "".join(tpl.blocks[block](ctx))


def finish(request: Request, response: Response) -> Response:
    """Cookie bookkeeping every HTML answer needs: the anonymous CSRF cookie when one was minted,
    and the flash cookie cleared once its toasts were shown."""
    token = getattr(request.state, "new_csrf_cookie", None)
    if isinstance(token, str):
        response.set_cookie(
            CSRF_COOKIE,
            token,
            httponly=True,
            samesite="lax",
            secure=request.app.state.settings.secure_cookies,
            path="/",
        )
    if getattr(request.state, "flash_consumed", False):
        flash.clear(response)
    language = getattr(request.state, "language", None)  # set from the account's preference
    if isinstance(language, str) and request.cookies.get(LANGUAGE_COOKIE) != language:
        response.set_cookie(
            LANGUAGE_COOKIE,
            language,
            max_age=365 * 86400,
            httponly=True,
            samesite="lax",
            secure=request.app.state.settings.secure_cookies,
            path="/",
        )
    return response


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    block: str | None = None,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
    toast: tuple[ToastLevel, str] | None = None,
) -> HTMLResponse:
    """The page, or only ``block`` for an htmx request (a boosted navigation wants the page).

    ``toast`` is shown without a reload through the ``HX-Trigger`` event that static/js/app.js
    listens to; for a full page it is rendered with the page.
    """
    fragment = block if (block and is_htmx(request) and not _is_boosted(request)) else None
    ctx = dict(context or {})
    out_headers = dict(headers or {})
    if toast is not None:
        if fragment is not None:
            out_headers["HX-Trigger"] = toast_trigger(*toast)
        else:
            ctx["extra_toasts"] = [{"level": toast[0], "message": toast[1]}]
    body = render_string(request, template, ctx, block=fragment)
    response = HTMLResponse(body, status_code=status_code, headers=out_headers)
    finish(request, response)
    return response


def toast_trigger(level: ToastLevel, message: str) -> str:
    # ensure_ascii: header values must be latin-1; JSON escapes keep "ç" and "ã" intact.
    return json.dumps({"toast": {"level": level, "message": message}}, ensure_ascii=True)


def redirect(
    request: Request,
    url: str,
    *,
    toast: tuple[ToastLevel, str] | None = None,
) -> Response:
    """Post/redirect/get: 303 for a normal form, ``HX-Redirect`` for htmx (which would otherwise
    follow the redirect itself and swap the whole next page into the form)."""
    response: Response
    if is_htmx(request):
        # Setting location to the same page plus a #fragment only scrolls: no reload, so no
        # toast and no new language. Reload the page the form is on instead.
        current = urlsplit(request.headers.get("HX-Current-URL", ""))
        if current.path and current.path == urlsplit(url).path:
            response = Response(status_code=204, headers={"HX-Refresh": "true"})
        else:
            response = Response(status_code=204, headers={"HX-Redirect": url})
    else:
        response = RedirectResponse(url, status_code=303)
    if toast is not None:
        flash.push(request, response, level=toast[0], message=toast[1])
    return finish(request, response)


async def render_error_page(
    request: Request,
    *,
    status_code: int,
    code: str,
    message: str,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The HTML face of an error (called by core.handlers): a toast for htmx, a page otherwise."""
    t = request_translator(request)
    text = t.gettext(message)
    out_headers = dict(headers or {})
    out_headers.pop("WWW-Authenticate", None)  # a browser would pop up a basic-auth dialog
    if is_htmx(request) and not _is_boosted(request):
        out_headers["HX-Trigger"] = toast_trigger("error", text)
        return HTMLResponse(text, status_code=status_code, headers=out_headers)
    body = render_string(
        request,
        "errors/error.html",
        {
            "status_code": status_code,
            "code": code,
            "message": text,
            # No route ran for an unknown address, so the session was never resolved; a session
            # cookie is enough to offer the dashboard (which re-checks it).
            "signed_in": getattr(request.state, "principal", None) is not None
            or SESSION_COOKIE in request.cookies,
        },
    )
    return finish(request, HTMLResponse(body, status_code=status_code, headers=out_headers))
