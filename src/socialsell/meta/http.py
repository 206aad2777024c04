"""The transport every Meta call goes through: URLs, auth, usage pacing, retries, errors.

Retry policy: a :class:`~socialsell.meta.errors.TransientError` is retried at most
``config.max_retries`` times (default 3 retries, so 4 attempts), after a delay of
``backoff_base_seconds * 2**retry`` capped at ``backoff_max_seconds``, with "equal jitter" (the
delay is scaled by a random factor in [0.5, 1.0]) so workers that failed together do not retry
together. Nothing else is retried: rate limits go back to the caller with ``retry_after_seconds``
because a job can wait far better than a held connection can.

A request that may have reached Meta is retried only when repeating it is harmless: GET and
DELETE, and POSTs the caller marks ``idempotent=True`` (subscriptions, mark-as-read, hiding a
comment, creating an unpublished container). For the others (sending a message,
``media_publish``), a retry happens only when Meta itself answered with a transient error envelope
or the connection was never made; a read timeout or a bare 5xx surfaces as ``TransientError`` for
the caller, who holds the idempotency key, to resolve (DESIGN "nothing done twice").

Tokens travel only in the ``Authorization`` header, except where Meta's OAuth endpoints take
them as parameters; nothing here logs parameters, bodies or query strings.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import random
import re
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import lru_cache
from types import TracebackType
from typing import Any, Self

import httpx

from socialsell.meta.config import MetaConfig
from socialsell.meta.errors import MetaError, RateLimited, TransientError, error_from_response
from socialsell.meta.usage import (
    InMemoryUsageTracker,
    UsageTracker,
    account_usage_key,
    decide,
    parse_ad_account_usage,
    parse_app_usage,
    parse_business_use_case_usage,
    retry_after_from_headers,
)

logger = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def shared_tls_context() -> ssl.SSLContext:
    """One TLS context per process: loading the CA bundle costs about 28 ms of CPU, which every
    new HTTP client would pay (a third of a post's CPU under a publishing burst)."""
    return httpx.create_ssl_context()


Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]
Jitter = Callable[[], float]

# Failures where the request certainly never reached Meta, so repeating it cannot duplicate it.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_TRANSIENT_TRANSPORT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


_SECRET_QUERY = re.compile(r"((?:access_token|client_secret|fb_exchange_token)=)[^&\s\"']+")


def _redact(value: object) -> object:
    if isinstance(value, httpx.URL | str):
        return _SECRET_QUERY.sub(r"\1***", str(value))
    return value


class _RedactSecretsFilter(logging.Filter):
    """httpx logs every request URL at INFO; the OAuth token exchanges carry secrets there."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_redact(arg) for arg in record.args)
        return True


def _install_httpx_redaction() -> None:
    httpx_logger = logging.getLogger("httpx")
    if not any(isinstance(f, _RedactSecretsFilter) for f in httpx_logger.filters):
        httpx_logger.addFilter(_RedactSecretsFilter())


class Host(enum.Enum):
    INSTAGRAM = "instagram"  # graph.instagram.com
    FACEBOOK = "facebook"  # graph.facebook.com (WhatsApp Cloud API)
    OAUTH = "oauth"  # api.instagram.com


class MetaTransport:
    """One shared ``httpx.AsyncClient`` plus the policies of :mod:`socialsell.meta`.

    Pass ``http_client`` to share a pool owned elsewhere (it is then not closed here); otherwise
    the transport creates one and closes it in :meth:`aclose` / ``async with``.
    """

    def __init__(
        self,
        config: MetaConfig,
        *,
        http_client: httpx.AsyncClient | None = None,
        usage_tracker: UsageTracker | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.time,
        jitter: Jitter = random.random,
    ) -> None:
        self.config = config
        self.usage_tracker: UsageTracker = usage_tracker or InMemoryUsageTracker()
        self._owns_client = http_client is None
        self._client = http_client or httpx.AsyncClient(
            timeout=config.httpx_timeout(), verify=shared_tls_context()
        )
        self._sleep = sleep
        self._clock = clock
        self._jitter = jitter
        self._app_key = f"app:{config.app_id}"
        _install_httpx_redaction()

    def now(self) -> float:
        """Wall-clock seconds since the epoch, from the injected clock."""
        return self._clock()

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def url(self, host: Host, path: str, *, versioned: bool = True) -> str:
        base = {
            Host.INSTAGRAM: self.config.graph_url,
            Host.FACEBOOK: self.config.facebook_graph_url,
            Host.OAUTH: self.config.oauth_url,
        }[host]
        prefix = f"{base}/{self.config.api_version}" if versioned else base
        return f"{prefix}/{path.lstrip('/')}"

    async def request_json(
        self,
        method: str,
        host: Host,
        path: str,
        *,
        versioned: bool = True,
        access_token: str | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        files: Mapping[str, Any] | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        usage_keys: Sequence[str] = (),
        idempotent: bool | None = None,
    ) -> Any:
        response = await self._send(
            method,
            self.url(host, path, versioned=versioned),
            access_token=access_token,
            params=params,
            json=json,
            data=data,
            files=files,
            content=content,
            headers=headers,
            usage_keys=usage_keys,
            idempotent=idempotent,
        )
        if not response.content:
            return {}
        try:
            return response.json()
        except ValueError:
            raise MetaError(
                "Meta answered with a body that is not JSON", http_status=response.status_code
            ) from None

    async def request_bytes(
        self, url: str, *, access_token: str | None, usage_keys: Sequence[str] = ()
    ) -> bytes:
        """GET an absolute URL (a media download link Meta handed out) with the bearer token."""
        if not self._may_send_token_to(url):
            raise ValueError("refusing to send an access token to a non-HTTPS, unknown host")
        response = await self._send(
            "GET", url, access_token=access_token, usage_keys=usage_keys, idempotent=True
        )
        return response.content

    def _may_send_token_to(self, url: str) -> bool:
        if url.startswith("https://"):
            return True
        bases = (self.config.graph_url, self.config.facebook_graph_url, self.config.oauth_url)
        return any(url == base or url.startswith(base + "/") for base in bases)

    async def _send(
        self,
        method: str,
        url: str,
        *,
        access_token: str | None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        files: Mapping[str, Any] | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        usage_keys: Sequence[str],
        idempotent: bool | None,
    ) -> httpx.Response:
        method = method.upper()
        if idempotent is None:
            idempotent = method in {"GET", "HEAD", "DELETE"}
        # Extra headers come last: the Resumable Upload API wants `Authorization: OAuth <token>`.
        headers = {
            **({"Authorization": f"Bearer {access_token}"} if access_token else {}),
            **(headers or {}),
        }
        path = httpx.URL(url).path  # never the query: OAuth endpoints carry secrets there
        retry = 0
        while True:
            await self._pace(usage_keys)
            error: MetaError
            try:
                response = await self._client.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    data=data,
                    files=files,
                    content=content,
                    headers=headers,
                )
            except _TRANSIENT_TRANSPORT as exc:
                error = TransientError(f"{type(exc).__name__} on {method} {path}")
                error.__cause__ = exc
                safe = idempotent or isinstance(exc, _NOT_SENT)
            else:
                await self._record_usage(response)
                logger.debug(
                    "meta call",
                    extra={"method": method, "path": path, "status": response.status_code},
                )
                if response.is_success:
                    return response
                error = self._error(response)
                # An error envelope means Meta processed and refused the request.
                safe = idempotent or error.code is not None
            if (
                not isinstance(error, TransientError)
                or not safe
                or retry >= self.config.max_retries
            ):
                raise error
            delay = self.backoff_delay(retry)
            logger.warning(
                "meta call failed transiently, retrying",
                extra={"method": method, "path": path, "retry": retry + 1, "delay": delay},
            )
            await self._sleep(delay)
            retry += 1

    def backoff_delay(self, retry: int) -> float:
        """Delay before retry number ``retry`` (0-based)."""
        ceiling = min(
            self.config.backoff_max_seconds, self.config.backoff_base_seconds * 2.0**retry
        )
        return ceiling * (0.5 + 0.5 * self._jitter())

    def _error(self, response: httpx.Response) -> MetaError:
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        retry_after = retry_after_from_headers(response.headers, now=self._clock())
        return error_from_response(
            response.status_code,
            body,
            retry_after_seconds=retry_after,
            default_retry_after=self.config.rate_limit_default_retry_after_seconds,
        )

    async def _pace(self, usage_keys: Sequence[str]) -> None:
        keys = [self._app_key, *(account_usage_key(key) for key in usage_keys if key)]
        readings = {}
        for key in keys:
            reading = await self.usage_tracker.get(key)
            if reading is not None:
                readings[key] = reading
        if not readings:
            return
        decision = decide(
            readings,
            now=self._clock(),
            threshold=self.config.usage_slowdown_threshold,
            max_delay_seconds=self.config.usage_slowdown_max_delay_seconds,
            max_wait_seconds=self.config.usage_max_wait_seconds,
            ttl_seconds=self.config.usage_ttl_seconds,
        )
        if decision.refuse:
            raise RateLimited(
                f"usage of {decision.key} at {decision.percent:.0f}%; not calling Meta for "
                f"{decision.delay_seconds:.0f}s",
                retry_after_seconds=decision.delay_seconds,
                called=False,
            )
        if decision.delay_seconds > 0:
            logger.info(
                "meta usage high, slowing down",
                extra={
                    "key": decision.key,
                    "percent": decision.percent,
                    "delay": decision.delay_seconds,
                },
            )
            await self._sleep(decision.delay_seconds)

    async def _record_usage(self, response: httpx.Response) -> None:
        now = self._clock()
        block = self.config.usage_slowdown_max_delay_seconds
        headers = response.headers
        app = parse_app_usage(headers.get("x-app-usage"), now=now, default_block_seconds=block)
        if app is not None:
            await self.usage_tracker.record(self._app_key, app)
        buc = parse_business_use_case_usage(
            headers.get("x-business-use-case-usage"), now=now, default_block_seconds=block
        )
        for object_id, reading in buc.items():
            await self.usage_tracker.record(account_usage_key(object_id), reading)
        ads = parse_ad_account_usage(headers.get("x-ad-account-usage"), now=now)
        if ads is not None:
            await self.usage_tracker.record(f"ads:{self.config.app_id}", ads)
