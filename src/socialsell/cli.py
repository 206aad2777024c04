"""The ``socialsell`` command: serve the app, run workers and the scheduler, migrate, manage
users, run the Meta sandbox."""

from __future__ import annotations

import asyncio
import getpass
from typing import Annotated

import typer
import uvicorn

from socialsell import migrations
from socialsell.app import create_app
from socialsell.settings import ConfigurationError, Settings

app = typer.Typer(
    help="socialsell: social selling for Instagram and WhatsApp.", no_args_is_help=True
)


def _settings() -> Settings:
    try:
        settings = Settings()
        settings.check_production()
    except ConfigurationError as exc:
        typer.secho(f"socialsell: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc
    return settings


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    reload: Annotated[bool, typer.Option(help="Reload on code changes (development).")] = False,
    proxy_headers: Annotated[
        bool, typer.Option(help="Trust X-Forwarded-* (behind nginx).")
    ] = False,
) -> None:
    """Serve the web app and the JSON API (and, in embedded mode, jobs and the tick)."""
    _settings()
    uvicorn.run(
        "socialsell.app:create_app",
        factory=True,
        host=host,
        port=port,
        reload=reload,
        proxy_headers=proxy_headers,
        access_log=False,
        log_config=None,
    )


@app.command()
def migrate(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Upgrade the database schema (to the newest revision by default)."""
    settings = _settings()
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrations.upgrade(settings.db_url, revision)
    typer.echo(f"Database is at revision {revision}.")


@app.command("create-user")
def create_user(
    email: Annotated[str, typer.Option(prompt=True)],
    name: Annotated[str, typer.Option(prompt=True)],
    password: Annotated[
        str | None, typer.Option(help="Prompted for when omitted (keeps it out of shell history).")
    ] = None,
    if_missing: Annotated[
        bool, typer.Option("--if-missing", help="Do nothing if the e-mail already has an account.")
    ] = False,
) -> None:
    """Create a user with their personal workspace."""
    from socialsell.accounts.bootstrap import create_user_account

    settings = _settings()
    if password is None:
        password = getpass.getpass("Password: ")
    try:
        created = asyncio.run(
            create_user_account(
                settings, email=email, name=name, password=password, if_missing=if_missing
            )
        )
    except ValueError as exc:
        typer.secho(f"socialsell: {exc}", fg="red", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"Created {email}." if created else f"{email} already exists; left as it is.")


@app.command()
def worker() -> None:
    """Run background jobs from Redis (production). Embedded mode runs them inside `serve`."""
    from socialsell.core.jobs import run_worker

    try:
        asyncio.run(run_worker(_settings()))
    except ConfigurationError as exc:
        typer.secho(f"socialsell: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc


@app.command()
def scheduler() -> None:
    """Run the scheduler tick (production). Safe to run in several processes."""
    from socialsell.core.tick import run_scheduler

    asyncio.run(run_scheduler(_settings()))


@app.command()
def demo(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    sandbox_port: Annotated[int, typer.Option(help="Port of the Meta sandbox.")] = 8100,
) -> None:
    """Start the Meta sandbox, seed the demo workspace (its Instagram account connected through
    the sandbox's OAuth flow) and serve the app: what `make run` does."""
    import subprocess
    import sys
    import threading

    from socialsell.demo import seed_demo

    base = _settings()
    sandbox_url = f"http://{host}:{sandbox_port}"
    app_url = f"http://{host}:{port}"
    settings = base.model_copy(
        update={
            "base_url": app_url,
            "meta_graph_url": sandbox_url,
            "meta_oauth_url": sandbox_url,
            "meta_authorize_url": sandbox_url,
            "meta_facebook_graph_url": sandbox_url,
        }
    )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    sandbox_process = subprocess.Popen(  # noqa: S603 - our own entry point, fixed arguments
        [
            sys.executable,
            "-m",
            "socialsell.cli",
            "sandbox",
            "--host",
            host,
            "--port",
            str(sandbox_port),
            "--state",
            str(settings.data_dir / "sandbox-state.json"),
        ]
    )
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings), host=host, port=port, log_config=None, access_log=False
        )
    )

    def seed_when_ready() -> None:
        _wait_for(f"{sandbox_url}/_sandbox/settings")
        _wait_for(f"{app_url}/healthz")
        result = asyncio.run(seed_demo(settings, sandbox_url=sandbox_url, app_url=app_url))
        typer.secho(
            f"\n  socialsell is ready at {app_url}\n"
            f"  Sign in as {result.email} with the password {result.password}\n"
            f"  Instagram @{result.instagram_username} and WhatsApp {result.whatsapp_number} are\n"
            f"  connected through the Meta sandbox; play their customers at {sandbox_url}\n",
            fg="green",
        )

    threading.Thread(target=seed_when_ready, daemon=True).start()
    try:
        server.run()
    finally:
        sandbox_process.terminate()
        sandbox_process.wait(timeout=10)


def _wait_for(url: str, timeout: float = 30.0) -> None:
    import time

    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


@app.command()
def sandbox(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8100,
    state: Annotated[
        str | None, typer.Option(help="Keep the sandbox's state in this file.")
    ] = None,
) -> None:
    """Run the Meta sandbox: a local emulator of the Instagram and WhatsApp APIs."""
    # The product never imports the sandbox; this command only launches it as its own server.
    from meta_sandbox.server import run

    run(host, port, state)


if __name__ == "__main__":
    app()
