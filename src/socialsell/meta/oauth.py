"""Instagram API with Instagram Login: authorize URL, code exchange, long-lived tokens, refresh.

These calls use the app's credentials from :class:`~socialsell.meta.config.MetaConfig`, not an
account's token, so :class:`InstagramOAuth` is one per app rather than one per account.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from socialsell.meta.errors import AuthorizationDenied, OAuthError
from socialsell.meta.http import Host, MetaTransport
from socialsell.meta.models import TokenResult

# The code exchange returns no expires_in; Meta documents short-lived tokens as valid one hour.
SHORT_LIVED_TOKEN_SECONDS = 3600


class InstagramOAuth:
    def __init__(self, transport: MetaTransport) -> None:
        self._transport = transport
        self._config = transport.config

    def authorize_url(
        self,
        *,
        redirect_uri: str,
        scopes: Sequence[str],
        state: str | None = None,
        force_reauth: bool | None = None,
        enable_fb_login: bool | None = None,
    ) -> str:
        """The URL to send the user to; Meta redirects back to ``redirect_uri`` with a code."""
        if not scopes:
            raise ValueError("at least one scope is required (instagram_business_basic)")
        params: dict[str, str] = {
            "client_id": self._config.app_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": ",".join(scopes),
        }
        if state is not None:
            params["state"] = state
        if force_reauth is not None:
            params["force_reauth"] = "true" if force_reauth else "false"
        if enable_fb_login is not None:
            params["enable_fb_login"] = "true" if enable_fb_login else "false"
        return str(httpx.URL(f"{self._config.authorize_url}/oauth/authorize", params=params))

    @staticmethod
    def code_from_redirect(query: Mapping[str, str]) -> str:
        """The authorization code from the redirect's query, or the user's refusal as an error.

        Meta appends ``#_`` to the redirect; browsers drop fragments, but a code copied by hand
        may still carry it.
        """
        if "error" in query:
            message = query.get("error_description") or query.get("error") or "authorization failed"
            cls = AuthorizationDenied if query.get("error") == "access_denied" else OAuthError
            raise cls(message, error_type=query.get("error_reason"), raw=dict(query))
        code = query.get("code")
        if not code:
            raise OAuthError("the redirect carries neither a code nor an error", raw=dict(query))
        return code.removesuffix("#_")

    async def exchange_code(self, *, code: str, redirect_uri: str) -> TokenResult:
        """Authorization code -> short-lived token (valid 1 hour), with user id and permissions.

        ``user_id`` here is the Instagram-scoped user id; the professional account id used in
        paths and webhooks is ``user_id`` of :meth:`InstagramClient.get_profile`.
        """
        body = await self._transport.request_json(
            "POST",
            Host.OAUTH,
            "oauth/access_token",
            versioned=False,
            data={
                "client_id": self._config.app_id,
                "client_secret": self._config.app_secret,
                "grant_type": "authorization_code",
                "redirect_uri": redirect_uri,
                "code": code.removesuffix("#_"),
            },
        )
        # Documented shape {"data": [{...}]}; the legacy flat shape is accepted too.
        entry = body
        if isinstance(body, Mapping) and isinstance(body.get("data"), list):
            if not body["data"]:
                raise OAuthError("code exchange returned no token", raw=body)
            entry = body["data"][0]
        return self._token(entry, default_lifetime=SHORT_LIVED_TOKEN_SECONDS)

    async def exchange_for_long_lived(self, short_lived_token: str) -> TokenResult:
        """Short-lived token -> long-lived token (about 60 days). Server side only."""
        body = await self._transport.request_json(
            "GET",
            Host.INSTAGRAM,
            "access_token",
            versioned=False,
            params={
                "grant_type": "ig_exchange_token",
                "client_secret": self._config.app_secret,
                "access_token": short_lived_token,
            },
        )
        return self._token(body)

    async def refresh_long_lived(self, long_lived_token: str) -> TokenResult:
        """A long-lived token at least 24 h old and not expired -> a fresh 60-day token."""
        body = await self._transport.request_json(
            "GET",
            Host.INSTAGRAM,
            "refresh_access_token",
            versioned=False,
            params={"grant_type": "ig_refresh_token", "access_token": long_lived_token},
        )
        return self._token(body)

    def _token(self, entry: Any, *, default_lifetime: int | None = None) -> TokenResult:
        if not isinstance(entry, Mapping) or not entry.get("access_token"):
            raise OAuthError("token response carries no access_token", raw=None)
        lifetime = entry.get("expires_in")
        seconds = lifetime if isinstance(lifetime, int) else default_lifetime
        expires_at = (
            datetime.fromtimestamp(self._transport.now(), UTC) + timedelta(seconds=seconds)
            if seconds is not None
            else None
        )
        return TokenResult.model_validate({**entry, "expires_at": expires_at})
