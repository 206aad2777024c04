"""Runtime settings, read from the environment (prefix ``SOCIALSELL_``) and ``.env``.

Every default is the embedded mode: SQLite and local files under ``data_dir``, jobs, limits and
pub/sub in memory. Production sets a database URL, Redis and a secret, and is refused otherwise.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_SECRET_KEY = "change-me-this-is-not-a-secret-at-all"  # noqa: S105 - the sentinel production refuses


class ConfigurationError(RuntimeError):
    """A setting makes the app unsafe or impossible to start; the message is one line."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SOCIALSELL_", env_file=".env", extra="ignore", frozen=True
    )

    env: Literal["development", "production", "test"] = "development"
    data_dir: Path = Path("./data")
    database_url: str | None = None
    redis_url: str | None = None
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET_KEY)
    base_url: str = "http://127.0.0.1:8000"
    # Fernet keys for secrets at rest, newest first (see core/crypto.py). Empty: derived from
    # the secret key (embedded mode only).
    encryption_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)

    # Sessions and tokens
    access_token_minutes: int = 15
    session_idle_hours: int = 24
    session_max_days: int = 30
    max_sessions_per_user: int = 5

    # Rate limits ("N per minute" strings, parsed by `limits`)
    login_rate_limit: str = "5/minute"
    register_rate_limit: str = "10/hour"

    # Jobs and the scheduler tick
    embedded_jobs: bool | None = Field(
        default=None, description="Run jobs in the web process. Default: on unless Redis is set."
    )
    tick_seconds: float = 5.0
    # Run the scheduler tick inside `serve`. Default: on in embedded mode (no Redis).
    embedded_tick: bool | None = None
    jobs_queue_name: str = "socialsell:jobs"
    job_retry_base_seconds: float = 2.0
    job_retry_max_seconds: float = 300.0
    worker_concurrency: int = 20

    # Logging
    log_level: str = "INFO"
    log_json: bool | None = None

    # Meta (the sandbox by default)
    meta_graph_url: str = "http://127.0.0.1:8100"
    meta_oauth_url: str = "http://127.0.0.1:8100"
    meta_authorize_url: str = "http://127.0.0.1:8100"
    meta_facebook_graph_url: str = "http://127.0.0.1:8100"
    meta_api_version: str = "v23.0"
    meta_app_id: str = "sandbox-app-id"
    meta_app_secret: SecretStr = SecretStr("sandbox-app-secret")
    meta_webhook_verify_token: SecretStr = SecretStr("sandbox-verify-token")

    @field_validator("encryption_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _fill_derived(self) -> Settings:
        if self.database_url is None:
            object.__setattr__(
                self, "database_url", f"sqlite+aiosqlite:///{self.data_dir / 'socialsell.db'}"
            )
        return self

    @property
    def publishing_poll_budget(self) -> float:
        if self.publishing_inline_poll_seconds is not None:
            return self.publishing_inline_poll_seconds
        return 0.0 if self.redis_url is None else 20.0

    @property
    def publishing_in_flight_limit(self) -> int:
        if self.publishing_max_in_flight is not None:
            return self.publishing_max_in_flight
        return 60 if self.redis_url is None else 0

    @property
    def db_url(self) -> str:
        if self.database_url is None:  # pragma: no cover - the validator always fills it
            raise ConfigurationError("SOCIALSELL_DATABASE_URL is not set")
        return self.database_url

    def secret_box_keys(self) -> list[str]:
        from socialsell.core.crypto import derive_key

        if self.encryption_keys:
            return [k.get_secret_value() for k in self.encryption_keys]
        return [derive_key(self.secret_key.get_secret_value()).decode()]

    @property
    def is_sqlite(self) -> bool:
        return self.db_url.startswith("sqlite")

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def jobs_in_process(self) -> bool:
        if self.embedded_jobs is not None:
            return self.embedded_jobs
        return self.redis_url is None

    @property
    def tick_in_process(self) -> bool:
        return self.embedded_tick if self.embedded_tick is not None else self.jobs_in_process

    @property
    def json_logs(self) -> bool:
        return self.log_json if self.log_json is not None else self.is_production

    @cached_property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    def check_production(self) -> None:
        """Refuse unsafe production configurations, with a one-line reason."""
        if not self.is_production:
            return
        if self.secret_key.get_secret_value() == DEFAULT_SECRET_KEY:
            raise ConfigurationError(
                "SOCIALSELL_SECRET_KEY is the default; set a long random value for production."
            )
        if self.is_sqlite:
            raise ConfigurationError(
                "SOCIALSELL_DATABASE_URL points at SQLite; production needs PostgreSQL."
            )
        if not self.encryption_keys:
            raise ConfigurationError(
                "SOCIALSELL_ENCRYPTION_KEYS is empty; production needs its own Fernet key(s)."
            )

    # --- inbox and webhooks (issue 5) --------------------------------------------------------------
    # A stored webhook delivery not processed after this many seconds is kicked again by the tick.
    webhook_reprocess_after_seconds: float = 60.0
    # Attempts before a delivery that keeps failing (or waits for a message that never comes) is
    # given up and marked failed.
    webhook_max_attempts: int = 10
    # Processed deliveries are deleted after this many days (unprocessable and failed ones are
    # kept three times as long, for a human to look at).
    webhook_retention_days: int = 14
    # Largest webhook body accepted (Meta documents 3 MB for WhatsApp).
    webhook_max_body_bytes: int = 5 * 1024 * 1024
    # Send with Instagram's HUMAN_AGENT tag between 24 h and 7 days after the customer's last
    # message (needs Meta's approval of the Human Agent feature for the app).
    inbox_human_agent_tag: bool = True
    # Conversations read per channel and reconciliation (newest first).
    inbox_reconcile_max_conversations: int = 50
    # The live-event log (for SSE resume): kept this long, and at most this many per workspace.
    inbox_event_retention_hours: float = 24.0
    inbox_event_max_per_workspace: int = 10_000
    # Attachments copied from Meta (and uploads) larger than this are refused.
    media_max_bytes: int = 25 * 1024 * 1024
    # Lifetime of signed media URLs (those Meta fetches our images from, and the UI's).
    media_url_ttl_seconds: int = 3600
    # Hosts (exact names or ".suffix") that URLs found in webhook payloads may be fetched from.
    # The host of meta_graph_url is always allowed (the sandbox in development).
    fetch_allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: [".cdninstagram.com", ".fbcdn.net", ".fbsbx.com", ".facebook.com"]
    )
    # Allow fetching from loopback and private addresses (besides meta_graph_url's host).
    fetch_allow_private_hosts: bool = False

    @field_validator("fetch_allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip().lower() for part in value.split(",") if part.strip()]
        return value

    # --- end of inbox and webhooks ------------------------------------------------------------------

    # --- publishing (issue 6) -----------------------------------------------------------------------
    # Uploads: videos may be large (reels up to 300 MB at Meta); images are re-encoded to JPEG.
    publishing_max_upload_bytes: int = 300 * 1024 * 1024
    publishing_max_image_bytes: int = 30 * 1024 * 1024
    # Caption rules checked before scheduling. Meta's API documents 30 hashtags; Instagram
    # announced a cap of 5 in Dec 2025 (unverified for the API): lower this if Meta enforces it.
    publishing_caption_max_chars: int = 2200
    publishing_caption_max_hashtags: int = 30
    publishing_caption_max_mentions: int = 20
    # A claimed post is the publisher's for this long; a crashed publisher's post is claimed
    # again by the tick once it has passed.
    publishing_lease_seconds: float = 300.0
    # Transient failures (Meta 5xx, timeouts, rate limits) are retried this many times, after
    # base, 2*base, 4*base seconds.
    publishing_max_retries: int = 3
    publishing_retry_base_seconds: float = 30.0
    # The publisher polls a container in place for this long (1 s, 2 s, 4 s, ... apart) before
    # handing the post back to the tick to look again later. Unset: 0 in the embedded mode (no
    # job slot held while Meta processes), 20 with Redis workers, as measured best for each in
    # bench/publish_bench.py (docs/benchmarks.md).
    publishing_inline_poll_seconds: float | None = None
    # Delay before the tick looks again at a container still processing (doubles, capped at 60 s).
    publishing_poll_later_seconds: float = 5.0
    # Posts claimed per tick (the rest on the next tick).
    publishing_claim_batch: int = 200
    # Posts being published at once (in a job, or waiting a few seconds for Meta) across all
    # processes; the tick claims no more until some are done, so the posts already started are
    # finished first instead of queuing behind a burst. 0: no limit. Unset: 60 in the embedded
    # mode, no limit with Redis workers (measured as for the poll above).
    publishing_max_in_flight: int | None = None
    # Lifetime of the signed URLs handed to Meta (it downloads at container creation, video
    # during processing).
    publishing_media_url_ttl_seconds: int = 6 * 3600
    # Where media files live: "local" (data_dir/media, embedded) or "s3" (any S3-compatible store).
    storage_backend: Literal["local", "s3"] = "local"
    s3_bucket: str = "socialsell"
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key_id: SecretStr | None = None
    s3_secret_access_key: SecretStr | None = None
    # Prefix of every key in the bucket (several installations can share one bucket).
    s3_prefix: str = ""

    # --- end of publishing --------------------------------------------------------------------------

    # --- analytics (issue 7) ------------------------------------------------------------------------
    # Hour of the daily insights refresh, in each workspace's timezone.
    analytics_refresh_hour: int = Field(default=2, ge=0, le=23)
    # Each channel's daily refresh starts up to this many minutes after that hour, at random, so
    # that many channels do not all call Meta in the same minute.
    analytics_refresh_jitter_minutes: int = Field(default=60, ge=0, le=600)
    # Days fetched by a channel's first refresh, then by every daily refresh (Meta's numbers can
    # arrive up to 48 hours late, so the last days are fetched again).
    analytics_backfill_days: int = Field(default=30, ge=1, le=365)
    analytics_daily_days: int = Field(default=3, ge=1, le=30)
    # Posts of the last N days get their insights read on each refresh; older ones stop changing.
    analytics_media_days: int = Field(default=30, ge=1, le=365)
    analytics_media_limit: int = Field(default=50, ge=1, le=200)
    analytics_manual_refresh_rate_limit: str = "3/hour"
    analytics_cache_seconds: int = Field(default=3600, ge=0)
    # --- end of analytics ---------------------------------------------------------------------------
