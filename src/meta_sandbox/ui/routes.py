"""The simulated phone at ``/`` and its static files under ``/_sandbox/ui/static``.

The page talks only to the control API (``/_sandbox/...``): it plays the persona."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, HTMLResponse, Response

from meta_sandbox.ui.templating import render

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).parent / "static"
TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}


@router.get("/", response_class=HTMLResponse)
async def phone() -> HTMLResponse:
    return HTMLResponse(render("phone.html"))


@router.get("/favicon.ico")
async def favicon() -> Response:
    # Browsers ask for it; without this the Graph catch-all would answer a Meta error.
    return Response(status_code=204)


@router.get("/_sandbox/ui/static/{name}")
async def static(name: str) -> FileResponse:
    path = STATIC / name
    # Only plain file names from this folder: no traversal.
    if "/" in name or name.startswith(".") or not path.is_file():
        raise HTTPException(status_code=404)
    return FileResponse(path, media_type=TYPES.get(path.suffix, "application/octet-stream"))
