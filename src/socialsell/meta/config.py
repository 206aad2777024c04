"""Where the Meta client talks to and how patient it is.

The product builds a :class:`MetaConfig` from its own settings; this package never reads settings
or the environment, so the same code can point at Meta or at the local sandbox (which serves every
host's paths from one base URL, hence :meth:`MetaConfig.single_host`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace
from typing import Any

import httpx

_VERSION_RE = re.compile(r"^v\d+\.\d+$")

DEFAULT_API_VERSION = "v23.0"


@dataclass(frozen=True, slots=True)
class MetaConfig:
    """Endpoints, credentials and policies of the Meta client.

    ``oauth_url`` serves the code exchange (``POST /oauth/access_token``, api.instagram.com);
    ``authorize_url`` serves the page the user is sent to (``/oauth/authorize``,
    www.instagram.com, the host Meta's current docs name; api.instagram.com is the older one).
    """

    app_id: str
    app_secret: str = field(repr=False)
    graph_url: str = "https://graph.instagram.com"
    facebook_graph_url: str = "https://graph.facebook.com"
    oauth_url: str = "https://api.instagram.com"
    authorize_url: str = "https://www.instagram.com"
    api_version: str = DEFAULT_API_VERSION

    timeout_seconds: float = 30.0
    connect_timeout_seconds: float = 10.0

    # Retry policy for transient failures: retries, not attempts (4 attempts at most by default).
    max_retries: int = 3
    backoff_base_seconds: float = 1.0
    backoff_max_seconds: float = 30.0

    # Usage-header policy (percentages are Meta's, 0-100+).
    usage_slowdown_threshold: float = 80.0
    # Delay before a call when usage is at 100 % but Meta names no time to regain access; the
    # slow-down between the threshold and 100 % grows linearly up to this value too.
    usage_slowdown_max_delay_seconds: float = 10.0
    # Longest the client will sleep on its own before a call; beyond it, RateLimited is raised
    # without calling, so a job can reschedule instead of holding a worker.
    usage_max_wait_seconds: float = 30.0
    # A reading older than this no longer slows calls down (Meta's windows roll over an hour);
    # an explicit "regain access at" time is honoured until it passes, whatever its age.
    usage_ttl_seconds: float = 600.0
    # retry_after_seconds for a rate-limit error when Meta's headers name no time.
    rate_limit_default_retry_after_seconds: float = 60.0

    def __post_init__(self) -> None:
        for name in ("graph_url", "facebook_graph_url", "oauth_url", "authorize_url"):
            value: str = getattr(self, name)
            if not value.startswith(("http://", "https://")):
                raise ValueError(f"{name} must be an http(s) URL, got {value!r}")
            # frozen dataclass: normalise once here so URL joining never doubles a slash
            object.__setattr__(self, name, value.rstrip("/"))
        if not _VERSION_RE.match(self.api_version):
            raise ValueError(f"api_version must look like 'v23.0', got {self.api_version!r}")
        if self.max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if not 0 < self.usage_slowdown_threshold < 100:
            raise ValueError("usage_slowdown_threshold must be between 0 and 100")

    @classmethod
    def single_host(
        cls, base_url: str, *, app_id: str, app_secret: str, **kwargs: Any
    ) -> MetaConfig:
        """A config whose four URLs are one base URL (the sandbox serves all hosts' paths)."""
        return cls(
            app_id=app_id,
            app_secret=app_secret,
            graph_url=base_url,
            facebook_graph_url=base_url,
            oauth_url=base_url,
            authorize_url=base_url,
            **kwargs,
        )

    def with_changes(self, **changes: Any) -> MetaConfig:
        return replace(self, **changes)

    def httpx_timeout(self) -> httpx.Timeout:
        return httpx.Timeout(self.timeout_seconds, connect=self.connect_timeout_seconds)

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if f.name != "app_secret"
        )
        return f"MetaConfig({shown}, app_secret='***')"
