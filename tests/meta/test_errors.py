"""Meta's error envelopes become the right exception class, carrying what Meta said."""

from __future__ import annotations

import pickle
from typing import Any

import httpx
import pytest
import respx

from socialsell.meta import (
    InvalidParameter,
    MetaClient,
    MetaError,
    OAuthError,
    OutsideMessagingWindow,
    PermissionDenied,
    RateLimited,
    TemplateNotFound,
    TemplateParamMismatch,
    TokenExpired,
    TokenInvalid,
    TransientError,
)
from socialsell.meta.errors import error_from_response

from .helpers import FB, IG, TOKEN, buc_header, graph_error


def envelope(code: int, subcode: int | None = None, **extra: Any) -> dict[str, Any]:
    error: dict[str, Any] = {"message": "(#x) boom", "type": "OAuthException", "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error.update(extra)
    return {"error": error}


def classify(status: int, body: Any, retry_after: float | None = None) -> MetaError:
    return error_from_response(
        status, body, retry_after_seconds=retry_after, default_retry_after=60
    )


@pytest.mark.parametrize(
    ("code", "subcode", "expected"),
    [
        (190, 463, TokenExpired),
        (190, 460, TokenInvalid),  # password changed
        (190, 467, TokenInvalid),
        (190, 458, TokenInvalid),  # app not installed
        (190, None, TokenInvalid),  # "cannot parse access token"
        (102, None, TokenInvalid),
        (10, None, PermissionDenied),
        (200, None, PermissionDenied),
        (299, None, PermissionDenied),
        (200, 1349174, PermissionDenied),
        (131005, None, PermissionDenied),
        (100, None, InvalidParameter),
        (100, 2018001, InvalidParameter),
        (131009, None, InvalidParameter),
        (4, None, RateLimited),
        (17, None, RateLimited),
        (32, None, RateLimited),
        (613, None, RateLimited),
        (80002, None, RateLimited),
        (80007, None, RateLimited),
        (130429, None, RateLimited),
        (131056, None, RateLimited),
        (9, 2207042, RateLimited),  # daily publishing limit
        (1, None, TransientError),
        (2, None, TransientError),
        (131016, None, TransientError),
        (-1, 2207001, TransientError),
        (24, 2207008, TransientError),
        (131047, None, OutsideMessagingWindow),
        (10, 2018278, OutsideMessagingWindow),  # Messenger-platform window subcode
        (10, 2534022, OutsideMessagingWindow),  # Instagram Login window subcode
        (132000, None, TemplateParamMismatch),
        (132001, None, TemplateNotFound),
        (368, None, MetaError),
        (24, 2207006, MetaError),  # media not found: not retryable
    ],
)
def test_code_maps_to_class(code: int, subcode: int | None, expected: type[MetaError]) -> None:
    error = classify(400, envelope(code, subcode))

    assert type(error) is expected
    assert error.code == code
    assert error.subcode == subcode


def test_window_is_not_reported_as_permission_denied() -> None:
    # Code 10 is also "permission denied"; the window subcode must win.
    error = classify(400, envelope(10, 2534022))

    assert not isinstance(error, PermissionDenied)


def test_error_carries_every_envelope_field() -> None:
    body = envelope(
        131047,
        error_user_title="Message failed",
        error_user_msg="More than 24 hours",
        fbtrace_id="AbCdEf",
        error_data={"messaging_product": "whatsapp", "details": "Re-engagement message"},
    )

    error = classify(400, body)

    assert error.message == "(#x) boom"
    assert error.error_type == "OAuthException"
    assert error.fbtrace_id == "AbCdEf"
    assert error.user_title == "Message failed"
    assert error.user_msg == "More than 24 hours"
    assert error.details == "Re-engagement message"
    assert error.http_status == 400
    assert error.raw == body
    assert "fbtrace_id=AbCdEf" in str(error)


def test_is_transient_flag_makes_an_unknown_code_transient() -> None:
    error = classify(400, envelope(1234, is_transient=True))

    assert isinstance(error, TransientError)
    assert error.is_transient is True


def test_rate_limit_is_classified_before_is_transient() -> None:
    error = classify(400, envelope(4, is_transient=True))

    assert isinstance(error, RateLimited)


def test_string_codes_are_understood() -> None:
    error = classify(400, {"error": {"message": "m", "code": "190", "error_subcode": "463"}})

    assert isinstance(error, TokenExpired)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_without_envelope_is_transient(status: int) -> None:
    error = classify(status, None)

    assert isinstance(error, TransientError)
    assert error.http_status == status
    assert error.code is None


def test_4xx_without_envelope_is_a_plain_meta_error() -> None:
    error = classify(404, None)

    assert type(error) is MetaError


def test_http_429_without_envelope_is_rate_limited() -> None:
    error = classify(429, "Too Many Requests")

    assert isinstance(error, RateLimited)
    assert error.retry_after_seconds == 60


def test_rate_limit_takes_retry_after_from_headers_when_named() -> None:
    error = classify(400, envelope(80002), retry_after=300)

    assert isinstance(error, RateLimited)
    assert error.retry_after_seconds == 300


@pytest.mark.parametrize(("code", "seconds"), [(4, 60), (131056, 6), (130429, 1)])
def test_rate_limit_default_retry_after_depends_on_code(code: int, seconds: float) -> None:
    error = classify(400, envelope(code))

    assert isinstance(error, RateLimited)
    assert error.retry_after_seconds == seconds


def test_instagram_oauth_error_shape() -> None:
    body = {
        "error_type": "OAuthException",
        "code": 400,
        "error_message": "Matching code was not found or was already used",
    }

    error = classify(400, body)

    assert isinstance(error, OAuthError)
    assert error.message == "Matching code was not found or was already used"
    assert error.error_type == "OAuthException"


async def test_response_error_reaches_caller_typed(
    meta: MetaClient, router: respx.MockRouter
) -> None:
    router.get(f"{IG}/me").mock(return_value=graph_error(190, 463, status=401))

    with pytest.raises(TokenExpired) as info:
        await meta.instagram(TOKEN).get_profile()

    assert info.value.http_status == 401
    assert info.value.fbtrace_id == "Atrace123"


async def test_rate_limited_response_uses_regain_access_header(
    meta: MetaClient, router: respx.MockRouter
) -> None:
    router.post(f"{FB}/555/messages").mock(
        return_value=graph_error(80007, headers=buc_header("777", percent=100, regain_minutes=5))
    )

    with pytest.raises(RateLimited) as info:
        await meta.whatsapp(TOKEN, "555", "777").send_text("+15550001", "hi")

    assert info.value.retry_after_seconds == 300
    assert info.value.called is True


async def test_non_json_success_body_is_an_error(
    meta: MetaClient, router: respx.MockRouter
) -> None:
    router.get(f"{IG}/me").mock(return_value=httpx.Response(200, text="<html>"))

    with pytest.raises(MetaError, match="not JSON"):
        await meta.instagram(TOKEN).get_profile()


def test_errors_survive_pickling_with_all_fields() -> None:
    error = classify(400, envelope(80002, fbtrace_id="T1"), retry_after=120)

    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes

    assert type(copy) is RateLimited
    assert isinstance(copy, RateLimited)
    assert (copy.code, copy.fbtrace_id, copy.retry_after_seconds) == (80002, "T1", 120)
    assert str(copy) == str(error)
