"""HTML pages of the accounts domain: sign in, register, sign out, settings.

Thin routes over the same service calls as accounts.api: parse the form with the API's schema,
call the service, then re-render the form with 422 and messages next to the fields, or
redirect (303 / HX-Redirect) with a toast.
"""

from __future__ import annotations

import uuid
from datetime import date
from functools import cache
from typing import Annotated, Any
from zoneinfo import available_timezones

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import JSONResponse

from socialsell.accounts import service as accounts
from socialsell.accounts.api import login_rate_limit
from socialsell.accounts.schemas import (
    AccountDelete,
    LoginIn,
    PasswordChange,
    PreferencesUpdate,
    RegisterIn,
    UserUpdate,
)
from socialsell.core.deps import (
    SESSION_COOKIE,
    CsrfProtected,
    OptionalBrowserPrincipal,
    RateLimiterDep,
    SessionDep,
    SettingsDep,
    client_ip,
    verify_csrf,
)
from socialsell.core.errors import AppError, RateLimited
from socialsell.db import rollback
from socialsell.settings import Settings
from socialsell.web.deps import PageUser, Viewer
from socialsell.web.forms import app_error_messages, form_values, parse_form
from socialsell.web.templating import (
    Translator,
    is_htmx,
    redirect,
    render,
    request_translator,
    translator,
    url_path,
)
from socialsell.web.useragent import describe_user_agent

router = APIRouter(include_in_schema=False)

NOTIFICATION_KINDS = (
    "email_new_message",
    "email_post_failed",
    "email_channel_problem",
    "in_app_new_message",
    "weekly_report",
)
# Each language is named in itself: someone who cannot read the current one still finds theirs.
LANGUAGE_NAMES = (("en", "English"), ("pt_BR", "Português (Brasil)"))


def safe_next(target: str | None) -> str:
    """Only same-site paths: ``next=//evil.example`` must not turn sign-in into an open redirect."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


def _set_session_cookie(response: Response, settings: Settings, cookie: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=settings.session_max_days * 86400,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
    )


def _user_agent(request: Request) -> str:
    return request.headers.get("user-agent", "")


def _form_status(exc: AppError) -> int:
    # A form the person can fix is 422; only a rate limit keeps its own status (and Retry-After).
    return 429 if isinstance(exc, RateLimited) else 422


# ---------------------------------------------------------------------------- sign in / up


@router.get("/login", name="accounts.login")
async def login_page(
    request: Request, principal: OptionalBrowserPrincipal, next: str = ""
) -> Response:
    if principal is not None:
        return redirect(request, safe_next(next))
    return render(request, "accounts/login.html", {"next": safe_next(next)})


@router.post("/login", name="accounts.login_submit", dependencies=[CsrfProtected])
async def login_submit(
    request: Request, session: SessionDep, settings: SettingsDep, limiter: RateLimiterDep
) -> Response:
    t = request_translator(request)
    form = await parse_form(request, LoginIn, t)
    target = safe_next((await form_values(request, ["next"])).get("next"))
    context: dict[str, Any] = {"next": target, "values": form.values, "errors": form.errors}
    if form.data is None:
        return render(request, "accounts/login.html", context, block="form", status_code=422)
    try:
        await login_rate_limit(limiter, settings, email=form.data.email, ip=client_ip(request))
        user = await accounts.authenticate(session, form.data.email, form.data.password)
    except AppError as exc:
        context["errors"] = app_error_messages(exc, t)
        return render(
            request,
            "accounts/login.html",
            context,
            block="form",
            status_code=_form_status(exc),
            headers=exc.headers,
        )
    login = await accounts.start_browser_session(
        session, settings, user, user_agent=_user_agent(request), ip_address=client_ip(request)
    )
    prefs = await accounts.get_preferences(session, user)
    welcome = translator(prefs.language).gettext("Welcome back, %(name)s.", name=user.name)
    response = redirect(request, target, toast=("success", welcome))
    _set_session_cookie(response, settings, login.cookie)
    return response


@router.get("/register", name="accounts.register")
async def register_page(request: Request, principal: OptionalBrowserPrincipal) -> Response:
    if principal is not None:
        return redirect(request, url_path(request, "web.dashboard"))
    return render(request, "accounts/register.html")


@router.post("/register", name="accounts.register_submit", dependencies=[CsrfProtected])
async def register_submit(
    request: Request, session: SessionDep, settings: SettingsDep, limiter: RateLimiterDep
) -> Response:
    t = request_translator(request)
    form = await parse_form(request, RegisterIn, t)
    context: dict[str, Any] = {"values": form.values, "errors": form.errors}
    if form.data is None:
        return render(request, "accounts/register.html", context, block="form", status_code=422)
    try:
        # The same key as the API's register route: one budget per address, whatever the door.
        await limiter.hit(settings.register_rate_limit, "register", client_ip(request))
        user = await accounts.register(session, form.data)
    except AppError as exc:
        await rollback(session)  # a lost race on the unique e-mail leaves a failed flush behind
        context["errors"] = app_error_messages(exc, t)
        return render(
            request,
            "accounts/register.html",
            context,
            block="form",
            status_code=_form_status(exc),
            headers=exc.headers,
        )
    # They registered reading this language; keep it rather than resetting them to English.
    await accounts.update_preferences(session, user, PreferencesUpdate(language=t.language))
    login = await accounts.start_browser_session(
        session, settings, user, user_agent=_user_agent(request), ip_address=client_ip(request)
    )
    response = redirect(
        request,
        url_path(request, "web.dashboard"),
        toast=("success", t.gettext("Welcome to socialsell! Your workspace is ready.")),
    )
    _set_session_cookie(response, settings, login.cookie)
    return response


@router.post("/logout", name="accounts.logout")
async def logout(
    request: Request, session: SessionDep, principal: OptionalBrowserPrincipal
) -> Response:
    t = request_translator(request)
    if principal is not None:
        # Checked only when there is a session to end: signing out with an already expired
        # session should land on the sign-in page, not on "the form has expired".
        await verify_csrf(request, principal)
        t = translator((await accounts.get_preferences(session, principal.user)).language)
        await accounts.end_session(session, principal.session, "logged_out")
    response = redirect(
        request,
        url_path(request, "accounts.login"),
        toast=("info", t.gettext("You are signed out.")),
    )
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# ---------------------------------------------------------------------------- settings


@cache
def _timezones() -> list[str]:
    return sorted(tz for tz in available_timezones() if "/" in tz or tz == "UTC")


async def _settings_context(
    request: Request, session: SessionDep, viewer: Viewer, t: Translator, **extra: Any
) -> dict[str, Any]:
    sessions = await accounts.list_sessions(session, viewer.principal)
    rows = [
        {
            "id": s.id,
            "kind": s.kind,
            "current": s.current,
            "ip_address": s.ip_address,
            "last_seen_at": s.last_seen_at,
            "last_seen": viewer.format_datetime(s.last_seen_at),
            "device": describe_user_agent(s.user_agent, s.kind, t),
        }
        for s in sessions
    ]
    context: dict[str, Any] = {
        "viewer": viewer,
        "sessions": rows,
        "timezones": _timezones(),
        "languages": LANGUAGE_NAMES,
        "themes": (
            ("system", t.gettext("System")),
            ("light", t.gettext("Light")),
            ("dark", t.gettext("Dark")),
        ),
    }
    context.update(extra)
    return context


async def _invalid(
    request: Request,
    session: SessionDep,
    viewer: Viewer,
    block: str,
    errors: dict[str, str],
    values: dict[str, str],
    *,
    status_code: int = 422,
) -> Response:
    t = request_translator(request)
    context = await _settings_context(request, session, viewer, t, errors=errors, values=values)
    return render(request, "accounts/settings.html", context, block=block, status_code=status_code)


@router.get("/settings", name="accounts.settings")
async def settings_page(request: Request, session: SessionDep, viewer: PageUser) -> Response:
    t = request_translator(request)
    return render(
        request, "accounts/settings.html", await _settings_context(request, session, viewer, t)
    )


@router.post("/settings/profile", name="accounts.update_profile", dependencies=[CsrfProtected])
async def update_profile(request: Request, session: SessionDep, viewer: PageUser) -> Response:
    t = request_translator(request)
    form = await parse_form(request, UserUpdate, t)
    if form.data is None:
        return await _invalid(request, session, viewer, "profile_form", form.errors, form.values)
    try:
        await accounts.update_profile(session, viewer.principal, form.data)
    except AppError as exc:
        await rollback(session)
        errors = app_error_messages(exc, t)
        return await _invalid(request, session, viewer, "profile_form", errors, form.values)
    return redirect(
        request,
        url_path(request, "accounts.settings", _fragment="profile"),
        toast=("success", t.gettext("Profile saved.")),
    )


@router.post("/settings/password", name="accounts.change_password", dependencies=[CsrfProtected])
async def change_password(request: Request, session: SessionDep, viewer: PageUser) -> Response:
    t = request_translator(request)
    form = await parse_form(request, PasswordChange, t)
    if form.data is None:
        return await _invalid(request, session, viewer, "password_form", form.errors, {})
    try:
        ended = await accounts.change_password(
            session, viewer.principal, form.data.current_password, form.data.new_password
        )
    except AppError as exc:
        errors = app_error_messages(exc, t)
        return await _invalid(request, session, viewer, "password_form", errors, {})
    message = t.ngettext(
        "Password changed. %(num)d other session was signed out.",
        "Password changed. %(num)d other sessions were signed out.",
        ended,
    )
    return redirect(
        request,
        url_path(request, "accounts.settings", _fragment="password"),
        toast=("success", message),
    )


@router.post(
    "/settings/preferences", name="accounts.update_preferences", dependencies=[CsrfProtected]
)
async def update_preferences(request: Request, session: SessionDep, viewer: PageUser) -> Response:
    t = request_translator(request)
    form = await parse_form(request, PreferencesUpdate, t)
    if form.data is None:
        return await _invalid(
            request, session, viewer, "preferences_form", form.errors, form.values
        )
    prefs = await accounts.update_preferences(session, viewer.user, form.data)
    # Said in the language just chosen: the next page is in it too.
    message = translator(prefs.language).gettext("Preferences saved.")
    return redirect(
        request,
        url_path(request, "accounts.settings", _fragment="preferences"),
        toast=("success", message),
    )


@router.post(
    "/settings/notifications", name="accounts.update_notifications", dependencies=[CsrfProtected]
)
async def update_notifications(request: Request, session: SessionDep, viewer: PageUser) -> Response:
    t = request_translator(request)
    # Each toggle posts "off" from a hidden input, then "on" from the checkbox when ticked.
    values = await form_values(request, NOTIFICATION_KINDS)
    data = PreferencesUpdate.model_validate(
        {"notifications": {kind: values.get(kind) == "on" for kind in values}}
    )
    await accounts.update_preferences(session, viewer.user, data)
    return redirect(
        request,
        url_path(request, "accounts.settings", _fragment="notifications"),
        toast=("success", t.gettext("Notifications saved.")),
    )


@router.post("/settings/theme", name="accounts.update_theme", dependencies=[CsrfProtected])
async def update_theme(
    theme: Annotated[str, Form()], session: SessionDep, viewer: PageUser
) -> Response:
    """The header's theme toggle saves in the background (static/js/app.js); no page change."""
    if theme not in {"system", "light", "dark"}:
        return Response(status_code=422)
    await accounts.update_preferences(
        session, viewer.user, PreferencesUpdate.model_validate({"theme": theme})
    )
    return Response(status_code=204)


async def _sessions_changed(
    request: Request, session: SessionDep, viewer: PageUser, message: str
) -> Response:
    if not is_htmx(request):
        return redirect(
            request,
            url_path(request, "accounts.settings", _fragment="sessions"),
            toast=("success", message),
        )
    t = request_translator(request)
    context = await _settings_context(request, session, viewer, t)
    return render(
        request, "accounts/settings.html", context, block="sessions", toast=("success", message)
    )


@router.post(
    "/settings/sessions/{session_id}/end",
    name="accounts.end_session",
    dependencies=[CsrfProtected],
)
async def end_session(
    session_id: uuid.UUID, request: Request, session: SessionDep, viewer: PageUser
) -> Response:
    await accounts.end_user_session(session, viewer.principal, session_id)
    t = request_translator(request)
    return await _sessions_changed(
        request, session, viewer, t.gettext("That session is signed out.")
    )


@router.post(
    "/settings/sessions/end-others",
    name="accounts.end_other_sessions",
    dependencies=[CsrfProtected],
)
async def end_other_sessions(request: Request, session: SessionDep, viewer: PageUser) -> Response:
    ended = await accounts.end_other_sessions(session, viewer.principal)
    t = request_translator(request)
    message = t.ngettext(
        "Signed out of %(num)d other session.", "Signed out of %(num)d other sessions.", ended
    )
    return await _sessions_changed(request, session, viewer, message)


@router.get("/settings/export", name="accounts.export_data")
async def export_data(session: SessionDep, viewer: PageUser) -> Response:
    data = await accounts.export_user_data(session, viewer.principal)
    filename = f"socialsell-export-{date.today().isoformat()}.json"
    return JSONResponse(
        data,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/settings/delete", name="accounts.delete_account", dependencies=[CsrfProtected])
async def delete_account(request: Request, session: SessionDep, viewer: PageUser) -> Response:
    t = request_translator(request)
    form = await parse_form(request, AccountDelete, t)
    if form.data is None:
        return await _invalid(request, session, viewer, "delete_form", form.errors, {})
    try:
        await accounts.delete_account(session, viewer.principal, form.data.password)
    except AppError as exc:
        errors = app_error_messages(exc, t)
        return await _invalid(request, session, viewer, "delete_form", errors, {})
    response = redirect(
        request,
        url_path(request, "accounts.register"),
        toast=("info", t.gettext("Your account has been deleted.")),
    )
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# ---------------------------------------------------------------------------- workspaces


@router.post("/workspaces/switch", name="accounts.switch_workspace", dependencies=[CsrfProtected])
async def switch_workspace(
    workspace_id: Annotated[uuid.UUID, Form()],
    request: Request,
    session: SessionDep,
    viewer: PageUser,
) -> Response:
    await accounts.switch_workspace(session, viewer.principal, workspace_id)
    name = next((ws.name for ws in viewer.workspaces if ws.workspace_id == workspace_id), "")
    t = request_translator(request)
    return redirect(
        request,
        url_path(request, "web.dashboard"),
        toast=("success", t.gettext("Switched to %(name)s.", name=name)),
    )
