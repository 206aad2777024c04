"""What can go wrong connecting or using a channel, said so that the user knows what to do."""

from __future__ import annotations

from socialsell.core.errors import AppError, Conflict


class ConnectFailed(AppError):
    """A connect flow ended without a channel. The state row it spent stays spent."""

    status_code = 400
    code = "connect_failed"
    default_message = "The account could not be connected. Start again from the Channels page."
    keep_changes = True


class ConnectDenied(ConnectFailed):
    code = "connect_denied"
    default_message = (
        "You declined the permissions socialsell asked for, so nothing was connected. "
        "Connect again and accept them to use this account here."
    )


class ConnectMissingScope(ConnectFailed):
    code = "connect_missing_scope"


class ConnectStateInvalid(ConnectFailed):
    code = "connect_state_invalid"
    default_message = (
        "This connection link is not valid: it was altered or belongs to another sign-in. "
        "Start again from the Channels page."
    )


class ConnectStateReused(ConnectFailed):
    code = "connect_state_reused"
    default_message = "This connection link was already used. Start again from the Channels page."


class ConnectStateExpired(ConnectFailed):
    code = "connect_state_expired"
    default_message = "The connection took longer than 10 minutes and expired. Start again from the Channels page."


class ConnectMetaError(ConnectFailed):
    code = "connect_meta_error"
    status_code = 502


class AccountInOtherWorkspace(Conflict):
    code = "channel_in_other_workspace"
    default_message = (
        "This Instagram account is already connected in another socialsell workspace. "
        "Disconnect it there first, or ask that workspace's owner to invite you."
    )


class ChannelUnavailable(AppError):
    """The channel cannot be used until someone reconnects it; the status change is kept."""

    status_code = 409
    code = "channel_needs_reconnect"
    default_message = (
        "This account's connection has expired or was revoked. Reconnect it on the Channels page."
    )
    keep_changes = True


class ChannelDisconnected(AppError):
    status_code = 409
    code = "channel_disconnected"
    default_message = (
        "This account is disconnected; its history is read-only. Reconnect it to use it."
    )


class ChannelMetaError(AppError):
    status_code = 502
    code = "meta_error"
    default_message = "Instagram answered with an error; try again in a few minutes."
    keep_changes = True
