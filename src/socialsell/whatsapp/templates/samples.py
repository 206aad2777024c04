"""The sample file of a photo, video or document template header.

Meta reviews a media header with a sample file sent through its Resumable Upload API; the file
handle it answers goes in the header's ``example.header_handle``. The file is checked here first
(kind read from its bytes, Meta's size limits) so a mistake is said next to the field.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from socialsell.core.errors import FieldError
from socialsell.core.storage import Storage
from socialsell.publishing.models import MediaAsset

FIELD = "header_media_id"
MB = 1024 * 1024
# Header format -> the file types Meta takes for its sample, and the largest size.
SAMPLE_TYPES: dict[str, tuple[tuple[str, ...], int]] = {
    "IMAGE": (("image/jpeg", "image/png"), 5 * MB),
    "VIDEO": (("video/mp4",), 16 * MB),
    "DOCUMENT": (("application/pdf",), 100 * MB),
}
KIND_WORDS = {"IMAGE": "a JPEG or PNG photo", "VIDEO": "an MP4 video", "DOCUMENT": "a PDF"}


@dataclass(frozen=True, slots=True)
class SampleFile:
    content: bytes
    file_name: str
    mime_type: str


def sniff(content: bytes) -> str | None:
    """The file's type read from its first bytes (what it claims to be is not trusted)."""
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content.startswith(b"%PDF-"):
        return "application/pdf"
    if content[4:8] == b"ftyp":
        return "video/mp4"
    return None


def checked(header_format: str, content: bytes, file_name: str) -> SampleFile | FieldError:
    types, limit = SAMPLE_TYPES[header_format]
    if not content:
        return FieldError(FIELD, f"Choose {KIND_WORDS[header_format]} as the header's sample.")
    mime = sniff(content)
    if mime not in types:
        return FieldError(
            FIELD, f"This header needs {KIND_WORDS[header_format]}; this file is not one."
        )
    if len(content) > limit:
        return FieldError(
            FIELD, f"The file is too big: at most {limit // MB} MB for this kind of header."
        )
    return SampleFile(content, file_name or "sample", mime)


async def from_asset(
    session: AsyncSession,
    storage: Storage,
    workspace_id: uuid.UUID,
    asset_id: uuid.UUID,
    header_format: str,
) -> SampleFile | FieldError:
    """A media-library file (photos and videos) as the sample."""
    asset = await session.get(MediaAsset, asset_id)
    if asset is None or asset.workspace_id != workspace_id:
        return FieldError(FIELD, "This media file does not exist.")
    content = await storage.get(asset.storage_key)
    if content is None:
        return FieldError(FIELD, "This media file is no longer stored; choose another.")
    return checked(header_format, content, asset.original_filename)
