"""Meta's errors as typed exceptions.

Every failure of a Meta call surfaces as a :class:`MetaError` subclass chosen from the Graph error
envelope (``{"error": {"code", "error_subcode", ...}}``), the HTTP status, or the transport failure.
What an error means for a channel or a post (disconnect it, reschedule, tell the seller) is the
caller's decision; this module only names what Meta said.

Hierarchy::

    MetaError
    +-- TokenError
    |   +-- TokenExpired            190/463
    |   +-- TokenInvalid            190 with any other or no subcode (458, 459, 460, 464, 467,
    |                               492, "cannot parse access token"), 102
    +-- PermissionDenied            10, 200-299, 3, WhatsApp 131005
    +-- InvalidParameter            100, WhatsApp 131008/131009
    +-- RateLimited                 4, 17, 32, 341, 613, 80001-80014, 130429, 131048, 131056, 133016,
    |                               9/2207042 (daily publishing limit), HTTP 429
    +-- TransientError              is_transient, 1, 2, 131016, IG -1/2207001, 24/2207008, 5xx,
    |                               timeouts and connection errors
    +-- OutsideMessagingWindow      WhatsApp 131047; Instagram 10/2018278 and 10/2534022
    +-- TemplateError
    |   +-- TemplateParamMismatch   132000
    |   +-- TemplateNotFound        132001
    +-- OAuthError                  api.instagram.com's non-Graph error shape; authorize denial
        +-- AuthorizationDenied     the user pressed "cancel" on the authorize page
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# 190 subcodes meaning "this token's validity ran out" as opposed to "this token will never work
# again without the user" (password change, app removed, checkpoint, ...). The product treats
# both as "reconnect needed", but an expired token is not a security event.
_EXPIRED_SUBCODES = frozenset({463})

_RATE_LIMIT_CODES = frozenset({4, 17, 32, 341, 613, 130429, 131048, 131056, 133016})
# Business-use-case throttles: 80001 Pages, 80002 Instagram, 80004 ads, 80007 WhatsApp, ... 80014.
_BUC_RATE_LIMIT_CODES = range(80001, 80015)
_PUBLISHING_LIMIT = (9, 2207042)

_TRANSIENT_CODES = frozenset({1, 2, 131016})
# Instagram publishing pairs Meta documents as "retry": server error, container briefly unavailable.
_TRANSIENT_PAIRS = frozenset({(-1, 2207001), (24, 2207008)})

_PERMISSION_CODES = frozenset({3, 10, 131005})
_INVALID_PARAMETER_CODES = frozenset({100, 131008, 131009})

# Instagram send API: the 24-hour window is closed. 2018278 is the Messenger-platform subcode,
# 2534022 what Instagram-Login APIs return.
_IG_WINDOW_SUBCODES = frozenset({2018278, 2534022})
_WA_WINDOW_CODE = 131047

# Defaults for retry_after_seconds when Meta's headers name no time: the pair-rate limit
# (131056) clears after about 6 s, throughput (130429) within a second or so.
_RETRY_AFTER_BY_CODE: Mapping[int, float] = {131056: 6.0, 130429: 1.0}


class MetaError(Exception):
    """An error answered by (or on the way to) Meta.

    ``raw`` is the decoded response body when there was one; it never holds the access token.
    """

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        subcode: int | None = None,
        error_type: str | None = None,
        fbtrace_id: str | None = None,
        user_title: str | None = None,
        user_msg: str | None = None,
        is_transient: bool = False,
        http_status: int | None = None,
        details: str | None = None,
        raw: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.subcode = subcode
        self.error_type = error_type
        self.fbtrace_id = fbtrace_id
        self.user_title = user_title
        self.user_msg = user_msg
        self.is_transient = is_transient
        self.http_status = http_status
        self.details = details
        self.raw = raw

    def __str__(self) -> str:
        parts = [self.message]
        if self.code is not None:
            parts.append(f"code={self.code}")
        if self.subcode is not None:
            parts.append(f"subcode={self.subcode}")
        if self.http_status is not None:
            parts.append(f"http={self.http_status}")
        if self.fbtrace_id:
            parts.append(f"fbtrace_id={self.fbtrace_id}")
        return " ".join(parts)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, code={self.code}, subcode={self.subcode})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Exceptions pickle as cls(*args), which loses the keyword-only fields; job brokers and
        # multiprocessing pickle exceptions, so rebuild from the full state instead.
        return (_rebuild, (type(self), self.message, dict(self.__dict__)))


def _rebuild(cls: type[MetaError], message: str, state: dict[str, Any]) -> MetaError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class TokenError(MetaError):
    """The access token cannot be used (code 190 family); the user must reconnect or refresh."""


class TokenExpired(TokenError):
    pass


class TokenInvalid(TokenError):
    pass


class PermissionDenied(MetaError):
    pass


class InvalidParameter(MetaError):
    pass


class RateLimited(MetaError):
    """Meta throttled the call, or the client refused to call because usage is at its limit.

    ``retry_after_seconds`` comes from ``estimated_time_to_regain_access`` when Meta names it,
    otherwise from a per-code default. ``called`` is False when the client raised this from the
    usage headers without sending the request.
    """

    def __init__(
        self, message: str, *, retry_after_seconds: float, called: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.retry_after_seconds = retry_after_seconds
        self.called = called


class TransientError(MetaError):
    """Meta or the network failed in a way that may succeed if tried again later."""


class OutsideMessagingWindow(MetaError):
    """The customer-service window is closed: only templates (WhatsApp) or tagged messages."""


class TemplateError(MetaError):
    pass


class TemplateParamMismatch(TemplateError):
    pass


class TemplateNotFound(TemplateError):
    pass


class OAuthError(MetaError):
    pass


class AuthorizationDenied(OAuthError):
    pass


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return None
    return None


def _as_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _class_for(
    code: int | None, subcode: int | None, is_transient: bool, http_status: int | None
) -> type[MetaError]:
    # Order matters: specific meanings (window, template) before the broad families their codes
    # share (10 is also "permission"), and throttling before "is_transient" (Meta sets both).
    if code == _WA_WINDOW_CODE or (code == 10 and subcode in _IG_WINDOW_SUBCODES):
        return OutsideMessagingWindow
    if code == 132000:
        return TemplateParamMismatch
    if code == 132001:
        return TemplateNotFound
    if code == 190:
        return TokenExpired if subcode in _EXPIRED_SUBCODES else TokenInvalid
    if code == 102:
        return TokenInvalid
    if (
        code in _RATE_LIMIT_CODES
        or (code is not None and code in _BUC_RATE_LIMIT_CODES)
        or (code, subcode) == _PUBLISHING_LIMIT
    ):
        return RateLimited
    if is_transient or code in _TRANSIENT_CODES or (code, subcode) in _TRANSIENT_PAIRS:
        return TransientError
    if code in _PERMISSION_CODES or (code is not None and 200 <= code <= 299):
        return PermissionDenied
    if code in _INVALID_PARAMETER_CODES:
        return InvalidParameter
    if code is None and http_status == 429:
        return RateLimited
    if http_status is not None and http_status >= 500:
        return TransientError
    return MetaError


def error_from_response(
    http_status: int, body: Any, *, retry_after_seconds: float | None, default_retry_after: float
) -> MetaError:
    """Build the exception for an unsuccessful response.

    ``body`` is the decoded JSON (or None when the body was not JSON); ``retry_after_seconds`` is
    what the usage headers of this response name, if anything.
    """
    envelope = body.get("error") if isinstance(body, Mapping) else None
    if isinstance(envelope, Mapping):
        code = _as_int(envelope.get("code"))
        subcode = _as_int(envelope.get("error_subcode"))
        is_transient = envelope.get("is_transient") is True
        error_data = envelope.get("error_data")
        details = _as_str(error_data.get("details")) if isinstance(error_data, Mapping) else None
        message = _as_str(envelope.get("message")) or f"Meta error (HTTP {http_status})"
        kwargs: dict[str, Any] = {
            "code": code,
            "subcode": subcode,
            "error_type": _as_str(envelope.get("type")),
            "fbtrace_id": _as_str(envelope.get("fbtrace_id")),
            "user_title": _as_str(envelope.get("error_user_title")),
            "user_msg": _as_str(envelope.get("error_user_msg")),
            "is_transient": is_transient,
            "http_status": http_status,
            "details": details,
            "raw": body,
        }
    elif isinstance(body, Mapping) and "error_message" in body:
        # api.instagram.com's OAuth endpoints answer {"error_type", "code", "error_message"}.
        return OAuthError(
            _as_str(body.get("error_message")) or "OAuth error",
            code=_as_int(body.get("code")),
            error_type=_as_str(body.get("error_type")),
            http_status=http_status,
            raw=body,
        )
    else:
        code = subcode = None
        is_transient = False
        message = f"Meta answered HTTP {http_status} without an error envelope"
        kwargs = {"http_status": http_status, "raw": body}

    cls = _class_for(code, subcode, is_transient, http_status)
    if cls is RateLimited:
        if retry_after_seconds is None:
            retry_after_seconds = _RETRY_AFTER_BY_CODE.get(code or 0, default_retry_after)
        return RateLimited(message, retry_after_seconds=retry_after_seconds, **kwargs)
    return cls(message, **kwargs)
