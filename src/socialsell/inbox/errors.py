"""What can go wrong reading or answering conversations, said so the seller knows what to do."""

from __future__ import annotations

from socialsell.core.errors import AppError, Conflict


class WindowClosed(AppError):
    status_code = 409
    code = "messaging_window_closed"
    default_message = (
        "Instagram only allows replies within 24 hours of the customer's last message "
        "(7 days for a person answering with the Human Agent tag). Wait for the customer to "
        "write again."
    )


class NoCustomerMessage(WindowClosed):
    code = "messaging_window_not_open"
    default_message = (
        "The customer has not written in this conversation yet; Instagram lets businesses "
        "answer only after the customer writes first."
    )


class PrivateReplyNotAllowed(AppError):
    status_code = 409
    code = "private_reply_not_allowed"
    default_message = (
        "Instagram allows one private reply per comment, within 7 days of the comment."
    )


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    default_message = (
        "This Idempotency-Key was already used for a different message; use a new key for a "
        "new message."
    )


class NotRetryable(Conflict):
    code = "message_not_retryable"
    default_message = "Only a message that failed can be sent again."


class UploadRefused(AppError):
    status_code = 422
    code = "upload_refused"
    default_message = "Send a JPEG or PNG image of at most 8 MB."
