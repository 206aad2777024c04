"""Exactly once, with a real process killed (SIGKILL) at the two moments that matter: right
after the container id is committed, and right after ``media_publish`` answered but before the
database knew. The next run asks Meta first and finishes the post without publishing it twice.

PostgreSQL + Redis: the tick (this test) sends the job through Redis to a real ``socialsell
worker`` process. SQLite (embedded): a process runs the tick and its jobs in-process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from meta_sandbox.testing import Sandbox
from socialsell.core.tick import Tick
from socialsell.publishing.models import Post
from socialsell.publishing.publisher import CRASH_ENV
from socialsell.settings import Settings
from tests.conftest import BACKEND, LiveServer
from tests.helpers.instagram import Shop, rows, wait_until
from tests.publishing.helpers import (
    CLAIMER,
    expire_lease,
    make_due,
    post_row,
    published,
    schedule,
    upload_image,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
REDIS = BACKEND == "postgres"
# What a worker process needs to act like this test's app.
PASSED_SETTINGS = (
    "env",
    "data_dir",
    "database_url",
    "redis_url",
    "secret_key",
    "base_url",
    "meta_graph_url",
    "meta_oauth_url",
    "meta_authorize_url",
    "meta_facebook_graph_url",
    "meta_app_id",
    "meta_app_secret",
    "publishing_inline_poll_seconds",
    "log_level",
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # With Redis, jobs go to the worker processes; embedded, they run where the tick runs.
    return settings.model_copy(update={"embedded_jobs": not REDIS})


def _env(settings: Settings, crash_at: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIALSELL_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    for name in PASSED_SETTINGS:
        value = getattr(settings, name)
        if value is not None:
            secret = getattr(value, "get_secret_value", None)
            env[f"SOCIALSELL_{name.upper()}"] = str(secret() if secret else value)
    env["SOCIALSELL_EMBEDDED_JOBS"] = "false" if REDIS else "true"
    env["SOCIALSELL_EMBEDDED_TICK"] = "false"
    if crash_at:
        env[CRASH_ENV] = crash_at
    return env


class Runner:
    """Runs the post's next publishing step in another process."""

    def __init__(self, app: FastAPI, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.workers: list[subprocess.Popen[bytes]] = []

    def _spawn(self, args: list[str], crash_at: str | None) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", *args],
            cwd=tempfile.gettempdir(),  # no developer .env
            env=_env(self.settings, crash_at),
            stdout=subprocess.DEVNULL,
        )
        self.workers.append(proc)
        return proc

    async def run(self, crash_at: str | None = None) -> subprocess.Popen[bytes]:
        if REDIS:
            worker = self._spawn(["socialsell.cli", "worker"], crash_at)
            report = await Tick(self.app.state.jobs, claimers=[CLAIMER], periodics=[]).run_once()
            assert report.claimed.get(CLAIMER) == 1
            return worker
        return self._spawn(["tests.publishing.proc", "tick"], crash_at)

    def stop(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


@pytest.fixture
def runner(app: FastAPI, settings: Settings) -> Iterator[Runner]:
    r = Runner(app, settings)
    yield r
    r.stop()


async def _due_post(app: FastAPI, client: httpx.AsyncClient, sandbox: Sandbox, shop: Shop) -> str:
    # Containers are ready at once here: the run under test goes all the way to media_publish.
    sandbox.configure(container_processing_seconds=0)
    media_id = await upload_image(client, shop.seller)
    [post] = await schedule(client, shop.seller, [shop.channel_id], [media_id])
    await make_due(app, post["id"])
    return str(post["id"])


def _killed(proc: subprocess.Popen[bytes]) -> None:
    assert proc.wait(timeout=60) == -signal.SIGKILL, "the process was to die at the crash point"


async def _published(app: FastAPI, post_id: str) -> Post:
    async def check() -> Post | None:
        row = await post_row(app, post_id)
        return row if row.status == "published" else None

    return await wait_until(check, within=60, what="the post to be published")


def _container_creations(sandbox: Sandbox) -> int:
    calls = sandbox.client.get("/_sandbox/calls").json()["data"]
    return sum(1 for c in calls if c["method"] == "POST" and c["path"].endswith("/media"))


@pytest.mark.slow
async def test_killed_after_storing_the_container_is_finished_with_that_container(
    app: FastAPI,
    client: httpx.AsyncClient,
    sandbox: Sandbox,
    shop: Shop,
    media_server: LiveServer,
    runner: Runner,
) -> None:
    post_id = await _due_post(app, client, sandbox, shop)

    _killed(await runner.run(crash_at="after_container"))
    row = await post_row(app, post_id)
    assert row.status == "publishing"
    assert row.container_id is not None
    assert published(sandbox, shop.ig_id) == []

    await expire_lease(app, post_id)  # the dead worker's lease runs out
    await runner.run()
    row = await _published(app, post_id)

    feed = published(sandbox, shop.ig_id)
    assert len(feed) == 1
    assert feed[0]["container_id"] == row.container_id
    assert _container_creations(sandbox) == 1, "the stored container was reused, not remade"


@pytest.mark.slow
async def test_killed_after_media_publish_is_recognised_not_published_again(
    app: FastAPI,
    client: httpx.AsyncClient,
    sandbox: Sandbox,
    shop: Shop,
    media_server: LiveServer,
    runner: Runner,
) -> None:
    post_id = await _due_post(app, client, sandbox, shop)

    _killed(await runner.run(crash_at="after_publish"))
    row = await post_row(app, post_id)
    assert row.status == "publishing", "the database never heard of the publication"
    assert row.publish_attempted_at is not None
    feed = published(sandbox, shop.ig_id)
    assert len(feed) == 1, "but Instagram did publish it"

    await expire_lease(app, post_id)
    await runner.run()
    row = await _published(app, post_id)

    assert len(published(sandbox, shop.ig_id)) == 1, "published exactly once"
    assert row.external_media_id == feed[0]["id"], "recognised in the account's recent media"
    assert row.permalink
    calls = sandbox.client.get("/_sandbox/calls").json()["data"]
    publishes = [c for c in calls if c["path"].endswith("/media_publish")]
    assert len(publishes) == 1, "the second run asked the container instead of publishing"
    [only] = await rows(app, select(Post))
    assert only.lease_owner is None
