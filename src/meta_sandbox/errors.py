"""Meta's Graph API error envelope and the errors the sandbox raises.

``GraphAPIError`` carries everything the envelope needs plus the HTTP status; the app's exception
handler renders ``{"error": {...}}``. Helpers build the errors named in the reference (section 6)
so every module phrases them the same way.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse


def fbtrace_id() -> str:
    # Meta's trace ids are 11 url-safe characters; clients log them for support requests.
    return secrets.token_urlsafe(8)[:11]


class GraphAPIError(Exception):
    def __init__(
        self,
        message: str,
        *,
        type: str = "OAuthException",
        code: int,
        error_subcode: int | None = None,
        status_code: int = 400,
        is_transient: bool = False,
        error_user_title: str | None = None,
        error_user_msg: str | None = None,
        error_data: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.type = type
        self.code = code
        self.error_subcode = error_subcode
        self.status_code = status_code
        self.is_transient = is_transient
        self.error_user_title = error_user_title
        self.error_user_msg = error_user_msg
        self.error_data = error_data

    def envelope(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message, "type": self.type, "code": self.code}
        if self.error_subcode is not None:
            body["error_subcode"] = self.error_subcode
        body["is_transient"] = self.is_transient
        if self.error_user_title is not None:
            body["error_user_title"] = self.error_user_title
        if self.error_user_msg is not None:
            body["error_user_msg"] = self.error_user_msg
        if self.error_data is not None:
            body["error_data"] = self.error_data
        body["fbtrace_id"] = fbtrace_id()
        return {"error": body}

    def to_response(self) -> JSONResponse:
        return JSONResponse(self.envelope(), status_code=self.status_code)


class OAuthCodeError(Exception):
    """Errors of ``api.instagram.com/oauth/access_token``, which does not use the Graph envelope:
    ``{"error_type": "OAuthException", "code": 400, "error_message": "..."}``."""

    def __init__(self, message: str, *, code: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def to_response(self) -> JSONResponse:
        return JSONResponse(
            {"error_type": "OAuthException", "code": self.code, "error_message": self.message},
            status_code=400,
        )


async def graph_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GraphAPIError)  # noqa: S101 - registered for this type only
    return exc.to_response()


async def oauth_code_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OAuthCodeError)  # noqa: S101
    return exc.to_response()


# --- helpers: the errors named in the reference -------------------------------------------------


def invalid_token() -> GraphAPIError:
    return GraphAPIError(
        "Invalid OAuth access token - Cannot parse access token", code=190, status_code=400
    )


def missing_token() -> GraphAPIError:
    return GraphAPIError(
        "An active access token must be used to query information about the current user.",
        code=2500,
    )


def expired_token(expired_at: float | None = None, now: float | None = None) -> GraphAPIError:
    fmt = "%A, %d-%b-%y %H:%M:%S UTC"
    when = time.strftime(fmt, time.gmtime(expired_at)) if expired_at else "an earlier date"
    current = time.strftime(fmt, time.gmtime(now)) if now else "later"
    return GraphAPIError(
        f"Error validating access token: Session has expired on {when}. The current time is "
        f"{current}.",
        code=190,
        error_subcode=463,
    )


def revoked_token() -> GraphAPIError:
    return GraphAPIError(
        "Error validating access token: The user has not authorized application.",
        code=190,
        error_subcode=458,
    )


def invalidated_session() -> GraphAPIError:
    return GraphAPIError(
        "Error validating access token: The session has been invalidated because the user "
        "changed their password or Facebook has changed the session for security reasons.",
        code=190,
        error_subcode=460,
    )


def permission_denied(scope: str) -> GraphAPIError:
    return GraphAPIError(
        f"(#10) Application does not have permission for this action (missing permission {scope})",
        code=10,
        status_code=403,
        error_data={"missing_permission": scope},
    )


def invalid_parameter(message: str, *, error_subcode: int | None = None) -> GraphAPIError:
    text = message if message.startswith("(#") else f"(#100) {message}"
    return GraphAPIError(text, code=100, error_subcode=error_subcode)


def unsupported_request(object_id: str, method: str = "get") -> GraphAPIError:
    return GraphAPIError(
        f"Unsupported {method.lower()} request. Object with ID '{object_id}' does not exist, "
        "cannot be loaded due to missing permissions, or does not support this operation. "
        "Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api",
        type="GraphMethodException",
        code=100,
        error_subcode=33,
    )


def unknown_path(path: str) -> GraphAPIError:
    return GraphAPIError(f"Unknown path components: /{path}", code=2500, status_code=400)


RATE_LIMIT_MESSAGES: dict[int, str] = {
    4: "(#4) Application request limit reached",
    17: "(#17) User request limit reached",
    32: "(#32) Page request limit reached",
    613: "(#613) Calls to this api have exceeded the rate limit.",
    80002: "(#80002) There have been too many calls to this Instagram account. Wait a bit and "
    "try again.",
}


def rate_limited(code: int = 4, *, error_subcode: int | None = None) -> GraphAPIError:
    message = RATE_LIMIT_MESSAGES.get(code, f"(#{code}) Rate limit hit")
    return GraphAPIError(
        message, code=code, error_subcode=error_subcode, status_code=400, is_transient=True
    )


def transient_error() -> GraphAPIError:
    return GraphAPIError(
        "An unexpected error has occurred. Please retry your request later.",
        code=2,
        status_code=500,
        is_transient=True,
    )


def unknown_error() -> GraphAPIError:
    return GraphAPIError("An unknown error has occurred.", code=1, status_code=500)


def window_closed() -> GraphAPIError:
    # IG-login APIs answer code 10 / subcode 2534022 (the reference marks it observed).
    return GraphAPIError(
        "This message is sent outside of allowed window.",
        code=10,
        error_subcode=2534022,
        error_user_title="Message can't be sent",
        error_user_msg="This message is sent outside of allowed window.",
    )


def publishing_error(code: int, subcode: int, message: str, user_msg: str) -> GraphAPIError:
    return GraphAPIError(
        message,
        code=code,
        error_subcode=subcode,
        error_user_title=message,
        error_user_msg=user_msg,
    )
