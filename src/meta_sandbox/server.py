"""``socialsell sandbox`` calls :func:`run`."""

from __future__ import annotations

import uvicorn

from meta_sandbox.app import create_app
from meta_sandbox.settings import SandboxSettings


def run(host: str, port: int, state_file: str | None) -> None:
    settings = SandboxSettings()
    update: dict[str, object] = {}
    if state_file:
        update["state_file"] = state_file
    if "public_url" not in settings.model_fields_set:
        # Media URLs must point where clients can reach this process.
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
        update["public_url"] = f"http://{shown}:{port}"
    if update:
        settings = settings.model_copy(update=update)
    # No access log: like Meta's, the sandbox's URLs carry tokens in query strings.
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info", access_log=False)
