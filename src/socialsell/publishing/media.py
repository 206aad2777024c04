"""Looking inside an uploaded file: what it really is (from its bytes, never its name), its size
and duration, and what Instagram needs done to it.

Instagram publishes JPEG images only (in sRGB), so PNG, WebP, GIF, HEIC/AVIF (when this Pillow
can read them) are converted to JPEG, keeping the colour profile and applying the EXIF
orientation. Videos are measured with ``ffprobe`` when it is installed, else from the MP4/MOV
header (``mvhd`` for the duration, ``tkhd`` for the size); what cannot be read is recorded as
unknown and left for Instagram to judge. Everything here is blocking: call it in a thread.
"""

from __future__ import annotations

import io
import json
import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError

from socialsell.publishing.models import MediaKind

THUMBNAIL_SIZE = (480, 480)
JPEG_QUALITY = 90
# ISO base media brands: still images (HEIF family) versus movies.
_IMAGE_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif"}


class UnsupportedMedia(ValueError):
    """The file is not a photo or video Instagram can take; the message says so to a person."""


@dataclass(frozen=True, slots=True)
class Sniffed:
    kind: MediaKind
    content_type: str


@dataclass(slots=True)
class Processed:
    kind: MediaKind
    content_type: str
    path: Path  # the file to store (the upload itself, or its JPEG conversion)
    extension: str
    converted_from: str | None
    width: int | None
    height: int | None
    duration_seconds: float | None
    thumbnail: bytes | None

    @property
    def aspect_ratio(self) -> float | None:
        if self.width and self.height:
            return round(self.width / self.height, 4)
        return None


def sniff(head: bytes) -> Sniffed:
    """The type from the first bytes of the file."""
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed(MediaKind.image, "image/jpeg")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed(MediaKind.image, "image/png")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed(MediaKind.image, "image/webp")
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return Sniffed(MediaKind.image, "image/gif")
    if len(head) >= 12 and head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _IMAGE_BRANDS:
            return Sniffed(MediaKind.image, "image/avif" if brand == b"avif" else "image/heic")
        if brand.startswith(b"qt"):
            return Sniffed(MediaKind.video, "video/quicktime")
        return Sniffed(MediaKind.video, "video/mp4")
    raise UnsupportedMedia(
        "This file is not a photo or video Instagram accepts (JPEG, PNG, WebP, HEIC, MP4, MOV)."
    )


def process(path: Path, sniffed: Sniffed, workdir: Path) -> Processed:
    if sniffed.kind == MediaKind.image:
        return _process_image(path, sniffed, workdir)
    return _process_video(path, sniffed, workdir)


def _thumbnail(img: Image.Image) -> bytes:
    thumb = img.copy()
    thumb.thumbnail(THUMBNAIL_SIZE)
    buffer = io.BytesIO()
    thumb.convert("RGB").save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        # Instagram has no transparency: flatten onto white, as its own app does.
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return img.convert("RGB")


def _process_image(path: Path, sniffed: Sniffed, workdir: Path) -> Processed:
    try:
        with Image.open(path) as probe:
            probe.verify()  # a truncated or corrupt file fails here, not on Instagram
        with Image.open(path) as opened:
            opened.load()
            icc = opened.info.get("icc_profile")
            exif = opened.getexif()
            oriented = ImageOps.exif_transpose(opened)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        if sniffed.content_type in ("image/heic", "image/avif"):
            raise UnsupportedMedia(
                "This HEIC/AVIF photo cannot be read here; export it as JPEG and upload that."
            ) from exc
        raise UnsupportedMedia("This image is damaged or cannot be read.") from exc
    keep_original = (
        sniffed.content_type == "image/jpeg"
        and oriented.mode in ("RGB", "L")
        and exif.get(0x0112, 1) == 1
    )
    thumbnail = _thumbnail(oriented)
    if keep_original:
        return Processed(
            kind=MediaKind.image,
            content_type="image/jpeg",
            path=path,
            extension=".jpg",
            converted_from=None,
            width=oriented.width,
            height=oriented.height,
            duration_seconds=None,
            thumbnail=thumbnail,
        )
    target = workdir / "converted.jpg"
    rgb = _to_rgb(oriented)
    options: dict[str, object] = {"quality": JPEG_QUALITY, "optimize": True}
    if icc:
        options["icc_profile"] = icc  # the colours stay those the photographer saw
    if exif:
        # The pixels are turned already (exif_transpose): the orientation tag must say so.
        exif[0x0112] = 1
        options["exif"] = exif.tobytes()
    rgb.save(target, "JPEG", **options)
    return Processed(
        kind=MediaKind.image,
        content_type="image/jpeg",
        path=target,
        extension=".jpg",
        converted_from=sniffed.content_type,
        width=rgb.width,
        height=rgb.height,
        duration_seconds=None,
        thumbnail=thumbnail,
    )


def _process_video(path: Path, sniffed: Sniffed, workdir: Path) -> Processed:
    width = height = None
    duration = None
    probed = _ffprobe(path)
    if probed is not None:
        width, height, duration = probed
    else:
        header = _mp4_header(path)
        if header is not None:
            width, height, duration = header
    return Processed(
        kind=MediaKind.video,
        content_type=sniffed.content_type,
        path=path,
        extension=".mov" if sniffed.content_type == "video/quicktime" else ".mp4",
        converted_from=None,
        width=width,
        height=height,
        duration_seconds=duration,
        thumbnail=_ffmpeg_thumbnail(path, workdir),
    )


def _ffprobe(path: Path) -> tuple[int | None, int | None, float | None] | None:
    binary = shutil.which("ffprobe")
    if binary is None:
        return None
    try:
        out = subprocess.run(  # noqa: S603 - a fixed binary on our own temp file
            [
                binary,
                "-v",
                "error",
                "-print_format",
                "json",
                "-show_format",
                "-show_streams",
                str(path),
            ],
            capture_output=True,
            timeout=60,
            check=True,
        ).stdout
        info = json.loads(out)
    except (subprocess.SubprocessError, ValueError, OSError):
        return None
    video: dict[str, Any] = next(
        (s for s in info.get("streams", []) if s.get("codec_type") == "video"), {}
    )
    duration = info.get("format", {}).get("duration") or video.get("duration")
    return (
        int(video["width"]) if video.get("width") else None,
        int(video["height"]) if video.get("height") else None,
        float(duration) if duration else None,
    )


def _ffmpeg_thumbnail(path: Path, workdir: Path) -> bytes | None:
    binary = shutil.which("ffmpeg")
    if binary is None:
        return None
    target = workdir / "thumb.jpg"
    try:
        subprocess.run(  # noqa: S603 - a fixed binary on our own temp file
            [binary, "-v", "error", "-y", "-i", str(path), "-frames:v", "1", str(target)],
            capture_output=True,
            timeout=60,
            check=True,
        )
        with Image.open(target) as img:
            return _thumbnail(img)
    except (subprocess.SubprocessError, OSError, UnidentifiedImageError):
        return None


def _boxes(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """The ISO-BMFF boxes in data[start:end] as (type, payload start, box end)."""
    found = []
    at = start
    while at + 8 <= end:
        size, kind = struct.unpack(">I4s", data[at : at + 8])
        header = 8
        if size == 1 and at + 16 <= end:
            size = struct.unpack(">Q", data[at + 8 : at + 16])[0]
            header = 16
        elif size == 0:
            size = end - at
        if size < header:
            break
        found.append((kind, at + header, min(end, at + size)))
        at += size
    return found


def _mp4_header(path: Path) -> tuple[int | None, int | None, float | None] | None:
    """Duration and frame size from the ``moov`` box, without ffprobe. Reads at most 64 MB."""
    with path.open("rb") as f:
        data = f.read(64 * 1024 * 1024)
    moov = next((b for b in _boxes(data, 0, len(data)) if b[0] == b"moov"), None)
    if moov is None:
        return None
    duration = width = height = None
    for kind, start, end in _boxes(data, moov[1], moov[2]):
        if kind == b"mvhd" and end - start >= 20:
            version = data[start]
            if version == 1 and end - start >= 32:
                timescale, length = struct.unpack(">IQ", data[start + 20 : start + 32])
            else:
                timescale, length = struct.unpack(">II", data[start + 12 : start + 20])
            duration = length / timescale if timescale else None
        elif kind == b"trak" and width is None:
            for sub, s_start, s_end in _boxes(data, start, end):
                if sub == b"tkhd" and s_end - s_start >= 84:
                    w, h = struct.unpack(">II", data[s_end - 8 : s_end])
                    if w and h:
                        width, height = w >> 16, h >> 16
    return width, height, duration
