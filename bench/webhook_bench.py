"""Webhook intake: sustained deliveries per second and ack latency of ``POST /webhooks/instagram``
on one web process, next to a bare ASGI endpoint that computes the same HMAC (the ratio is what
storing the delivery and kicking its job cost), then a count of the stored rows (nothing lost).

Starts ``socialsell serve`` (embedded jobs: the deliveries are processed in the same process
while the load runs) and the bare endpoint under the same uvicorn, each in its own process, and
alternates rounds between them so machine noise hits both.

    .venv/bin/python bench/webhook_bench.py [--requests 3000] [--concurrency 16] [--rounds 3]
        [--database-url postgresql+asyncpg://postgres@127.0.0.1/postgres]   # a fresh database
                                                                            # is created next to it
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-app-secret"  # noqa: S105 - the benchmark's own app secret
IG_ID = "17841400000000001"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the bare endpoint ---------------------------------------------------------------------------


async def bare_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Reads the body, checks X-Hub-Signature-256 in constant time, answers 200. Nothing else."""
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    header = dict(scope["headers"]).get(b"x-hub-signature-256", b"").decode()
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    ok = header.startswith("sha256=") and hmac.compare_digest(expected, header[7:])
    await send({"type": "http.response.start", "status": 200 if ok else 401, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def serve_bare(port: int) -> None:
    import uvicorn

    uvicorn.run(bare_app, host="127.0.0.1", port=port, access_log=False, log_level="warning")


# --- load ----------------------------------------------------------------------------------------


def delivery(n: int) -> tuple[bytes, str]:
    ts = 1_790_000_000_000 + n
    body = json.dumps(
        {
            "object": "instagram",
            "entry": [
                {
                    "id": IG_ID,
                    "time": ts,
                    "messaging": [
                        {
                            "sender": {"id": f"cust{n % 500}"},
                            "recipient": {"id": IG_ID},
                            "timestamp": ts,
                            "message": {"mid": f"bench-{uuid.uuid4().hex}", "text": f"hello {n}"},
                        }
                    ],
                }
            ],
        },
        separators=(",", ":"),
    ).encode()
    sig = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return body, sig


async def run_load(
    client: httpx.AsyncClient, url: str, bodies: list[tuple[bytes, str]], concurrency: int
) -> tuple[float, list[float]]:
    latencies: list[float] = []
    queue = list(reversed(bodies))

    async def worker() -> None:
        while queue:
            body, sig = queue.pop()
            started = time.perf_counter()
            response = await client.post(
                url,
                content=body,
                headers={"Content-Type": "application/json", "X-Hub-Signature-256": sig},
            )
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise RuntimeError(f"{url} answered {response.status_code}: {response.text}")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(bodies) / (time.perf_counter() - started), latencies


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def wait_up(url: str) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise SystemExit(f"{url} did not start") from None
            time.sleep(0.1)


async def count_rows(database_url: str) -> tuple[int, int]:
    from sqlalchemy import text

    from socialsell.db import create_engine

    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            stored = (await conn.execute(text("SELECT count(*) FROM webhook_deliveries"))).scalar()
            pending = (
                await conn.execute(
                    text("SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'")
                )
            ).scalar()
    finally:
        await engine.dispose()
    return int(stored or 0), int(pending or 0)


async def create_pg_database(base_url: str) -> str:
    import asyncpg

    root = base_url.replace("postgresql+asyncpg://", "postgresql://").rsplit("/", 1)[0]
    name = f"socialsell_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(f"{root}/postgres")
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"{root.replace('postgresql://', 'postgresql+asyncpg://')}/{name}"


async def drop_pg_database(url: str) -> None:
    import asyncpg

    root, name = url.replace("postgresql+asyncpg://", "postgresql://").rsplit("/", 1)
    conn = await asyncpg.connect(f"{root}/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def bench(product: str, bare: str, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    limits = httpx.Limits(max_connections=args.concurrency)
    targets = {"bare ASGI + HMAC": bare, "POST /webhooks/instagram": product}
    rates: dict[str, list[float]] = {name: [] for name in targets}
    lats: dict[str, list[float]] = {name: [] for name in targets}
    counter = 0
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        for url in targets.values():  # warm-up
            bodies = [delivery(counter + i) for i in range(200)]
            counter += 200
            await run_load(client, url, bodies, args.concurrency)
        for _ in range(args.rounds):
            for name, url in targets.items():
                bodies = [delivery(counter + i) for i in range(args.requests)]
                counter += args.requests
                rate, latencies = await run_load(client, url, bodies, args.concurrency)
                rates[name].append(rate)
                lats[name].extend(latencies)
    return {
        name: {
            "rps": statistics.median(rates[name]),
            "p50_ms": pct(lats[name], 0.50),
            "p99_ms": pct(lats[name], 0.99),
        }
        for name in targets
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="per round and target")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--bare-server", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_server:
        serve_bare(args.bare_server)
        return

    tmp = tempfile.mkdtemp(prefix="socialsell-webhook-bench-")
    database_url = (
        asyncio.run(create_pg_database(args.database_url))
        if args.database_url
        else f"sqlite+aiosqlite:///{tmp}/socialsell.db"
    )
    env = {
        **os.environ,
        "SOCIALSELL_DATA_DIR": tmp,
        "SOCIALSELL_DATABASE_URL": database_url,
        "SOCIALSELL_LOG_LEVEL": "WARNING",
        "SOCIALSELL_META_APP_SECRET": SECRET,
        "SOCIALSELL_EMBEDDED_TICK": "false",
    }
    env.pop("SOCIALSELL_REDIS_URL", None)
    cli = [sys.executable, "-m", "socialsell.cli"]
    subprocess.run([*cli, "migrate"], env=env, check=True, cwd=ROOT, capture_output=True)  # noqa: S603
    port, bare_port = free_port(), free_port()
    server = subprocess.Popen(  # noqa: S603
        [*cli, "serve", "--port", str(port)], env=env, cwd=ROOT, stderr=subprocess.DEVNULL
    )
    bare = subprocess.Popen(  # noqa: S603
        [sys.executable, __file__, "--bare-server", str(bare_port)], cwd=ROOT
    )
    sent = 200 + args.rounds * args.requests
    try:
        wait_up(f"http://127.0.0.1:{port}/healthz")
        wait_up(f"http://127.0.0.1:{bare_port}/")
        results = asyncio.run(
            bench(
                f"http://127.0.0.1:{port}/webhooks/instagram",
                f"http://127.0.0.1:{bare_port}/",
                args,
            )
        )
        # Let the in-process jobs finish processing before counting.
        deadline = time.monotonic() + 120
        while True:
            stored, pending = asyncio.run(count_rows(database_url))
            if pending == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    finally:
        server.terminate()
        bare.terminate()
        server.wait(timeout=30)
        bare.wait(timeout=10)
        if args.database_url:
            asyncio.run(drop_pg_database(database_url))

    print(
        f"machine: {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        f"database: {'PostgreSQL' if args.database_url else 'SQLite (embedded)'}; jobs in-process"
    )
    print(
        f"load: {args.rounds} rounds x {args.requests} deliveries, concurrency {args.concurrency}"
    )
    print(f"{'target':<28}{'deliveries/s':>14}{'p50 ms':>10}{'p99 ms':>10}")
    for name, r in results.items():
        print(f"{name:<28}{r['rps']:>14.0f}{r['p50_ms']:>10.2f}{r['p99_ms']:>10.2f}")
    ours, bare_r = results["POST /webhooks/instagram"], results["bare ASGI + HMAC"]
    print(f"ratio intake : bare throughput = {ours['rps'] / bare_r['rps']:.2f}")
    print(
        f"stored rows: {stored} of {sent} sent ({'nothing lost' if stored == sent else 'LOST'}); "
        f"still pending: {pending}"
    )


if __name__ == "__main__":
    main()
