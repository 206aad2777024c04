"""Account and media insights: metric rules, deterministic values, Meta's errors."""

from __future__ import annotations

from typing import Any

from .conftest import IG, error_of
from .shapes import assert_matches_fixture

DAY = 86_400


def insights(ig: IG, **params: Any) -> Any:
    return ig.graph.get(f"/{ig.id}/insights", params=params)


def test_total_value_with_breakdown(ig: IG) -> None:
    body = insights(
        ig,
        metric="reach,views",
        period="day",
        metric_type="total_value",
        breakdown="media_product_type",
    ).json()
    assert_matches_fixture(body, "ig_insights_total_value.json")
    reach = body["data"][0]
    assert reach["name"] == "reach"
    assert reach["id"] == f"{ig.id}/insights/reach/day"
    results = reach["total_value"]["breakdowns"][0]["results"]
    assert sum(r["value"] for r in results) == reach["total_value"]["value"]
    assert {r["dimension_values"][0] for r in results} <= {"POST", "REEL", "STORY", "AD"}


def test_values_are_deterministic_and_grow(ig: IG) -> None:
    now = int(ig.sandbox.now())
    params = {
        "metric": "reach",
        "period": "day",
        "metric_type": "time_series",
        "since": now - 29 * DAY,
        "until": now,
    }
    first = insights(ig, **params).json()
    assert insights(ig, **params).json() == first
    assert_matches_fixture(first, "ig_insights_time_series.json")
    values = first["data"][0]["values"]
    assert len(values) >= 29
    assert all(v["end_time"].endswith("T07:00:00+0000") for v in values)
    ig.sandbox.advance(59 * DAY)  # the long-lived token lasts 60 days
    later = int(ig.sandbox.now())
    grown = insights(ig, **{**params, "since": later - 29 * DAY, "until": later}).json()["data"][0][
        "values"
    ]
    assert sum(v["value"] for v in grown) > sum(v["value"] for v in values)


def test_metric_type_rules(ig: IG) -> None:
    missing = insights(ig, metric="accounts_engaged", period="day")
    assert error_of(missing)["code"] == 100
    assert "metric_type=total_value" in error_of(missing)["message"]
    series = insights(ig, metric="likes", period="day", metric_type="time_series")
    assert "metric_type=total_value" in error_of(series)["message"]
    no_period = insights(ig, metric="reach", metric_type="total_value")
    assert error_of(no_period)["code"] == 100
    bad_period = insights(ig, metric="reach", period="hour", metric_type="total_value")
    assert "period must be one of" in error_of(bad_period)["message"]


def test_invalid_and_deprecated_metrics(ig: IG) -> None:
    impressions = insights(ig, metric="impressions", period="day", metric_type="total_value")
    assert error_of(impressions)["code"] == 100
    assert "views" in error_of(impressions)["message"]
    profile_views = insights(ig, metric="profile_views", period="day")
    assert error_of(profile_views)["code"] == 100
    unknown = insights(ig, metric="happiness", period="day", metric_type="total_value")
    assert "must be one of" in error_of(unknown)["message"]


def test_range_limit_and_breakdown_errors(ig: IG) -> None:
    now = int(ig.sandbox.now())
    too_long = insights(
        ig, metric="reach", period="day", metric_type="total_value", since=now - 31 * DAY, until=now
    )
    assert error_of(too_long)["code"] == 100
    assert "30 days" in error_of(too_long)["message"]
    bad_breakdown = insights(
        ig,
        metric="replies",
        period="day",
        metric_type="total_value",
        breakdown="media_product_type",
    )
    assert error_of(bad_breakdown)["message"] == "An unknown error has occurred."


def test_demographics(ig: IG) -> None:
    body = insights(
        ig,
        metric="follower_demographics",
        period="lifetime",
        metric_type="total_value",
        timeframe="this_month",
        breakdown="country",
    ).json()
    item = body["data"][0]
    assert item["total_value"]["breakdowns"][0]["dimension_keys"] == ["country"]
    removed = insights(
        ig,
        metric="follower_demographics",
        period="lifetime",
        metric_type="total_value",
        timeframe="last_30_days",
        breakdown="age",
    )
    assert error_of(removed)["code"] == 100


def test_small_accounts_get_no_follower_metrics(ig: IG) -> None:
    small = ig.sandbox.create_account("tiny", followers_count=50)
    response = ig.sandbox.client.get(
        f"/v23.0/{small['id']}/insights",
        params={"metric": "follower_count", "period": "day", "access_token": small["access_token"]},
    )
    assert response.json() == {"data": []}


def test_media_insights(ig: IG) -> None:
    post = ig.sandbox.client.post(
        f"/_sandbox/instagram/accounts/{ig.id}/media", json={"caption": "x"}
    ).json()
    ig.sandbox.advance(3 * DAY)
    body = ig.graph.get(
        f"/{post['id']}/insights",
        params={"metric": "reach,likes,saved,views,profile_activity", "breakdown": "action_type"},
    ).json()
    assert_matches_fixture(body, "ig_media_insights.json")
    assert [m["name"] for m in body["data"]] == [
        "reach",
        "likes",
        "saved",
        "views",
        "profile_activity",
    ]
    assert all(m["period"] == "lifetime" for m in body["data"])
    assert "total_value" in body["data"][-1]
    reel_only = ig.graph.get(
        f"/{post['id']}/insights", params={"metric": "ig_reels_avg_watch_time"}
    )
    assert error_of(reel_only)["code"] == 100
    deprecated = ig.graph.get(f"/{post['id']}/insights", params={"metric": "plays"})
    assert error_of(deprecated)["code"] == 100


def test_story_with_few_viewers(ig: IG) -> None:
    small = ig.sandbox.create_account("tiny", followers_count=3)
    story = ig.sandbox.client.post(
        f"/_sandbox/instagram/accounts/{small['id']}/media", json={"media_product_type": "STORY"}
    ).json()
    ig.sandbox.advance(3600)
    response = ig.sandbox.client.get(
        f"/v23.0/{story['id']}/insights",
        params={"metric": "reach", "access_token": small["access_token"]},
    )
    assert error_of(response)["code"] == 10
    assert (
        error_of(response)["message"] == "(#10) Not enough viewers for the media to show insights"
    )
