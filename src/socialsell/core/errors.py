"""Errors that carry their meaning: a stable ``code``, a human message and the HTTP status.

Every error the API returns, ours or the framework's (404, 405, 422, 500), is rendered by
:func:`envelope` into one JSON shape, so clients handle errors in one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    message: str


class AppError(Exception):
    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    default_message: ClassVar[str] = "The request could not be handled."
    # Most errors undo the request's changes. Some are the outcome of a change that must be
    # kept (a session ended because its refresh token was replayed): those commit, then answer.
    keep_changes: ClassVar[bool] = False

    def __init__(
        self,
        message: str | None = None,
        *,
        errors: Sequence[FieldError] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.errors = list(errors)
        self.headers = headers or {}
        super().__init__(self.message)


class ValidationFailed(AppError):
    status_code = 422
    code = "validation_error"
    default_message = "Some fields are not valid."


class NotAuthenticated(AppError):
    status_code = 401
    code = "not_authenticated"
    default_message = "Sign in to continue."

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(message, **kwargs)


class InvalidCredentials(NotAuthenticated):
    code = "invalid_credentials"
    default_message = "The e-mail or password is wrong."


class TokenInvalid(NotAuthenticated):
    code = "token_invalid"
    default_message = "The token is invalid or has expired; sign in again."


class TokenReused(TokenInvalid):
    code = "token_reused"
    default_message = "This refresh token was already used; the session has been ended."
    keep_changes = True


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"
    default_message = "You are not allowed to do that."


class CsrfFailed(Forbidden):
    code = "csrf_failed"
    default_message = "The form has expired; reload the page and try again."


class NotFound(AppError):
    status_code = 404
    code = "not_found"
    default_message = "Not found."


class MethodNotAllowed(AppError):
    status_code = 405
    code = "method_not_allowed"
    default_message = "This method is not allowed here."


class Conflict(AppError):
    status_code = 409
    code = "conflict"
    default_message = "This conflicts with the current state."


class EmailTaken(Conflict):
    code = "email_taken"
    default_message = "An account with this e-mail already exists."


class RateLimited(AppError):
    status_code = 429
    code = "rate_limited"
    default_message = "Too many attempts; wait a moment and try again."

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        self.retry_after = max(1, retry_after)
        super().__init__(message, headers={"Retry-After": str(self.retry_after)})


class ServiceUnavailable(AppError):
    status_code = 503
    code = "service_unavailable"
    default_message = "The service is not available right now."


class InternalError(AppError):
    status_code = 500
    code = "internal_error"
    default_message = "Something went wrong on our side; it has been logged."


HTTP_STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}


def envelope(
    *,
    status_code: int,
    code: str,
    message: str,
    path: str,
    correlation_id: str | None,
    errors: Sequence[FieldError] = (),
) -> dict[str, Any]:
    return {
        "statusCode": status_code,
        "code": code,
        "message": message,
        "errors": [{"field": e.field, "message": e.message} for e in errors],
        "timestamp": datetime.now(UTC).isoformat(),
        "path": path,
        "correlationId": correlation_id,
    }


def field_errors_from_pydantic(errors: Sequence[Any]) -> list[FieldError]:
    """Turn pydantic/FastAPI validation errors into ``FieldError``s named by dotted field path
    (without the ``body``/``query`` location prefix, which clients don't care about)."""
    result: list[FieldError] = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ())]
        if loc and loc[0] in {"body", "query", "path", "header", "cookie", "form"}:
            loc = loc[1:]
        message = str(err.get("msg", "Invalid value"))
        message = message.removeprefix("Value error, ")
        result.append(FieldError(field=".".join(loc) or "__root__", message=message))
    return result
