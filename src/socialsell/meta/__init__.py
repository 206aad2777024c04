"""Typed async client for Meta's Graph API (Instagram API with Instagram Login, WhatsApp Cloud API).

Knows Meta, not socialsell: it turns HTTP into typed results and typed errors and imports nothing
else from the product. See :mod:`socialsell.meta.http` for the retry policy and
:mod:`socialsell.meta.usage` for pacing by Meta's usage headers.
"""

from socialsell.meta.client import MetaClient
from socialsell.meta.config import DEFAULT_API_VERSION, MetaConfig
from socialsell.meta.errors import (
    AuthorizationDenied,
    InvalidParameter,
    MetaError,
    OAuthError,
    OutsideMessagingWindow,
    PermissionDenied,
    RateLimited,
    TemplateError,
    TemplateNotFound,
    TemplateParamMismatch,
    TokenError,
    TokenExpired,
    TokenInvalid,
    TransientError,
)
from socialsell.meta.http import Host, MetaTransport
from socialsell.meta.instagram import InstagramClient
from socialsell.meta.models import (
    Comment,
    Container,
    Conversation,
    InsightMetric,
    InsightTotal,
    InsightValue,
    Media,
    MediaInfo,
    Message,
    Page,
    PhoneNumber,
    Profile,
    PublishingLimit,
    SendResult,
    SubscribedApp,
    Template,
    TemplateCreated,
    TokenResult,
    UserProfile,
    WhatsAppSendResult,
)
from socialsell.meta.oauth import InstagramOAuth
from socialsell.meta.paging import iterate_pages
from socialsell.meta.usage import InMemoryUsageTracker, UsageReading, UsageTracker
from socialsell.meta.whatsapp import WhatsAppClient

__all__ = [
    "DEFAULT_API_VERSION",
    "AuthorizationDenied",
    "Comment",
    "Container",
    "Conversation",
    "Host",
    "InMemoryUsageTracker",
    "InsightMetric",
    "InsightTotal",
    "InsightValue",
    "InstagramClient",
    "InstagramOAuth",
    "InvalidParameter",
    "Media",
    "MediaInfo",
    "Message",
    "MetaClient",
    "MetaConfig",
    "MetaError",
    "MetaTransport",
    "OAuthError",
    "OutsideMessagingWindow",
    "Page",
    "PermissionDenied",
    "PhoneNumber",
    "Profile",
    "PublishingLimit",
    "RateLimited",
    "SendResult",
    "SubscribedApp",
    "Template",
    "TemplateCreated",
    "TemplateError",
    "TemplateNotFound",
    "TemplateParamMismatch",
    "TokenError",
    "TokenExpired",
    "TokenInvalid",
    "TokenResult",
    "TransientError",
    "UsageReading",
    "UsageTracker",
    "UserProfile",
    "WhatsAppClient",
    "WhatsAppSendResult",
    "iterate_pages",
]
