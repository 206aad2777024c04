"""What can go wrong with a WhatsApp number, said so that the seller knows what to do."""

from __future__ import annotations

from socialsell.core.errors import AppError, Conflict


class NumberInOtherWorkspace(Conflict):
    code = "channel_in_other_workspace"
    default_message = (
        "This WhatsApp number is already connected in another socialsell workspace. "
        "Disconnect it there first."
    )


class WhatsAppMetaError(AppError):
    status_code = 502
    code = "meta_error"
    default_message = "WhatsApp answered with an error; try again in a few minutes."
    keep_changes = True


class NotWhatsApp(AppError):
    status_code = 409
    code = "not_whatsapp"
    default_message = "This is not a WhatsApp conversation."
