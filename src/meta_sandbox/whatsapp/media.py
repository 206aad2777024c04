"""Media of the Cloud API: uploads, customer media, short-lived download URLs.

`GET /{media_id}` hands out a URL that is valid for 5 minutes and must be fetched with the bearer
token (Meta serves it from lookaside.fbsbx.com; the sandbox serves it itself under
`/whatsapp_business/attachments/`). The URL is signed so it cannot be forged or extended.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
from urllib.parse import urlencode

from PIL import Image, ImageDraw

from meta_sandbox.whatsapp.state import Media

# Accepted upload MIME types per message type, and their size caps (bytes), per Meta's
# "Supported media types" table.
MB = 1024 * 1024
MEDIA_TYPES: dict[str, tuple[tuple[str, ...], int]] = {
    "image": (("image/jpeg", "image/png"), 5 * MB),
    "sticker": (("image/webp",), 500 * 1024),
    "audio": (("audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"), 16 * MB),
    "video": (("video/mp4", "video/3gpp"), 16 * MB),
    "document": (
        (
            "text/plain",
            "application/pdf",
            "application/msword",
            "application/vnd.ms-excel",
            "application/vnd.ms-powerpoint",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        ),
        100 * MB,
    ),
}
MIME_TO_KIND: dict[str, str] = {
    mime: kind for kind, (mimes, _) in MEDIA_TYPES.items() for mime in mimes
}
EXTENSIONS: dict[str, str] = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "audio/ogg": "ogg",
    "audio/mpeg": "mp3",
    "audio/mp4": "m4a",
    "audio/aac": "aac",
    "audio/amr": "amr",
    "video/mp4": "mp4",
    "video/3gpp": "3gp",
    "application/pdf": "pdf",
    "text/plain": "txt",
}

DOWNLOAD_PATH = "/whatsapp_business/attachments/"


def sha256_hex(data: bytes) -> str:
    """`sha256` as `GET /{media_id}` reports it."""
    return hashlib.sha256(data).hexdigest()


def sha256_b64(data: bytes) -> str:
    """`sha256` as inbound media webhooks report it (base64 of the digest)."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def _signature(secret: str, media_id: str, expires: int) -> str:
    mac = hmac.new(secret.encode(), f"{media_id}:{expires}".encode(), hashlib.sha256)
    return mac.hexdigest()[:32]


def download_url(public_url: str, secret: str, media: Media, expires: int) -> str:
    query = urlencode(
        {
            "mid": media.id,
            "ext": str(expires),
            "hash": _signature(secret, media.id, expires),
        }
    )
    return f"{public_url.rstrip('/')}{DOWNLOAD_PATH}?{query}"


def check_download(secret: str, media_id: str, expires: str, signature: str, now: float) -> bool:
    """True when the URL was issued by this sandbox and has not expired."""
    try:
        expires_at = int(expires)
    except ValueError:
        return False
    expected = _signature(secret, media_id, expires_at)
    return hmac.compare_digest(expected, signature) and now <= expires_at


def generate_jpeg(label: str, *, width: int = 640, height: int = 480) -> bytes:
    """A real JPEG (a gradient with a label) for customer photos the product can download."""
    size = (width, height)
    red = Image.linear_gradient("L").rotate(90).resize(size)
    green = Image.linear_gradient("L").resize(size)
    blue = Image.new("L", size, 160)
    image = Image.merge("RGB", (red, green, blue))
    ImageDraw.Draw(image).text((16, 16), label, fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    return out.getvalue()


# Minimal but well-formed files for the other customer media kinds: the product stores and
# forwards them; it does not decode audio or video.
SAMPLE_FILES: dict[str, tuple[str, bytes, str | None]] = {
    "audio": ("audio/ogg", b"OggS\x00\x02" + b"\x00" * 64, None),
    "video": (
        "video/mp4",
        b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64,
        None,
    ),
    "document": (
        "application/pdf",
        b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
        "invoice.pdf",
    ),
    "sticker": (
        "image/webp",
        b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00/\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00",
        None,
    ),
}
