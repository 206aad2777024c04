"""The `socialsell` command as an operator uses it, in real processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import free_port

CLI = [sys.executable, "-m", "socialsell.cli"]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIALSELL_")}
    return {**env, "SOCIALSELL_DATA_DIR": str(tmp_path / "data"), **extra}


def test_production_refuses_unsafe_settings_with_one_line(tmp_path: Path) -> None:
    result = subprocess.run(  # noqa: S603 - our own CLI
        [*CLI, "serve"],
        env=_env(tmp_path, SOCIALSELL_ENV="production"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "SOCIALSELL_SECRET_KEY" in lines[0]


def test_migrate_create_user_and_serve(tmp_path: Path) -> None:
    env = _env(tmp_path, SOCIALSELL_LOG_LEVEL="WARNING")
    subprocess.run([*CLI, "migrate"], env=env, check=True, timeout=120, capture_output=True)  # noqa: S603
    created = subprocess.run(  # noqa: S603
        [
            *CLI,
            "create-user",
            "--email",
            "ops@example.com",
            "--name",
            "Ops",
            "--password",
            "Ops-Pass-2026",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "Created ops@example.com" in created.stdout
    weak = subprocess.run(  # noqa: S603
        [*CLI, "create-user", "--email", "x@example.com", "--name", "X", "--password", "weak"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert weak.returncode == 1
    assert "password" in weak.stderr

    port = free_port()
    server = subprocess.Popen(  # noqa: S603
        [*CLI, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env={**env, "SOCIALSELL_EMBEDDED_TICK": "false"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "serve did not start"
            time.sleep(0.2)
        login = httpx.post(
            f"{base}/api/v1/auth/login",
            json={"email": "ops@example.com", "password": "Ops-Pass-2026"},
            timeout=10,
        )
        assert login.status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=20)
