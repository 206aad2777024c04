"""Downloading media the way Meta does (from a public URL) and looking inside it, plus the sample
files the sandbox serves so tests and demos have valid images and videos to point at."""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

import httpx
from PIL import Image, UnidentifiedImageError

FETCH_TIMEOUT_SECONDS = 10.0


class FetchError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # unreachable | timeout | too_large


@dataclass
class Fetched:
    data: bytes
    content_type: str


async def fetch(url: str, *, max_bytes: int) -> Fetched:
    """GET ``url``; reading stops one byte past ``max_bytes`` so huge files cost nothing."""
    if not url.startswith(("http://", "https://")):
        raise FetchError("unreachable")
    try:
        async with (
            httpx.AsyncClient(follow_redirects=True) as client,
            client.stream("GET", url, timeout=FETCH_TIMEOUT_SECONDS) as response,
        ):
            if response.status_code != 200:
                raise FetchError("unreachable")
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size > max_bytes:
                    raise FetchError("too_large")
            return Fetched(b"".join(chunks), response.headers.get("content-type", ""))
    except httpx.TimeoutException as exc:
        raise FetchError("timeout") from exc
    except httpx.HTTPError as exc:
        raise FetchError("unreachable") from exc


@dataclass
class ImageInfo:
    format: str  # PIL's name: JPEG, PNG, ...
    width: int
    height: int


def image_info(data: bytes) -> ImageInfo | None:
    try:
        with Image.open(io.BytesIO(data)) as img:
            return ImageInfo(format=str(img.format), width=img.width, height=img.height)
    except (UnidentifiedImageError, OSError):
        return None


@dataclass
class VideoInfo:
    duration_seconds: float | None


def video_info(data: bytes) -> VideoInfo | None:
    """MP4/MOV files start with an ``ftyp`` box; the ``mvhd`` box gives the duration."""
    if len(data) < 12 or data[4:8] != b"ftyp":
        return None
    at = data.find(b"mvhd")
    if at < 0 or at + 28 > len(data):
        return VideoInfo(duration_seconds=None)
    version = data[at + 4]
    if version == 1:
        timescale, duration = struct.unpack(">IQ", data[at + 24 : at + 36])
    else:
        timescale, duration = struct.unpack(">II", data[at + 16 : at + 24])
    return VideoInfo(duration_seconds=duration / timescale if timescale else None)


# --- samples -------------------------------------------------------------------------------------


def sample_image(width: int, height: int, fmt: str = "JPEG", color: str = "#d62976") -> bytes:
    img = Image.new("RGB", (max(1, width), max(1, height)), color)
    buffer = io.BytesIO()
    img.save(buffer, format=fmt.upper())
    return buffer.getvalue()


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def sample_video(duration_seconds: float) -> bytes:
    """A minimal MP4 container (``ftyp`` + ``moov/mvhd``): enough for the sandbox's checks."""
    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2avc1mp41")
    timescale = 1000
    mvhd = _box(
        b"mvhd",
        bytes(4)  # version 0, flags
        + struct.pack(">IIII", 0, 0, timescale, int(duration_seconds * timescale))
        + struct.pack(">IH", 0x00010000, 0x0100)
        + bytes(10)
        + struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)
        + bytes(24)
        + struct.pack(">I", 2),
    )
    return ftyp + _box(b"moov", mvhd) + _box(b"mdat", bytes(64))
