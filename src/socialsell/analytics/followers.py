"""Followers on each day, walked back from a channel's latest reading (see docs/analytics.md).

Kept apart from the service so that the repository can store each channel's walked series
(and the workspace's daily sum of them) when points are written.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

# Metric names as stored (the service's FOLLOWERS and NEW_FOLLOWERS).
FOLLOWERS = "followers"
NEW_FOLLOWERS = "follower_count"


def follower_series(
    days: Sequence[date],
    snapshots: dict[date, float],
    gains: dict[date, float],
) -> list[float | None]:
    """One channel's followers per day (see the module docstring). ``snapshots`` are profile
    readings; ``gains`` Meta's new followers per day."""
    if not snapshots:
        return [None] * len(days)
    anchor_day = max(snapshots)
    known: dict[date, float] = dict(snapshots)
    # Walk back from the latest reading; the reading's own day counts as 0 new followers so far
    # (Meta never serves today's number).
    value = snapshots[anchor_day]
    day = anchor_day
    earliest = min(days) if days else anchor_day
    while day > earliest:
        gained = gains.get(day)
        if gained is None and day != anchor_day:
            break
        value -= gained or 0
        day -= timedelta(days=1)
        known.setdefault(day, value)
        value = known[day]
    return [known.get(d) for d in days]


def channel_followers(snapshots: dict[date, float], gains: dict[date, float]) -> dict[date, float]:
    """A channel's known followers on every day its stored points can tell, from the day before
    its first point to its latest reading. Any overview range gets the same number for a day
    from this as from :func:`follower_series` over that range: the walk only looks at the days
    between the day and the latest reading, and stops the same way."""
    if not snapshots:
        return {}
    first = min(min(snapshots), min(gains, default=date.max)) - timedelta(days=1)
    last = max(snapshots)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return {
        d: v
        for d, v in zip(days, follower_series(days, snapshots, gains), strict=True)
        if v is not None
    }
