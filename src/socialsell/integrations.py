"""Building the product's outside connections from settings: the Meta client and the box that
encrypts tokens. Web processes keep one of each on ``app.state``; jobs build them per process."""

from __future__ import annotations

from functools import lru_cache

from socialsell.core.crypto import SecretBox
from socialsell.meta import InMemoryUsageTracker, MetaClient, MetaConfig
from socialsell.settings import Settings

# Usage readings are per process for now; a Redis-backed tracker can share them later.
_usage = InMemoryUsageTracker()


def meta_config(settings: Settings) -> MetaConfig:
    return MetaConfig(
        app_id=settings.meta_app_id,
        app_secret=settings.meta_app_secret.get_secret_value(),
        graph_url=settings.meta_graph_url,
        facebook_graph_url=settings.meta_facebook_graph_url,
        oauth_url=settings.meta_oauth_url,
        authorize_url=settings.meta_authorize_url,
        api_version=settings.meta_api_version,
    )


def usage_tracker() -> InMemoryUsageTracker:
    """The process's usage readings (shared by every Meta client built here)."""
    return _usage


def build_meta_client(settings: Settings) -> MetaClient:
    return MetaClient(meta_config(settings), usage_tracker=_usage)


@lru_cache(maxsize=8)
def _box(keys: tuple[str, ...]) -> SecretBox:
    return SecretBox(list(keys))


def secret_box(settings: Settings) -> SecretBox:
    return _box(tuple(settings.secret_box_keys()))
