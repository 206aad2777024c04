"""Account (``GET /{ig-user-id}/insights``) and media (``GET /{ig-media-id}/insights``) insights.

Metric names, periods, ``metric_type`` and breakdown rules follow the reference (section 4).
Values are synthetic but deterministic: a hash of (seed, object, metric, day) times a base that
grows slowly with the account's age, so the same query gives the same numbers and a dashboard
shows plausible day-by-day growth. Days are cut at 07:00 UTC (Pacific midnight) like Meta's
``end_time`` values.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from itertools import product
from typing import Any

from meta_sandbox import errors
from meta_sandbox.state import SandboxState

from .common import iso
from .models import IGAccount, Media

DAY = 86_400
DAY_OFFSET = 7 * 3600
MAX_RANGE = 30 * DAY


@dataclass(frozen=True)
class Metric:
    title: str
    description: str
    factor: float  # share of followers per day
    periods: tuple[str, ...] = ("day",)
    metric_types: tuple[str, ...] = ("total_value",)
    breakdowns: tuple[str, ...] = ()
    min_followers: int = 0
    demographic: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


ACCOUNT_METRICS: dict[str, Metric] = {
    "accounts_engaged": Metric(
        "Accounts engaged",
        "The number of accounts that have interacted with your content, including in ads.",
        0.04,
    ),
    "comments": Metric(
        "Comments",
        "The number of comments on your posts, reels, videos and live videos.",
        0.004,
        breakdowns=("media_product_type",),
    ),
    "follows_and_unfollows": Metric(
        "Follows and unfollows",
        "The number of accounts that followed you and the number of accounts that unfollowed you or left Instagram in the selected time period.",
        0.003,
        breakdowns=("follow_type",),
        min_followers=100,
    ),
    "likes": Metric(
        "Likes",
        "The number of likes on your posts, reels and videos.",
        0.05,
        breakdowns=("media_product_type",),
    ),
    "profile_links_taps": Metric(
        "Profile links taps",
        "The number of taps on your business address, call button, email button and text button.",
        0.002,
        breakdowns=("contact_button_type",),
    ),
    "reach": Metric(
        "Accounts reached",
        "The number of unique accounts that have seen your content, at least once, including in ads.",
        0.3,
        metric_types=("total_value", "time_series"),
        breakdowns=("media_product_type", "follow_type"),
    ),
    "replies": Metric(
        "Replies",
        "The number of replies you received from your story, including text replies and quick reaction replies.",
        0.002,
    ),
    "reposts": Metric("Reposts", "The number of times your content was reposted.", 0.001),
    "saves": Metric(
        "Saves",
        "The number of saves of your posts, reels and videos.",
        0.006,
        breakdowns=("media_product_type",),
    ),
    "shares": Metric(
        "Shares",
        "The number of shares of your posts, stories, reels, videos and live videos.",
        0.005,
        breakdowns=("media_product_type",),
    ),
    "total_interactions": Metric(
        "Content interactions",
        "The total number of post interactions, story interactions, reels interactions, video interactions and live video interactions, including any interactions on boosted content.",
        0.07,
        breakdowns=("media_product_type",),
    ),
    "views": Metric(
        "Views",
        "The number of times your content was played or displayed.",
        0.9,
        breakdowns=("follower_type", "media_product_type"),
    ),
    "follower_count": Metric(
        "Follower count",
        "Total number of unique accounts following this profile.",
        0.002,
        metric_types=("time_series",),
        min_followers=100,
    ),
    "online_followers": Metric(
        "Online followers",
        "Total number of this profile's followers that were online during the specified range.",
        0.5,
        periods=("lifetime",),
        metric_types=("time_series",),
    ),
    "follower_demographics": Metric(
        "Follower demographics",
        "The demographic characteristics of followers, including countries, cities and gender distribution.",
        1.0,
        periods=("lifetime",),
        breakdowns=("age", "city", "country", "gender"),
        demographic=True,
        min_followers=100,
    ),
    "engaged_audience_demographics": Metric(
        "Engaged audience demographics",
        "The demographic characteristics of the engaged audience, including countries, cities and gender distribution.",
        0.3,
        periods=("lifetime",),
        breakdowns=("age", "city", "country", "gender"),
        demographic=True,
        min_followers=100,
    ),
    "reached_audience_demographics": Metric(
        "Reached audience demographics",
        "The demographic characteristics of the reached audience, including countries, cities and gender distribution.",
        0.6,
        periods=("lifetime",),
        breakdowns=("age", "city", "country", "gender"),
        demographic=True,
        min_followers=100,
    ),
}

DEPRECATED_ACCOUNT = {
    "impressions": "Starting from version v22.0 and above, the impressions metric is no longer supported. Please use views instead.",
    "email_contacts": "email_contacts is no longer supported as a time series metric.",
    "get_direction_clicks": "get_direction_clicks is no longer supported as a time series metric.",
    "profile_views": "profile_views is no longer supported as a time series metric.",
    "text_message_clicks": "text_message_clicks is no longer supported as a time series metric.",
    "website_clicks": "website_clicks is no longer supported as a time series metric.",
    "phone_call_clicks": "phone_call_clicks is no longer supported as a time series metric.",
    "audience_city": "audience_city is deprecated; use follower_demographics with breakdown=city.",
    "audience_country": "audience_country is deprecated; use follower_demographics with breakdown=country.",
    "audience_gender_age": "audience_gender_age is deprecated; use follower_demographics with breakdown=age,gender.",
    "audience_locale": "audience_locale is deprecated.",
}

DIMENSIONS: dict[str, tuple[str, ...]] = {
    "media_product_type": ("POST", "REEL", "STORY", "AD"),
    "follow_type": ("FOLLOWER", "NON_FOLLOWER", "UNKNOWN"),
    "follower_type": ("FOLLOWER", "NON_FOLLOWER"),
    "contact_button_type": (
        "BOOK_NOW",
        "CALL",
        "DIRECTION",
        "EMAIL",
        "INSTANT_EXPERIENCE",
        "TEXT",
        "UNDEFINED",
    ),
    "age": ("13-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65+"),
    "gender": ("F", "M", "U"),
    "country": ("US", "BR", "IN", "GB", "DE", "FR", "IT", "ES", "MX", "CA"),
    "city": (
        "London, England",
        "New York, New York",
        "São Paulo, São Paulo",
        "Paris, Île-de-France",
        "Berlin, Berlin",
        "Madrid, Comunidad de Madrid",
    ),
    "action_type": ("BIO_LINK_CLICKED", "CALL", "DIRECTION", "EMAIL", "OTHER", "TEXT"),
    "story_navigation_action_type": ("SWIPE_FORWARD", "TAP_BACK", "TAP_EXIT", "TAP_FORWARD"),
}

MEDIA_COMMON = (
    "comments",
    "likes",
    "reach",
    "reposts",
    "saved",
    "shares",
    "total_interactions",
    "views",
    "facebook_views",
)
MEDIA_METRICS: dict[str, tuple[str, ...]] = {
    "FEED": (*MEDIA_COMMON, "follows", "profile_activity", "profile_visits"),
    "REELS": (
        *MEDIA_COMMON,
        "ig_reels_avg_watch_time",
        "ig_reels_video_view_total_time",
        "reels_skip_rate",
        "crossposted_views",
    ),
    "STORY": (
        "follows",
        "navigation",
        "profile_activity",
        "profile_visits",
        "reach",
        "replies",
        "reposts",
        "shares",
        "total_interactions",
        "views",
        "facebook_views",
    ),
}
MEDIA_BREAKDOWNS = {"profile_activity": "action_type", "navigation": "story_navigation_action_type"}
MEDIA_FACTORS = {
    "views": 1.4,
    "reach": 0.6,
    "likes": 0.08,
    "comments": 0.01,
    "saved": 0.012,
    "shares": 0.01,
    "total_interactions": 0.12,
    "follows": 0.003,
    "profile_visits": 0.02,
    "profile_activity": 0.01,
    "replies": 0.004,
    "reposts": 0.002,
    "facebook_views": 0.05,
    "navigation": 0.5,
    "crossposted_views": 0.1,
    "ig_reels_avg_watch_time": 0.0,
    "ig_reels_video_view_total_time": 0.0,
    "reels_skip_rate": 0.0,
}
DEPRECATED_MEDIA = {
    "plays": "The plays metric is no longer supported. Please use views instead.",
    "clips_replays_count": "The clips_replays_count metric is no longer supported.",
    "ig_reels_aggregated_all_plays_count": "The ig_reels_aggregated_all_plays_count metric is no longer supported. Please use views instead.",
    "impressions": "Starting from version v22.0 and above, the impressions metric is no longer supported. Please use views instead.",
    "video_views": "The video_views metric is no longer supported. Please use views instead.",
    "total_likes": "total_likes is only available with Instagram API with Facebook Login.",
    "total_comments": "total_comments is only available with Instagram API with Facebook Login.",
    "total_views": "total_views is only available with Instagram API with Facebook Login.",
    "link_clicks": "link_clicks is only available with Instagram API with Facebook Login.",
}
PERIODS = ("day", "week", "days_28", "month", "lifetime", "total_over_range")
IMPRESSIONS_CUTOFF = 1_719_792_000  # 2024-07-01: impressions still served for older media


def _noise(seed: int, *parts: object) -> float:
    digest = hashlib.sha256(":".join(str(p) for p in (seed, *parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _day_index(ts: float) -> int:
    return int((ts - DAY_OFFSET) // DAY)


def _day_end(index: int) -> float:
    return (index + 1) * DAY + DAY_OFFSET


def _daily(state: SandboxState, account: IGAccount, metric: str, day: int) -> int:
    m = ACCOUNT_METRICS[metric]
    age_days = max(0.0, day - _day_index(account.created_at))
    growth = 1 + 0.004 * age_days  # slow, steady audience growth
    base = max(account.followers_count, 1) * m.factor * growth
    return round(
        base * (0.75 + 0.5 * _noise(state.settings.insights_seed, account.id, metric, day))
    )


def _split(total: int, keys: tuple[str, ...], seed: int, *salt: object) -> list[int]:
    weights = [0.2 + _noise(seed, *salt, k) for k in keys]
    scale = sum(weights)
    values = [int(total * w / scale) for w in weights]
    values[0] += total - sum(values)
    return values


def _breakdown_block(total: int, dims: list[str], seed: int, *salt: object) -> list[dict[str, Any]]:
    combos = list(product(*(DIMENSIONS[d] for d in dims)))
    values = _split(total, tuple("|".join(c) for c in combos), seed, *salt, *dims)
    results = [
        {"dimension_values": list(c), "value": v}
        for c, v in zip(combos, values, strict=True)
        if v > 0
    ]
    return [{"dimension_keys": dims, "results": results}]


def _csv(value: Any) -> list[str]:
    return [v.strip() for v in str(value or "").split(",") if v.strip()]


def _time(params: dict[str, Any], name: str) -> float | None:
    if not params.get(name):
        return None
    try:
        return float(params[name])
    except ValueError as exc:
        raise errors.invalid_parameter(f"(#100) Param {name} must be a unix timestamp") from exc


def account_insights(
    state: SandboxState, account: IGAccount, params: dict[str, Any]
) -> dict[str, Any]:
    metrics = _csv(params.get("metric"))
    if not metrics:
        raise errors.invalid_parameter("(#100) The value must be a valid insights metric")
    for name in metrics:
        if name in DEPRECATED_ACCOUNT:
            raise errors.invalid_parameter(f"(#100) {DEPRECATED_ACCOUNT[name]}")
        if name not in ACCOUNT_METRICS:
            raise errors.invalid_parameter(
                "(#100) metric[0] must be one of the following values: "
                + ", ".join(ACCOUNT_METRICS)
            )
    period = str(params.get("period") or "")
    if not period:
        raise errors.invalid_parameter("(#100) The parameter period is required")
    if period not in PERIODS:
        raise errors.invalid_parameter(
            "(#100) period must be one of the following values: " + ", ".join(PERIODS)
        )
    metric_type = str(params.get("metric_type") or "")
    breakdowns = _csv(params.get("breakdown"))
    timeframe = params.get("timeframe")
    now = state.clock.now()
    since, until = _time(params, "since"), _time(params, "until")
    for name in metrics:
        m = ACCOUNT_METRICS[name]
        if period not in m.periods:
            raise errors.invalid_parameter(
                f"(#100) Incompatible period {period} for metric {name}; supported: {', '.join(m.periods)}"
            )
        if metric_type and metric_type not in m.metric_types:
            raise errors.invalid_parameter(
                f"(#100) The following metrics ({name}) should be specified with parameter metric_type={m.metric_types[0]}"
            )
        if not metric_type and m.metric_types == ("total_value",):
            raise errors.invalid_parameter(
                f"(#100) The following metrics ({name}) should be specified with parameter metric_type=total_value"
            )
        if breakdowns and metric_type != "time_series" and not set(breakdowns) <= set(m.breakdowns):
            # Meta answers an incompatible breakdown with its least helpful error.
            raise errors.GraphAPIError("An unknown error has occurred.", code=1, status_code=500)
        if m.demographic:
            if timeframe not in ("this_week", "this_month"):
                raise errors.invalid_parameter(
                    "(#100) timeframe must be one of the following values: this_week, this_month"
                )
            if since or until:
                raise errors.invalid_parameter(
                    "(#100) Demographic metrics do not support since and until"
                )
            if not breakdowns:
                raise errors.invalid_parameter(
                    "(#100) The parameter breakdown is required for demographic metrics"
                )
    if since is None and until is None:
        until, since = now, now - DAY
    elif since is None:
        assert until is not None  # noqa: S101
        since = until - DAY
    elif until is None:
        until = now
    if until - since > MAX_RANGE:
        raise errors.invalid_parameter(
            "(#100) There cannot be more than 30 days (2592000 s) between since and until"
        )
    if until < since:
        raise errors.invalid_parameter("(#100) since must be before until")
    until = min(until, now)
    data = []
    seed = state.settings.insights_seed
    for name in metrics:
        m = ACCOUNT_METRICS[name]
        if account.followers_count < m.min_followers:
            continue  # Meta returns no data rather than zeros
        item: dict[str, Any] = {
            "name": name,
            "period": period,
            "title": m.title,
            "description": m.description,
            "id": f"{account.id}/insights/{name}/{period}",
        }
        if m.demographic:
            total = int(account.followers_count * m.factor)
            item["total_value"] = {
                "value": total,
                "breakdowns": _breakdown_block(total, breakdowns, seed, account.id, name),
            }
        elif name == "online_followers":
            hours = {
                str(h): int(
                    account.followers_count * 0.5 * (0.2 + _noise(seed, account.id, "online", h))
                )
                for h in range(24)
            }
            item["values"] = [{"value": hours, "end_time": iso(_day_end(_day_index(now) - 1))}]
        elif metric_type == "time_series" or m.metric_types == ("time_series",):
            first, last = _day_index(since), _day_index(until)
            if name == "follower_count":
                last = min(last, _day_index(now) - 1)  # excludes today
                first = max(first, _day_index(now) - 30)
            item["values"] = [
                {"value": _daily(state, account, name, d), "end_time": iso(_day_end(d))}
                for d in range(first, last + 1)
            ]
        else:
            total = sum(
                _daily(state, account, name, d)
                for d in range(_day_index(since), _day_index(until) + 1)
            )
            if name in ("reach", "accounts_engaged"):
                total = int(total * 0.8)  # unique accounts overlap across days
            tv: dict[str, Any] = {"value": total}
            if breakdowns:
                tv["breakdowns"] = _breakdown_block(
                    total, breakdowns, seed, account.id, name, int(since)
                )
            item["total_value"] = tv
        data.append(item)
    return {"data": data}


def media_insights(state: SandboxState, media: Media, params: dict[str, Any]) -> dict[str, Any]:
    if media.is_carousel_child:
        raise errors.invalid_parameter("(#100) Insights are not available for carousel children")
    metrics = _csv(params.get("metric"))
    if not metrics:
        raise errors.invalid_parameter("(#100) The parameter metric is required")
    period = params.get("period")
    if period and period != "lifetime":
        raise errors.invalid_parameter("(#100) Media insights only support period=lifetime")
    product_type = media.media_product_type if media.media_product_type in MEDIA_METRICS else "FEED"
    allowed = MEDIA_METRICS[product_type]
    for name in metrics:
        if name == "impressions" and media.created_at <= IMPRESSIONS_CUTOFF:
            continue
        if name in DEPRECATED_MEDIA:
            raise errors.invalid_parameter(f"(#100) {DEPRECATED_MEDIA[name]}")
        if name not in allowed:
            raise errors.invalid_parameter(
                f"(#100) The Media Insights API does not support the {name} metric for this media product type."
            )
    now = state.clock.now()
    owner = state.instagram.accounts.get(media.owner_id)
    followers = owner.followers_count if owner else 100
    if product_type == "STORY" and now - media.created_at > DAY:
        return {"data": []}  # story insights only exist for 24 hours
    seed = state.settings.insights_seed
    age_hours = max(0.0, (now - media.created_at) / 3600)
    ramp = 1 - math.exp(-age_hours / 18)  # most engagement arrives in the first day
    breakdowns = _csv(params.get("breakdown"))
    data = []
    for name in metrics:
        noise = 0.6 + 0.8 * _noise(seed, media.id, name)
        value: float = followers * MEDIA_FACTORS.get(name, 0.01) * noise * ramp
        if name == "ig_reels_avg_watch_time":
            value = 4000 + 6000 * _noise(seed, media.id, name)  # milliseconds
        elif name == "ig_reels_video_view_total_time":
            value = followers * 1.4 * ramp * 7000 * noise
        elif name == "reels_skip_rate":
            value = round(20 + 40 * _noise(seed, media.id, name), 2)
        if name == "comments":
            value = len([c for c in state.instagram.comments.values() if c.media_id == media.id])
        number = value if name == "reels_skip_rate" else int(value)
        if product_type == "STORY" and name == "reach" and number < 5:
            raise errors.GraphAPIError(
                "(#10) Not enough viewers for the media to show insights", code=10
            )
        item: dict[str, Any] = {
            "name": name,
            "period": "lifetime",
            "values": [{"value": number}],
            "title": name.replace("_", " ").capitalize(),
            "description": f"The {name.replace('_', ' ')} of this media.",
            "id": f"{media.id}/insights/{name}/lifetime",
        }
        dim = MEDIA_BREAKDOWNS.get(name)
        if dim and (dim in breakdowns or name == "navigation"):
            item["total_value"] = {
                "value": int(number),
                "breakdowns": _breakdown_block(int(number), [dim], seed, media.id, name),
            }
        data.append(item)
    return {"data": data}
