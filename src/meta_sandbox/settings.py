"""Sandbox settings, read from ``SOCIALSELL_SANDBOX_*`` environment variables.

Values the reference marks as unverified or conflicting are settings, defaulting to the stricter
reading (see /work/shared/reference/meta-api.md).
"""

from __future__ import annotations

from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict


class SandboxSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SOCIALSELL_SANDBOX_", extra="ignore")

    # The app pair the product is configured with (Instagram App ID / Instagram App Secret).
    app_id: str = "sandbox-app-id"
    app_secret: str = "sandbox-app-secret"  # noqa: S105 - a well-known sandbox default
    app_name: str = "socialsell sandbox app"
    # Token the sandbox sends in the hub handshake when no other is given.
    verify_token: str = "sandbox-verify-token"  # noqa: S105
    api_version: str = "v23.0"
    # Base URL the sandbox hands out in media URLs (its own address as clients see it).
    public_url: str = "http://127.0.0.1:8100"

    # OAuth: registered redirect URIs; empty accepts any (convenient locally, Meta is strict).
    oauth_redirect_uris: list[str] = []
    oauth_code_lifetime_seconds: float = 3600.0
    short_lived_token_seconds: float = 3600.0
    long_lived_token_seconds: float = 5_184_000.0  # 60 days
    refresh_min_age_seconds: float = 86_400.0

    # Processing delays (seconds of sandbox clock).
    container_processing_seconds: float = 2.0
    container_expiry_seconds: float = 86_400.0
    template_review_seconds: float = 5.0

    # Webhooks. Retry delays are multiples of webhook_retry_base_seconds on the sandbox clock;
    # Meta retries "immediately, then with decreasing frequency" for 36 hours.
    webhook_timeout_seconds: float = 5.0
    webhook_retry_base_seconds: float = 15.0
    webhook_retry_max_age_seconds: float = 129_600.0
    webhook_batch_window_seconds: float = 0.2
    webhook_batch_max_entries: int = 1000
    webhook_callback_urls: dict[str, str] = {}  # object -> URL, trusted (no handshake)

    # Clock: real, or controlled (moved only by POST /_sandbox/clock).
    controlled_clock: bool = False

    # Rate limits (calls per rolling hour). Meta: 200 * users per app; set low in tests.
    rate_limit_calls_per_hour: int = 200  # per account (token subject)
    app_rate_limit_calls_per_hour: int = 10_000

    # Content publishing.
    publishing_quota_total: int = 100  # [U] 50 vs 100: the reference says default 100
    containers_per_day: int = 400
    caption_max_chars: int = 2200
    caption_max_hashtags: int = 5  # [U] 30 in API docs, 5 announced Dec 2025: stricter reading
    caption_max_mentions: int = 20
    image_max_bytes: int = 8 * 1024 * 1024
    messaging_window_seconds: float = 86_400.0

    # Fault plans installed at start and after each reset, e.g.
    # [{"kind": "rate_limit", "count": 2, "code": 4}]; see meta_sandbox.faults.
    fault_plans: list[dict[str, Any]] = []

    # Seed for synthetic insight values.
    insights_seed: int = 0

    state_file: str | None = None
