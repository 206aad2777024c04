"""The tenancy check every resource gets: a member of another workspace asking for a row by its
id is answered 404, exactly as for an id that does not exist (no existence leak)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.helpers.factories import register


async def assert_other_workspace_gets_404(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    *,
    json: Any = None,
    outsider_headers: dict[str, str] | None = None,
) -> None:
    """Call ``method path`` as a freshly registered user of another workspace (or with
    ``outsider_headers``) and assert the 404 error envelope."""
    if outsider_headers is None:
        outsider_headers = (await register(client, name="Outsider")).headers
    response = await client.request(method, path, json=json, headers=outsider_headers)
    assert response.status_code == 404, (
        f"{method} {path} answered {response.status_code} to another workspace: {response.text}"
    )
    body = response.json()
    assert body["code"] == "not_found"
    assert body["path"] == path.split("?")[0]
