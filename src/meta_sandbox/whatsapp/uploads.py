"""Meta's Resumable Upload API, the way template media samples reach Meta.

``POST /{app-id}/uploads?file_name=&file_length=&file_type=`` opens a session
(``{"id": "upload:<n>"}``); ``POST /upload:<n>`` with ``Authorization: OAuth <token>``,
``file_offset: 0`` and the raw bytes answers the file handle (``{"h": "4::..."}``) that a media
template header names in ``example.header_handle``; ``GET /upload:<n>`` tells how much arrived.
"""

from __future__ import annotations

import base64
import secrets
from typing import Any

from fastapi import APIRouter, Request

from meta_sandbox import errors
from meta_sandbox.deps import ParamsDep, TokenDep
from meta_sandbox.routing import kind_route
from meta_sandbox.whatsapp.context import Ctx, ctx_of
from meta_sandbox.whatsapp.state import WhatsAppState

KIND_UPLOAD = "wa_upload"
MEDIA_FORMATS = ("IMAGE", "VIDEO", "DOCUMENT")
MB = 1024 * 1024
# The file types the Resumable Upload API accepts, with the size a template sample may have.
FILE_TYPES: dict[str, int] = {
    "image/jpeg": 5 * MB,
    "image/jpg": 5 * MB,
    "image/png": 5 * MB,
    "video/mp4": 16 * MB,
    "application/pdf": 100 * MB,
}

app_router = APIRouter(route_class=kind_route("app"))
upload_router = APIRouter(route_class=kind_route(KIND_UPLOAD))


async def _ctx(request: Request) -> Ctx:
    # Imported here: the WhatsApp router includes this module's routes.
    from meta_sandbox.whatsapp.router import record_request

    ctx = ctx_of(request)
    await record_request(ctx, request)
    return ctx


def known_handle(wa: WhatsAppState, handle: str) -> bool:
    return any(u.get("handle") == handle for u in wa.uploads.values())


@app_router.post("/{app_id}/uploads")
async def open_session(
    request: Request, app_id: str, token: TokenDep, params: ParamsDep
) -> dict[str, str]:
    ctx = await _ctx(request)
    file_name = str(params.get("file_name") or "")
    file_type = str(params.get("file_type") or "").lower()
    if not file_name:
        raise errors.invalid_parameter("The parameter file_name is required.")
    if file_type not in FILE_TYPES:
        raise errors.invalid_parameter(
            f"Param file_type must be one of {{{', '.join(FILE_TYPES)}}}"
        )
    try:
        length = int(str(params.get("file_length", "")))
    except ValueError:
        length = -1
    if not 0 < length <= FILE_TYPES[file_type]:
        raise errors.invalid_parameter(
            f"Param file_length must be between 1 and {FILE_TYPES[file_type]} for {file_type}."
        )
    upload_id = f"upload:{ctx.state.new_id()}"
    ctx.state.register_object(upload_id, KIND_UPLOAD)
    ctx.wa.uploads[upload_id] = {
        "file_name": file_name,
        "file_length": length,
        "file_type": file_type,
        "file_offset": 0,
        "handle": None,
        "data_b64": "",
    }
    return {"id": upload_id}


async def _session(request: Request, upload_id: str, method: str) -> dict[str, Any]:
    session = (await _ctx(request)).wa.uploads.get(upload_id)
    if session is None:
        raise errors.unsupported_request(upload_id, method)
    return session


@upload_router.post("/{upload_id}")
async def upload_bytes(request: Request, upload_id: str, token: TokenDep) -> dict[str, str]:
    session = await _session(request, upload_id, "post")
    try:
        offset = int(request.headers.get("file_offset", ""))
    except ValueError:
        raise errors.invalid_parameter("The header file_offset is required.") from None
    if offset != session["file_offset"]:
        raise errors.invalid_parameter(
            f"file_offset {offset} does not match the session's offset {session['file_offset']}."
        )
    data = await request.body()
    if not data or offset + len(data) != session["file_length"]:
        raise errors.invalid_parameter(
            f"The uploaded bytes ({offset + len(data)}) do not match file_length "
            f"({session['file_length']})."
        )
    if not _looks_like(session["file_type"], data):
        raise errors.invalid_parameter(
            f"The uploaded file is not of the declared type {session['file_type']}."
        )
    session["file_offset"] = offset + len(data)
    session["data_b64"] = base64.b64encode(data).decode()
    mime = base64.b64encode(session["file_type"].encode()).decode()
    session["handle"] = f"4::{mime}:{secrets.token_urlsafe(24)}"
    return {"h": session["handle"]}


@upload_router.get("/{upload_id}")
async def get_session(request: Request, upload_id: str, token: TokenDep) -> dict[str, Any]:
    session = await _session(request, upload_id, "get")
    return {"id": upload_id, "file_offset": session["file_offset"]}


# Leading bytes of each type: a sample must be the kind of file it says it is.
_MAGIC: dict[str, tuple[bytes, ...]] = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/jpg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "application/pdf": (b"%PDF-",),
}


def _looks_like(file_type: str, data: bytes) -> bool:
    if file_type == "video/mp4":
        return data[4:8] == b"ftyp"
    return data.startswith(_MAGIC.get(file_type, (b"",)))


router = APIRouter()
router.include_router(app_router)
router.include_router(upload_router)
