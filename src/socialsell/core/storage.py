"""Where media files live: a small :class:`Storage` protocol with a local-directory
implementation (embedded mode) and an S3-compatible one (:mod:`socialsell.core.storage_s3`,
``storage_backend="s3"``) behind the same protocol.

Files are addressed by keys like ``ws/<workspace>/messages/<message>/0.jpg``: the workspace comes
first so that access checks and deletion by tenant are prefix operations. Nothing serves the
directory as such; a file is reachable only through a signed URL with an expiry
(:func:`signed_url`), which is what Meta fetches our outbound images from and what the UI shows.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import mimetypes
import re
import shutil
import time
from pathlib import Path
from typing import Annotated, Protocol
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, Response

from socialsell.core.deps import SettingsDep
from socialsell.core.errors import NotFound
from socialsell.settings import Settings

_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,400}$")


class Storage(Protocol):
    async def put(self, key: str, data: bytes) -> None: ...

    async def get(self, key: str) -> bytes | None: ...

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> None: ...

    async def put_file(self, key: str, path: Path, content_type: str) -> None:
        """Store the file at ``path`` (large uploads are never held in memory)."""
        ...

    def local_path(self, key: str) -> Path | None:
        """A path to serve the file from, when the storage is a local directory."""
        ...

    def presigned_url(self, key: str, ttl_seconds: int) -> str | None:
        """An expiring URL served by the storage itself (S3), or None to serve it ourselves."""
        ...


def check_key(key: str) -> str:
    if not _KEY_RE.match(key) or ".." in key.split("/") or "//" in key:
        raise ValueError(f"invalid storage key {key!r}")
    return key


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    async def put(self, key: str, data: bytes) -> None:
        path = self._path(key)

        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".part")
            tmp.write_bytes(data)
            tmp.replace(path)  # atomic: a reader never sees half a file

        await asyncio.to_thread(write)

    async def get(self, key: str) -> bytes | None:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).is_file)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, True)

    async def put_file(self, key: str, path: Path, content_type: str) -> None:
        target = self._path(key)

        def copy() -> None:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + ".part")
            shutil.copyfile(path, tmp)
            tmp.replace(target)

        await asyncio.to_thread(copy)

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    def presigned_url(self, key: str, ttl_seconds: int) -> str | None:
        return None


def build_storage(settings: Settings) -> Storage:
    if settings.storage_backend == "s3":
        from socialsell.core.storage_s3 import S3Storage

        return S3Storage.from_settings(settings)
    return LocalStorage(settings.data_dir / "media")


def media_url(settings: Settings, storage: Storage, key: str, *, ttl_seconds: int) -> str:
    """A signed URL that expires, for Meta to fetch ``key`` from: the store's own (S3) when it
    has one, else ours (:func:`signed_url`, served by :func:`serve_media`)."""
    return storage.presigned_url(check_key(key), ttl_seconds) or signed_url(
        settings, key, ttl_seconds=ttl_seconds
    )


def content_type_for(key: str) -> str:
    return mimetypes.guess_type(key)[0] or "application/octet-stream"


def extension_for(content_type: str | None) -> str:
    if not content_type:
        return ".bin"
    base = content_type.split(";")[0].strip().lower()
    return {"image/jpeg": ".jpg", "audio/mpeg": ".mp3"}.get(base) or (
        mimetypes.guess_extension(base) or ".bin"
    )


def _signature(settings: Settings, key: str, expires: int) -> str:
    secret = settings.secret_key.get_secret_value().encode()
    return hmac.new(secret, f"media:{key}:{expires}".encode(), hashlib.sha256).hexdigest()


def signed_url(settings: Settings, key: str, *, ttl_seconds: int | None = None) -> str:
    """An absolute URL (``settings.base_url``) that serves ``key`` until it expires."""
    expires = int(time.time()) + (ttl_seconds or settings.media_url_ttl_seconds)
    sig = _signature(settings, check_key(key), expires)
    return f"{settings.base_url.rstrip('/')}/media/{quote(key)}?expires={expires}&sig={sig}"


def verify_signature(settings: Settings, key: str, expires: int, sig: str) -> bool:
    if expires < time.time():
        return False
    return hmac.compare_digest(_signature(settings, key, expires), sig)


router = APIRouter(tags=["media"])


def get_storage(request: Request) -> Storage:
    settings: Settings = request.app.state.settings
    return build_storage(settings)


@router.get("/media/{key:path}", include_in_schema=False)
async def serve_media(
    key: str,
    settings: SettingsDep,
    storage: Annotated[Storage, Depends(get_storage)],
    expires: Annotated[int, Query()] = 0,
    sig: Annotated[str, Query(max_length=128)] = "",
) -> Response:
    """Serve a stored file to whoever holds a valid signed URL (Meta, the browser)."""
    try:
        check_key(key)
    except ValueError as exc:
        raise NotFound from exc
    if not verify_signature(settings, key, expires, sig):
        raise NotFound("This link has expired or is not valid.")
    path = storage.local_path(key)
    if path is not None:
        if not path.is_file():
            raise NotFound
        return FileResponse(path, media_type=content_type_for(key))
    data = await storage.get(key)
    if data is None:
        raise NotFound
    return Response(data, media_type=content_type_for(key))
