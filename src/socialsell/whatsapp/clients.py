"""WhatsApp clients for code that has settings but no process-wide Meta client (jobs, services
called from pages): each call opens and closes its own connection, so nothing outlives the
event loop that made it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from socialsell.meta import MetaConfig, MetaTransport, UsageTracker
from socialsell.meta.http import Host, shared_tls_context

# Never sends anything: requests go through a client opened per call.
_UNUSED = httpx.AsyncClient(verify=shared_tls_context())


class PerCallTransport(MetaTransport):
    """A transport whose HTTP pool lives for one request."""

    def __init__(self, config: MetaConfig, usage_tracker: UsageTracker) -> None:
        super().__init__(config, http_client=_UNUSED, usage_tracker=usage_tracker)

    def _bound(self, http: httpx.AsyncClient) -> MetaTransport:
        return MetaTransport(self.config, http_client=http, usage_tracker=self.usage_tracker)

    async def request_json(self, method: str, host: Host, path: str, **kwargs: Any) -> Any:
        async with httpx.AsyncClient(
            timeout=self.config.httpx_timeout(), verify=shared_tls_context()
        ) as http:
            return await self._bound(http).request_json(method, host, path, **kwargs)

    async def request_bytes(
        self, url: str, *, access_token: str | None, usage_keys: Sequence[str] = ()
    ) -> bytes:
        async with httpx.AsyncClient(
            timeout=self.config.httpx_timeout(), verify=shared_tls_context()
        ) as http:
            return await self._bound(http).request_bytes(
                url, access_token=access_token, usage_keys=usage_keys
            )
