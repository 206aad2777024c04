"""Throughput and latency of an authenticated API call against the bare health check.

Starts ``socialsell serve`` in its own process on a fresh database, registers a user, then runs
the same closed-loop load (N concurrent clients, fixed number of requests) against
``GET /healthz`` and ``GET /api/v1/users/me``, alternating rounds so machine noise hits both.
The ratio shows what authentication and the session check cost.

    .venv/bin/python bench/api_bench.py [--requests 2000] [--concurrency 8] [--rounds 3]
        [--database-url postgresql+asyncpg://postgres@127.0.0.1/socialsell_bench]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def run_load(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], total: int, concurrency: int
) -> tuple[float, list[float]]:
    latencies: list[float] = []
    remaining = total

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            response = await client.get(path, headers=headers)
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise RuntimeError(f"{path} answered {response.status_code}: {response.text}")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return total / (time.perf_counter() - started), latencies


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def bench(base_url: str, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    limits = httpx.Limits(max_connections=args.concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:
        reg = await client.post(
            "/api/v1/auth/register",
            json={"email": "bench@example.com", "password": "Bench-Pass-2026", "name": "Bench"},
        )
        reg.raise_for_status()
        auth = {"Authorization": f"Bearer {reg.json()['access_token']}"}
        targets = {
            "GET /healthz": ("/healthz", {}),
            "GET /api/v1/users/me": ("/api/v1/users/me", auth),
        }
        for path, headers in targets.values():  # warm-up
            await run_load(client, path, headers, 200, args.concurrency)
        rates: dict[str, list[float]] = {name: [] for name in targets}
        lats: dict[str, list[float]] = {name: [] for name in targets}
        for _ in range(args.rounds):
            for name, (path, headers) in targets.items():
                rate, latencies = await run_load(
                    client, path, headers, args.requests, args.concurrency
                )
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
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per round and target")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--redis-url", default=None)
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="socialsell-bench-")
    env = {
        **os.environ,
        "SOCIALSELL_DATA_DIR": tmp,
        "SOCIALSELL_LOG_LEVEL": "WARNING",
        "SOCIALSELL_REGISTER_RATE_LIMIT": "1000/minute",
    }
    if args.database_url:
        env["SOCIALSELL_DATABASE_URL"] = args.database_url
    if args.redis_url:
        env["SOCIALSELL_REDIS_URL"] = args.redis_url
    cli = [sys.executable, "-m", "socialsell.cli"]
    subprocess.run([*cli, "migrate"], env=env, check=True, cwd=ROOT, capture_output=True)  # noqa: S603
    port = free_port()
    server = subprocess.Popen(  # noqa: S603
        [*cli, "serve", "--port", str(port)], env=env, cwd=ROOT, stderr=subprocess.DEVNULL
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the server did not start")
            time.sleep(0.1)
        results = asyncio.run(bench(base_url, args))
    finally:
        server.terminate()
        server.wait(timeout=10)

    print(
        f"machine: {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        f"database: {args.database_url or 'SQLite (embedded)'}; redis: {args.redis_url or 'none'}"
    )
    print(f"load: {args.rounds} rounds x {args.requests} requests, concurrency {args.concurrency}")
    print(f"{'target':<24}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
    for name, r in results.items():
        print(f"{name:<24}{r['rps']:>10.0f}{r['p50_ms']:>10.2f}{r['p99_ms']:>10.2f}")
    health, me = results["GET /healthz"], results["GET /api/v1/users/me"]
    print(f"ratio users/me : healthz throughput = {me['rps'] / health['rps']:.2f}")


if __name__ == "__main__":
    main()
