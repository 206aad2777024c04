"""WhatsApp Cloud API errors, as Meta words them.

Synchronous errors use the Graph envelope with WhatsApp's `error_data`
(`{"messaging_product": "whatsapp", "details": ...}`) and no `error_subcode` (v16+), except the
template-management ones that keep Graph's subcode + user title/message. Asynchronous failures
(131047, 131026, ...) reach the business as `errors[]` on a `failed` status webhook; both come from
the same table so their titles and details agree.
"""

from __future__ import annotations

from typing import Any

from meta_sandbox.errors import GraphAPIError

ERROR_CODES_HREF = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"

# code -> (title, default details). Titles follow Meta's Cloud API error-code page.
WHATSAPP_ERRORS: dict[int, tuple[str, str]] = {
    100: ("Invalid parameter", "Invalid parameter"),
    130429: (
        "Rate limit hit",
        (
            "Message failed to send because there were too many messages sent from this phone number "
            "in a short period of time."
        ),
    ),
    131008: ("Required parameter is missing", "A required parameter is missing."),
    131009: ("Parameter value is not valid", "One or more parameter values are invalid."),
    131021: (
        "Recipient cannot be sender",
        "Sender and recipient phone number is the same.",
    ),
    131026: (
        "Message Undeliverable",
        (
            "Unable to deliver message. Reasons can include: the recipient phone number is not a "
            "WhatsApp phone number; the recipient has not accepted the new Terms of Service; the "
            "recipient is using an old WhatsApp version."
        ),
    ),
    131047: (
        "Re-engagement message",
        (
            "Message failed to send because more than 24 hours have passed since the customer last "
            "replied to this number."
        ),
    ),
    131049: (
        "This message was not delivered to maintain healthy ecosystem engagement.",
        "In order to maintain a healthy ecosystem engagement, the message failed to be delivered.",
    ),
    131050: (
        (
            "Unable to deliver the message. This recipient has chosen to stop receiving marketing "
            "messages on WhatsApp from your business"
        ),
        "The user has stopped marketing messages.",
    ),
    131051: ("Message type unknown", "Message type is currently not supported."),
    131052: ("Media download error", "Unable to download the media sent by the user."),
    131053: ("Media upload error", "Unable to upload the media used in the message."),
    131056: (
        "(Business Account, Consumer Account) pair rate limit hit",
        (
            "Message failed to send because there were too many messages sent from this phone number "
            "to the same phone number in a short period of time."
        ),
    ),
    132000: (
        "Number of parameters does not match the expected number of params",
        (
            "The number of variable parameter values included in the request did not match the "
            "number of variable parameters defined in the template."
        ),
    ),
    132001: (
        "Template name does not exist in the translation",
        (
            "The template does not exist in the specified language or the template has not been "
            "approved."
        ),
    ),
    132005: ("Translated text too long", "Translated text is too long."),
    132012: (
        "Parameter format does not match format in the created template",
        "Variable parameter values formatted incorrectly.",
    ),
    132015: ("Template is Paused", "Template is paused due to low quality so it cannot be sent."),
    132016: (
        "Template is Disabled",
        (
            "Template has been paused too many times due to low quality and is now permanently "
            "disabled."
        ),
    ),
}


def wa_error(code: int, details: str | None = None, *, status_code: int = 400) -> GraphAPIError:
    """A synchronous Cloud API error for a send, media or phone-number call."""
    title, default_details = WHATSAPP_ERRORS[code]
    return GraphAPIError(
        f"(#{code}) {title}",
        type="OAuthException",
        code=code,
        status_code=status_code,
        error_data={"messaging_product": "whatsapp", "details": details or default_details},
    )


def invalid_parameter(details: str) -> GraphAPIError:
    """Graph's generic `(#100) Invalid parameter` with WhatsApp's details."""
    return wa_error(100, details)


def missing_parameter(name: str) -> GraphAPIError:
    """Meta's wording for a required top-level parameter that is absent."""
    return GraphAPIError(
        f"(#100) The parameter {name} is required.",
        type="OAuthException",
        code=100,
        error_data={
            "messaging_product": "whatsapp",
            "details": f"The parameter {name} is required.",
        },
    )


def template_error(
    subcode: int | None, user_title: str, user_msg: str, *, message: str = "Invalid parameter"
) -> GraphAPIError:
    """Template-management (`/message_templates`) validation failure: Graph subcode + user text."""
    return GraphAPIError(
        message,
        type="OAuthException",
        code=100,
        error_subcode=subcode,
        error_user_title=user_title,
        error_user_msg=user_msg,
    )


def not_your_asset(object_id: str) -> GraphAPIError:
    """The token's business does not own the WABA, phone number or media."""
    return GraphAPIError(
        "(#200) You do not have permission to access this resource",
        type="OAuthException",
        code=200,
        error_subcode=1349174,
        status_code=403,
        error_user_title="Permission Denied",
        error_user_msg=f"Your app doesn't have permission to access {object_id}.",
    )


def status_error(code: int, details: str | None = None) -> dict[str, Any]:
    """An entry of `statuses[].errors` for a `failed` status webhook."""
    title, default_details = WHATSAPP_ERRORS[code]
    return {
        "code": code,
        "title": title,
        "message": title,
        "error_data": {"details": details or default_details},
        "href": ERROR_CODES_HREF,
    }
