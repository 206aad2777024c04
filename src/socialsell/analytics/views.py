"""HTML pages of analytics: the Analytics page (range, channel, charts, best posts, exports) and
the manual refresh. Same service calls as analytics.api; charts get their numbers from a JSON
block drawn by static/js/analytics.js (the CSP allows no inline script)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from babel.dates import format_date
from babel.numbers import format_decimal, format_percent
from fastapi import APIRouter, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.routing import NoMatchFound

from socialsell.analytics import dashboard as dashboard_reads
from socialsell.analytics import service
from socialsell.analytics.api import XLSX_TYPE, csv_bytes, xlsx_bytes
from socialsell.analytics.cache import build_cache
from socialsell.analytics.schemas import Overview, PostRead
from socialsell.analytics.tasks import refresh_channel_insights
from socialsell.core.deps import CsrfProtected, RateLimiterDep, SessionDep, SettingsDep
from socialsell.core.errors import AppError, ValidationFailed
from socialsell.core.jobs import JobRuntime
from socialsell.settings import Settings
from socialsell.web.deps import PageUser, Viewer
from socialsell.web.templating import Translator, redirect, render, request_translator, url_path

router = APIRouter(include_in_schema=False)

RANGES = (7, 30, 90)
POST_COLUMNS = ("reach", "views", "total_interactions", "likes", "comments", "saved", "shares")


def N_(message: str) -> str:  # gettext's no-op marker: extracted, translated at render time
    return message


# The service's reasons for a missing number (English in the API), translated on the page.
SERVICE_MESSAGES = (
    N_("Instagram sent no number for this day (it can arrive up to 48 hours late)."),
    N_("Instagram serves new followers for the last 30 days only."),
    N_(
        "Instagram sent no number for this day (it can arrive up to 48 hours late, and new "
        "followers are only given from 100 followers on)."
    ),
)

METRIC_LABELS = {
    "reach": N_("Reach"),
    "views": N_("Views"),
    "total_interactions": N_("Interactions"),
    "accounts_engaged": N_("Accounts engaged"),
    "likes": N_("Likes"),
    "comments": N_("Comments"),
    "saves": N_("Saves"),
    "saved": N_("Saves"),
    "shares": N_("Shares"),
    "replies": N_("Replies"),
    "reposts": N_("Reposts"),
    "profile_links_taps": N_("Profile link taps"),
    "follows_and_unfollows": N_("Follows and unfollows"),
    "follower_count": N_("New followers"),
    "followers": N_("Followers"),
    "engagement_rate": N_("Engagement rate"),
    "posted_at": N_("Date"),
}


def _number(value: float | None, language: str) -> str:
    return "—" if value is None else format_decimal(round(value), locale=language)


def _percent(value: float | None, language: str) -> str:
    return "—" if value is None else format_percent(value, format="#,##0.0%", locale=language)


def _change(value: float | None, language: str, *, points: bool = False) -> dict[str, Any] | None:
    """A change for a card: its text and whether it went up or down."""
    if value is None:
        return None
    sign = "+" if value > 0 else ""
    text = (
        f"{sign}{format_decimal(round(value), locale=language)}"
        if points
        else f"{sign}{format_decimal(round(value, 1), locale=language)}%"
    )
    return {"text": text, "direction": "up" if value > 0 else "down" if value < 0 else "flat"}


@dataclass(frozen=True, slots=True)
class Filters:
    preset: str  # "7", "30", "90" or "custom"
    start: date
    end: date
    channel_id: uuid.UUID | None
    sort: str


def _parse_filters(request: Request) -> tuple[Filters, list[str]]:
    """Lenient: a bad value falls back to the default with a message, never an error page."""
    q = request.query_params
    problems: list[str] = []
    preset = q.get("range", "30")
    channel_id: uuid.UUID | None = None
    if q.get("channel"):
        try:
            channel_id = uuid.UUID(q["channel"])
        except ValueError:
            problems.append(N_("That channel does not exist; showing every channel."))
    sort = q.get("sort", "engagement_rate")
    if sort not in service.POST_SORTS:
        sort = "engagement_rate"
    default = service.resolve_range(None, None, days=30)
    if preset == "custom":
        try:
            start = date.fromisoformat(q.get("from", ""))
            end = date.fromisoformat(q.get("to", ""))
            rng = service.resolve_range(start, end)
        except (ValueError, AppError):
            problems.append(N_("The dates were not valid; showing the last 30 days."))
            preset, rng = "30", default
    else:
        days = int(preset) if preset.isdigit() and int(preset) in RANGES else 30
        preset = str(days)
        rng = service.resolve_range(None, None, days=days)
    return Filters(preset, rng.start, rng.end, channel_id, sort), problems


def _query(f: Filters, **override: Any) -> str:
    params: dict[str, Any] = {"range": f.preset, "sort": f.sort}
    if f.preset == "custom":
        params |= {"from": f.start.isoformat(), "to": f.end.isoformat()}
    if f.channel_id:
        params["channel"] = str(f.channel_id)
    params |= override
    return urlencode({k: v for k, v in params.items() if v is not None})


def _post_row(p: PostRead, language: str, t: Translator) -> dict[str, Any]:
    caption = (p.caption or "").strip()
    thumbnail = (
        p.thumbnail_url if p.thumbnail_url and p.thumbnail_url.startswith("https://") else None
    )
    return {
        "id": str(p.id),
        "caption": (caption[:80] + "…")
        if len(caption) > 80
        else caption or t.gettext("(no caption)"),
        "permalink": p.permalink,
        "thumbnail": thumbnail,
        "type": p.media_product_type or "FEED",
        "posted": format_date(p.posted_at, format="medium", locale=language)
        if p.posted_at
        else "—",
        "cells": [_number(p.metrics.get(m), language) for m in POST_COLUMNS],
        "rate": _percent(p.engagement_rate, language),
    }


def chart_data(ov: Overview, language: str, t: Translator) -> dict[str, Any]:
    """What static/js/analytics.js draws: labels and series, with None where unknown."""
    return {
        "days": [d.isoformat() for d in ov.series.days],
        "labels": [format_date(d, format="d MMM", locale=language) for d in ov.series.days],
        "followers": ov.series.followers,
        "reach": ov.series.reach,
        "interactions": ov.series.interactions,
        "engagement": [None if v is None else round(v * 100, 2) for v in ov.series.engagement_rate],
        "posts": {
            "labels": [
                ((p.caption or "").strip()[:24] or t.gettext("(no caption)")) for p in ov.top_posts
            ],
            "reach": [p.metrics.get("reach") for p in ov.top_posts],
            "interactions": [p.metrics.get("total_interactions") for p in ov.top_posts],
        },
        "i18n": {
            "followers": t.gettext("Followers"),
            "reach": t.gettext("Reach"),
            "interactions": t.gettext("Interactions"),
            "engagement": t.gettext("Engagement rate (%)"),
        },
    }


def _compare_hint(change: float | None, t: Translator) -> str:
    if change is None:
        return t.gettext("no earlier numbers to compare with")
    return t.gettext("vs the previous period")


def cards(ov: Overview, language: str, t: Translator) -> list[dict[str, Any]]:
    totals = {m.metric: m for m in ov.totals}
    return [
        {
            "label": t.gettext("Followers"),
            "value": _number(ov.followers.current, language),
            "change": _change(ov.followers.change, language, points=True),
            "hint": t.gettext("change in the period"),
        },
        {
            "label": t.gettext("Reach"),
            "value": _number(totals["reach"].value, language),
            "change": _change(totals["reach"].change_pct, language),
            "hint": _compare_hint(totals["reach"].change_pct, t),
        },
        {
            "label": t.gettext("Interactions"),
            "value": _number(totals["total_interactions"].value, language),
            "change": _change(totals["total_interactions"].change_pct, language),
            "hint": _compare_hint(totals["total_interactions"].change_pct, t),
        },
        {
            "label": t.gettext("Engagement rate"),
            "value": _percent(ov.engagement.rate, language),
            "change": _change(ov.engagement.change_pct, language),
            "hint": t.gettext("interactions ÷ reach"),
        },
    ]


@router.get("/analytics", name="web.analytics")
async def analytics_page(
    request: Request, viewer: PageUser, session: SessionDep, settings: SettingsDep
) -> Response:
    t = request_translator(request)
    language = viewer.preferences.language
    filters, problems = _parse_filters(request)
    rng = service.DateRange(filters.start, filters.end)
    try:
        ov = await service.overview(
            session, build_cache(settings), viewer.principal, rng, filters.channel_id,
            sort=filters.sort, top=20,
        )  # fmt: skip
    except AppError:
        problems.append(N_("That channel does not exist; showing every channel."))
        filters = Filters(filters.preset, filters.start, filters.end, None, filters.sort)
        ov = await service.overview(
            session, build_cache(settings), viewer.principal, rng, None, sort=filters.sort, top=20
        )
    all_channels = await service.overview_channels(session, viewer.principal)
    base = url_path(request, "web.analytics")
    export_query = urlencode(
        {"from": ov.start.isoformat(), "to": ov.end.isoformat()}
        | ({"channel": str(filters.channel_id)} if filters.channel_id else {})
    )
    context = {
        "viewer": viewer,
        "filters": filters,
        "ranges": [
            (
                str(d),
                t.gettext("%(days)s days", days=d),
                f"{base}?{_query(filters, range=str(d), **{'from': None, 'to': None})}",
            )
            for d in RANGES
        ],
        "custom_active": filters.preset == "custom",
        "channels": all_channels,
        "overview": ov,
        "cards": cards(ov, language, t),
        "chart": chart_data(ov, language, t),
        "posts": [_post_row(p, language, t) for p in ov.top_posts],
        "post_columns": [(m, t.gettext(METRIC_LABELS[m])) for m in POST_COLUMNS],
        "sort_url": lambda column: f"{base}?{_query(filters, sort=column)}",
        "missing": [
            {
                "label": t.gettext(METRIC_LABELS.get(m.metric, m.metric)),
                "days": m.days,
                "reason": t.gettext(m.reason),
            }
            for m in ov.missing
            if m.metric in {"reach", "total_interactions", "follower_count", "views"}
        ],
        "problems": [t.gettext(p) for p in problems],
        "range_text": t.gettext(
            "%(start)s to %(end)s, compared with %(pstart)s to %(pend)s",
            start=format_date(ov.start, format="medium", locale=language),
            end=format_date(ov.end, format="medium", locale=language),
            pstart=format_date(ov.previous_start, format="medium", locale=language),
            pend=format_date(ov.previous_end, format="medium", locale=language),
        ),
        "csv_url": f"{url_path(request, 'analytics.export_csv')}?{export_query}",
        "xlsx_url": f"{url_path(request, 'analytics.export_xlsx')}?{export_query}",
        "states": {c.id: c for c in ov.channels},
        "format_moment": viewer.format_datetime,
    }
    return render(request, "analytics/index.html", context)


@router.post(
    "/analytics/channels/{channel_id}/refresh",
    name="analytics.refresh",
    dependencies=[CsrfProtected],
)
async def refresh(
    request: Request,
    channel_id: uuid.UUID,
    viewer: PageUser,
    session: SessionDep,
    settings: SettingsDep,
    limiter: RateLimiterDep,
) -> Response:
    t = request_translator(request)
    back = url_path(request, "web.analytics")
    await service.get_refreshable_channel(session, viewer.principal, channel_id)
    await limiter.hit(
        settings.analytics_manual_refresh_rate_limit, "analytics-refresh", str(channel_id)
    )
    if await service.request_refresh(session, settings, viewer.principal, channel_id):
        jobs: JobRuntime = request.app.state.jobs
        jobs.enqueue(session, refresh_channel_insights, str(channel_id))
        return redirect(
            request,
            back,
            toast=("success", t.gettext("Refreshing; new numbers appear in a minute or two.")),
        )
    return redirect(request, back, toast=("info", t.gettext("A refresh is already running.")))


async def _export(request: Request, viewer: PageUser, session: SessionDep) -> tuple[str, bytes]:
    q = request.query_params
    channel_id = None
    try:
        start = date.fromisoformat(q["from"]) if q.get("from") else None
        end = date.fromisoformat(q["to"]) if q.get("to") else None
        channel_id = uuid.UUID(q["channel"]) if q.get("channel") else None
    except ValueError as exc:
        raise ValidationFailed("The export's dates or channel are not valid.") from exc
    rng = service.resolve_range(start, end)
    header, rows = await service.export_rows(session, viewer.principal, rng, channel_id)
    return f"socialsell-analytics-{rng.start}-{rng.end}", csv_bytes(
        header, rows
    ) if request.url.path.endswith(".csv") else xlsx_bytes(header, rows)


@router.get("/analytics/export.csv", name="analytics.export_csv")
async def export_csv(request: Request, viewer: PageUser, session: SessionDep) -> Response:
    name, body = await _export(request, viewer, session)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


@router.get("/analytics/export.xlsx", name="analytics.export_xlsx")
async def export_xlsx(request: Request, viewer: PageUser, session: SessionDep) -> Response:
    name, body = await _export(request, viewer, session)
    return Response(
        body,
        media_type=XLSX_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
    )


# --- the dashboard -------------------------------------------------------------------------------

ACTIVITY_TEXT = {
    "conversation": N_("New conversation with %(who)s"),
    "published": N_("Post published"),
    "failed": N_("Post failed to publish"),
}


def _link(request: Request, name: str, **params: Any) -> str | None:
    try:
        return url_path(request, name, **params)
    except NoMatchFound:  # a page of a domain that is not installed in this version
        return None


async def dashboard(
    request: Request, viewer: Viewer, session: AsyncSession, settings: Settings
) -> Response:
    """The home page: today's work (messages, unread, posts coming up), the audience (followers,
    engagement), what happened lately, and quick actions. Every card links to its source."""
    t = request_translator(request)
    language = viewer.preferences.language
    principal = viewer.principal
    rng = service.resolve_range(None, None, days=30)
    ov = await service.overview(session, build_cache(settings), principal, rng, top=0)
    messages = await dashboard_reads.messages_today(session, principal, viewer.preferences.timezone)
    unread = await dashboard_reads.unread_conversations(session, principal)
    scheduled = await dashboard_reads.scheduled_next_week(session, principal)
    activity = await dashboard_reads.recent_activity(session, principal)
    inbox_url = _link(request, "web.inbox")
    calendar_url = _link(request, "web.calendar")
    analytics_url = url_path(request, "web.analytics")
    unavailable = t.gettext("Not available yet")

    def count(value: int | None) -> str:
        return unavailable if value is None else format_decimal(value, locale=language)

    stats = [
        {
            "key": "messages",
            "label": t.gettext("Messages today"),
            "value": count(messages),
            "hint": t.gettext("from customers since midnight"),
            "href": inbox_url,
            "change": None,
        },
        {
            "key": "unread",
            "label": t.gettext("Unread conversations"),
            "value": count(unread),
            "hint": t.gettext("waiting for an answer"),
            "href": inbox_url,
            "change": None,
        },
        {
            "key": "scheduled",
            "label": t.gettext("Posts scheduled"),
            "value": count(scheduled),
            "hint": t.gettext("in the next 7 days"),
            "href": calendar_url,
            "change": None,
        },
        {
            "key": "followers",
            "label": t.gettext("Followers"),
            "value": _number(ov.followers.current, language),
            "hint": t.gettext("change over 30 days"),
            "href": analytics_url,
            "change": _change(ov.followers.change, language, points=True),
        },
        {
            "key": "engagement",
            "label": t.gettext("Engagement rate"),
            "value": _percent(ov.engagement.rate, language),
            "hint": t.gettext("last 30 days vs the 30 before"),
            "href": analytics_url,
            "change": _change(ov.engagement.change_pct, language),
        },
    ]
    feed = []
    for item in activity or []:
        if item.kind == "notification":
            title, link = item.title, item.link
        else:
            title = t.gettext(ACTIVITY_TEXT[item.kind], who=item.title or t.gettext("a customer"))
            if item.kind == "conversation":
                link = (
                    _link(request, "inbox.conversation", conversation_id=item.object_id)
                    or inbox_url
                )
            else:
                link = calendar_url
        # Links come from our own rows; only paths on this site are followed.
        safe = link if link and link.startswith("/") and not link.startswith("//") else None
        detail = item.detail if item.kind != "published" else item.title
        feed.append(
            {
                "kind": item.kind,
                "severity": item.severity,
                "title": title,
                "detail": detail,
                "when": viewer.format_datetime(item.at),
                "href": safe,
            }
        )
    spark = {
        "labels": [format_date(d, format="d MMM", locale=language) for d in ov.series.days],
        "engagement": [None if v is None else round(v * 100, 2) for v in ov.series.engagement_rate],
        "i18n": {"engagement": t.gettext("Engagement rate (%)")},
    }
    return render(
        request,
        "web/dashboard.html",
        {
            "viewer": viewer,
            "stats": stats,
            "feed": feed,
            "feed_available": activity is not None,
            "has_channels": bool(ov.channels),
            "spark": spark,
            "inbox_url": inbox_url,
            "calendar_url": calendar_url,
        },
    )
