"""What can go wrong with media and posts, said so that the person knows what to do."""

from __future__ import annotations

from socialsell.core.errors import AppError, Conflict


class MediaInUse(Conflict):
    code = "media_in_use"
    default_message = "This file is used by a post that is not published yet."


class PostLocked(Conflict):
    code = "post_locked"
    default_message = (
        "Publishing of this post has started, so it can no longer be changed or deleted."
    )


class PostNotRetryable(Conflict):
    code = "post_not_retryable"
    default_message = "Only a failed post can be retried."


class UploadTooLarge(AppError):
    status_code = 413
    code = "payload_too_large"
    default_message = "The file is too large."


class UnsupportedUpload(AppError):
    status_code = 415
    code = "unsupported_media_type"
    default_message = "This file is not a photo or video Instagram accepts."
