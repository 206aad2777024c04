"""Which URLs the product may fetch when a payload (a webhook, a Graph answer) names them.

A webhook body is attacker-controlled until its signature is checked, and even a signed one names
URLs we did not choose: fetching them blindly would let anyone who can make Meta carry a URL probe
our private network (SSRF). So a URL is fetched only if its host is allowed (Meta's CDNs by
default, plus the host of ``meta_graph_url``, which is the sandbox in development) and every
address it resolves to is public, unless private addresses are allowed by configuration.

Redirects are not followed by the fetcher; a redirect target is checked again like a new URL.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from socialsell.settings import Settings


class UnsafeUrl(ValueError):
    """The URL may not be fetched; the message says why (for logs, never shown to customers)."""


def _host_allowed(host: str, allowed: list[str]) -> bool:
    for entry in allowed:
        entry = entry.lower()
        if entry.startswith("."):
            if host.endswith(entry) or host == entry[1:]:
                return True
        elif host == entry:
            return True
    return False


def allowed_hosts(settings: Settings) -> list[str]:
    meta_host = (urlsplit(settings.meta_graph_url).hostname or "").lower()
    return [*settings.fetch_allowed_hosts, *([meta_host] if meta_host else [])]


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return ip.is_global and not ip.is_multicast


async def check_url(url: str, settings: Settings) -> str:
    """Return ``url`` if it may be fetched, else raise :class:`UnsafeUrl`."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        raise UnsafeUrl(f"scheme {parts.scheme!r} is not fetched")
    host = (parts.hostname or "").lower()
    if not host:
        raise UnsafeUrl("no host")
    if parts.username or parts.password:
        raise UnsafeUrl("credentials in URL")
    if not _host_allowed(host, allowed_hosts(settings)):
        raise UnsafeUrl(f"host {host} is not allowed")
    meta_host = (urlsplit(settings.meta_graph_url).hostname or "").lower()
    if settings.fetch_allow_private_hosts or host == meta_host:
        return url
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, parts.port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM
        )
    except OSError as exc:
        raise UnsafeUrl(f"host {host} does not resolve") from exc
    for info in infos:
        address = str(info[4][0])
        if not _is_public(address):
            raise UnsafeUrl(f"host {host} resolves to a private address {address}")
    return url
