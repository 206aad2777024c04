"""A template media sample uploaded to the sandbox through the Resumable Upload API, as
WhatsApp Manager does before it creates a template with a photo, video or document header."""

from __future__ import annotations

from typing import Any

import httpx

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def upload_sample(
    client: httpx.Client, app_id: str, token: str, content: bytes = PNG, mime: str = "image/png"
) -> str:
    """The file handle of ``content`` (``client`` talks to the sandbox)."""
    query = {"file_name": "sample", "file_length": len(content), "file_type": mime}
    opened = client.post(
        f"/v23.0/{app_id}/uploads", params=query, headers={"Authorization": f"Bearer {token}"}
    )
    opened.raise_for_status()
    sent = client.post(
        f"/v23.0/{opened.json()['id']}",
        content=content,
        headers={"Authorization": f"OAuth {token}", "file_offset": "0"},
    )
    sent.raise_for_status()
    return str(sent.json()["h"])


def with_uploaded_samples(
    client: httpx.Client, app_id: str, token: str, template: dict[str, Any]
) -> dict[str, Any]:
    """``template`` with each media header's example handles replaced by real uploads."""
    components = []
    for component in template.get("components", []):
        if component.get("type") == "HEADER" and "header_handle" in component.get("example", {}):
            handles = [
                upload_sample(client, app_id, token) for _ in component["example"]["header_handle"]
            ]
            component = {**component, "example": {"header_handle": handles}}
        components.append(component)
    return {**template, "components": components}
