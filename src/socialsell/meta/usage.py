"""Meta's usage headers, remembered per app and per business object.

Meta reports how much of a rate-limit window a caller has used in response headers
(``X-App-Usage``, ``X-Business-Use-Case-Usage``, ``X-Ad-Account-Usage``); throttling starts at
100 %. The transport records every reading in a :class:`UsageTracker` and consults it before the
next call on the same app or account, so the client slows down before Meta blocks it.

Keys: ``app:<app_id>`` for X-App-Usage, ``buc:<object_id>`` for each object named in
X-Business-Use-Case-Usage (the Instagram account or WhatsApp Business Account id), and
``ads:<app_id>`` for X-Ad-Account-Usage (recorded for visibility; the product makes no ads calls).

The tracker is a protocol with async methods so a Redis-backed one can replace
:class:`InMemoryUsageTracker` when several worker processes share one app's quota.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class UsageReading:
    """One observation of usage for one key.

    ``percent`` is the largest of Meta's percentages (call count, CPU time, total time), since
    the first of them to reach 100 % is the one that throttles. ``blocked_until`` is the wall-clock
    time (seconds since the epoch) before which calling is pointless, or None.
    """

    percent: float
    observed_at: float
    blocked_until: float | None = None
    call_count: float | None = None
    total_time: float | None = None
    total_cputime: float | None = None
    regain_access_minutes: float | None = None
    kind: str | None = None


class UsageTracker(Protocol):
    async def record(self, key: str, reading: UsageReading) -> None: ...

    async def get(self, key: str) -> UsageReading | None: ...


def account_usage_key(object_id: str) -> str:
    """The tracker key of one account's (business use case) usage readings."""
    return f"buc:{object_id}"


class InMemoryUsageTracker:
    """Latest reading per key, in this process's memory."""

    def __init__(self) -> None:
        self._readings: dict[str, UsageReading] = {}

    async def record(self, key: str, reading: UsageReading) -> None:
        self._readings[key] = reading

    async def get(self, key: str) -> UsageReading | None:
        return self._readings.get(key)

    def snapshot(self) -> dict[str, UsageReading]:
        return dict(self._readings)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    if isinstance(value, str):
        try:
            parsed = float(value)
        except ValueError:
            return None
        return parsed if math.isfinite(parsed) else None
    return None


def _load(header: str | None) -> Any:
    if not header:
        return None
    try:
        return json.loads(header)
    except ValueError:
        # A malformed header must not fail a call that otherwise succeeded.
        return None


def _reading(
    data: Mapping[str, Any], *, now: float, default_block_seconds: float, kind: str | None = None
) -> UsageReading:
    call_count = _number(data.get("call_count"))
    total_time = _number(data.get("total_time"))
    total_cputime = _number(data.get("total_cputime"))
    regain = _number(data.get("estimated_time_to_regain_access"))
    percent = max(
        (v for v in (call_count, total_time, total_cputime) if v is not None), default=0.0
    )
    blocked_until: float | None = None
    if regain is not None and regain > 0:
        # Meta states this one in minutes.
        blocked_until = now + regain * 60.0
    elif percent >= 100.0:
        blocked_until = now + default_block_seconds
    return UsageReading(
        percent=percent,
        observed_at=now,
        blocked_until=blocked_until,
        call_count=call_count,
        total_time=total_time,
        total_cputime=total_cputime,
        regain_access_minutes=regain,
        kind=kind,
    )


def parse_app_usage(
    header: str | None, *, now: float, default_block_seconds: float
) -> UsageReading | None:
    """``X-App-Usage: {"call_count":28,"total_time":25,"total_cputime":25}``."""
    data = _load(header)
    if not isinstance(data, Mapping):
        return None
    return _reading(data, now=now, default_block_seconds=default_block_seconds, kind="app")


def parse_business_use_case_usage(
    header: str | None, *, now: float, default_block_seconds: float
) -> dict[str, UsageReading]:
    """``X-Business-Use-Case-Usage: {"<object_id>": [{"type", "call_count", ...}, ...]}``.

    An object may carry several entries (one per use-case type); the worst one speaks for it.
    """
    data = _load(header)
    if not isinstance(data, Mapping):
        return {}
    result: dict[str, UsageReading] = {}
    for object_id, entries in data.items():
        if not isinstance(entries, list):
            continue
        readings = [
            _reading(
                entry,
                now=now,
                default_block_seconds=default_block_seconds,
                kind=entry.get("type") if isinstance(entry.get("type"), str) else None,
            )
            for entry in entries
            if isinstance(entry, Mapping)
        ]
        if readings:
            result[str(object_id)] = max(readings, key=_severity)
    return result


def parse_ad_account_usage(header: str | None, *, now: float) -> UsageReading | None:
    """``X-Ad-Account-Usage: {"acc_id_util_pct":9.67,"reset_time_duration":100,...}``."""
    data = _load(header)
    if not isinstance(data, Mapping):
        return None
    percent = _number(data.get("acc_id_util_pct"))
    if percent is None:
        return None
    reset = _number(data.get("reset_time_duration"))
    blocked_until = now + reset if percent >= 100.0 and reset else None
    return UsageReading(percent=percent, observed_at=now, blocked_until=blocked_until, kind="ads")


def _severity(reading: UsageReading) -> tuple[float, float]:
    return (reading.blocked_until or 0.0, reading.percent)


def retry_after_from_headers(headers: Mapping[str, str], *, now: float) -> float | None:
    """The longest ``estimated_time_to_regain_access`` named in a response, in seconds."""
    readings = parse_business_use_case_usage(
        headers.get("x-business-use-case-usage"), now=now, default_block_seconds=0.0
    )
    waits = [
        r.regain_access_minutes * 60.0
        for r in readings.values()
        if r.regain_access_minutes is not None and r.regain_access_minutes > 0
    ]
    return max(waits) if waits else None


@dataclass(frozen=True, slots=True)
class UsageDecision:
    """What to do before a call: wait ``delay_seconds``, or refuse when ``refuse`` is set."""

    delay_seconds: float
    refuse: bool
    key: str | None = None
    percent: float = 0.0


def decide(
    readings: Mapping[str, UsageReading],
    *,
    now: float,
    threshold: float,
    max_delay_seconds: float,
    max_wait_seconds: float,
    ttl_seconds: float,
) -> UsageDecision:
    """Slow down past ``threshold`` %, wait for a block to pass, refuse if that is too long.

    Between the threshold and 100 % the delay grows linearly from 0 to ``max_delay_seconds``.
    """
    delay = 0.0
    worst_key: str | None = None
    worst_percent = 0.0
    for key, reading in readings.items():
        if reading.blocked_until is not None and reading.blocked_until > now:
            wait = reading.blocked_until - now
        elif now - reading.observed_at > ttl_seconds or reading.blocked_until is not None:
            # Stale, or a block that has already passed: the window has moved on.
            continue
        elif reading.percent > threshold:
            fraction = min(1.0, (reading.percent - threshold) / (100.0 - threshold))
            wait = max_delay_seconds * fraction
        else:
            continue
        if wait > delay:
            delay, worst_key, worst_percent = wait, key, reading.percent
    if delay > max_wait_seconds:
        return UsageDecision(delay, refuse=True, key=worst_key, percent=worst_percent)
    return UsageDecision(delay, refuse=False, key=worst_key, percent=worst_percent)
