"""Real socialsell processes for the webhook tests: ``serve`` and ``worker``, with this test's
settings, optionally told to SIGKILL themselves at a crash point (env=test only)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from socialsell.settings import Settings
from socialsell.webhooks.service import CRASH_ENV
from tests.conftest import BACKEND, free_port
from tests.helpers.instagram import wait_until

REPO_ROOT = Path(__file__).resolve().parents[2]
REDIS = BACKEND == "postgres"
# What another process needs to act like this test's app.
PASSED_SETTINGS = (
    "env",
    "data_dir",
    "database_url",
    "redis_url",
    "secret_key",
    "meta_graph_url",
    "meta_oauth_url",
    "meta_authorize_url",
    "meta_facebook_graph_url",
    "meta_app_id",
    "meta_app_secret",
    "log_level",
)


class Processes:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.started: list[subprocess.Popen[bytes]] = []

    def spawn(
        self, args: list[str], *, crash_at: str | None = None, tick: bool = False
    ) -> subprocess.Popen[bytes]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIALSELL_")}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
        for name in PASSED_SETTINGS:
            value = getattr(self.settings, name)
            if value is not None:
                secret = getattr(value, "get_secret_value", None)
                env[f"SOCIALSELL_{name.upper()}"] = str(secret() if secret else value)
        env["SOCIALSELL_EMBEDDED_JOBS"] = "false" if REDIS else "true"
        env["SOCIALSELL_EMBEDDED_TICK"] = "true" if tick else "false"
        if crash_at:
            env[CRASH_ENV] = crash_at
        proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "socialsell.cli", *args],
            cwd=tempfile.gettempdir(),  # no developer .env
            env=env,
            stdout=subprocess.DEVNULL,
        )
        self.started.append(proc)
        return proc

    async def serve(self, *, crash_at: str | None = None, tick: bool = False) -> str:
        port = free_port()
        proc = self.spawn(["serve", "--port", str(port)], crash_at=crash_at, tick=tick)
        url = f"http://127.0.0.1:{port}"

        async def up() -> bool:
            assert proc.poll() is None, "serve exited while starting"
            try:
                async with httpx.AsyncClient(base_url=url) as http:
                    return (await http.get("/healthz")).status_code == 200
            except httpx.TransportError:
                return False

        await wait_until(up, within=30, what="socialsell serve to start")
        return url

    def stop(self) -> None:
        for proc in self.started:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
