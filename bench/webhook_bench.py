"""Webhook intake: sustained deliveries per second and ack latency of ``POST /webhooks/instagram``
on one web process, next to a bare ASGI endpoint that computes the same HMAC under the same
uvicorn (uvloop + httptools) in the same run; then a count of the stored rows (nothing lost).

The load generator is ``wrk`` (Debian package ``wrk``) with a Lua script that cycles through
signed bodies computed beforehand, so the generator costs little. On a 2-core machine the
generator is pinned to one core (``--load-cpu``) and the server to the other (``--server-cpu``)
with ``taskset``. Rounds alternate between the two targets so that machine noise hits both.

Setups:
- ``--database-url postgresql+asyncpg://...`` (a fresh database is created next to it) with
  ``--redis-url``: production. The web process stores the delivery, commits, answers 200 and
  sends the job to Redis; no worker runs during the load (processing is measured elsewhere),
  then ``--process`` starts one ``socialsell worker`` to work the backlog off.
- without ``--database-url``: SQLite, embedded jobs (deliveries processed inside the web process
  while the load runs, as in a one-process install).

    .venv/bin/python bench/webhook_bench.py --rounds 5 --duration 10 --connections 32 \\
        --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/postgres \\
        --redis-url redis://127.0.0.1:6379/4
    .venv/bin/python bench/webhook_bench.py --rounds 5 --duration 10 --connections 32
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import platform
import re
import shutil
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
BARE = "bare ASGI + HMAC"
INTAKE = "POST /webhooks/instagram"

# wrk calls init() once per thread with the arguments after "--": the file of signed bodies.
# Requests are formatted once, up front; request() only hands the next one out.
LUA = r"""
local requests = {}
local i = 0
function init(args)
  for line in io.lines(args[1]) do
    local tab = line:find("\t", 1, true)
    local sig = line:sub(1, tab - 1)
    local body = line:sub(tab + 1)
    table.insert(requests, wrk.format("POST", nil,
      {["Content-Type"] = "application/json", ["X-Hub-Signature-256"] = sig}, body))
  end
  i = math.random(#requests)
end
function request()
  i = i + 1
  if i > #requests then i = 1 end
  return requests[i]
end
"""


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

    uvicorn.run(
        bare_app,
        host="127.0.0.1",
        port=port,
        access_log=False,
        log_level="warning",
        loop="uvloop",
        http="httptools",
    )


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


def write_bodies(path: Path, count: int) -> None:
    with path.open("w") as out:
        for n in range(count):
            body, sig = delivery(n)
            out.write(f"{sig}\t{body.decode()}\n")


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def wrk(url: str, script: Path, bodies: Path, args: argparse.Namespace) -> dict[str, float]:
    command = [
        "wrk",
        "-t1",
        f"-c{args.connections}",
        f"-d{args.duration}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(script),
        url,
        "--",
        str(bodies),
    ]
    if args.load_cpu is not None:
        command = ["taskset", "-c", str(args.load_cpu), *command]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout  # noqa: S603
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    latency = dict(re.findall(r"^\s+(50|99)(?:\.000)?%\s+(\S+)\s*$", out, re.MULTILINE))
    if set(latency) != {"50", "99"}:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    return {
        "requests": requests,
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50_ms": _ms(latency["50"]),
        "p99_ms": _ms(latency["99"]),
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": sum(int(g) for g in errors.groups()) if errors else 0,
    }


# --- setup ---------------------------------------------------------------------------------------


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


async def count_rows(database_url: str) -> dict[str, int]:
    from sqlalchemy import text

    from socialsell.db import create_engine

    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    text("SELECT status, count(*) FROM webhook_deliveries GROUP BY status")
                )
            ).all()
    finally:
        await engine.dispose()
    return {str(status): int(n) for status, n in rows}


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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux): what a request costs the server,
    whatever else the machine is busy with."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pinned(cpu: int | None, command: list[str]) -> list[str]:
    return command if cpu is None else ["taskset", "-c", str(cpu), *command]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per round and target")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--bodies", type=int, default=5000, help="distinct signed bodies")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--redis-url", default=None)
    parser.add_argument("--process", action="store_true", help="work the backlog off after")
    parser.add_argument("--server-cpu", type=int, default=1)
    parser.add_argument("--load-cpu", type=int, default=0)
    parser.add_argument("--log-level", default="INFO", help="the server's (INFO: the default)")
    parser.add_argument("--profile", default=None, help="py-spy binary: record the intake")
    parser.add_argument("--bare-server", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_server:
        serve_bare(args.bare_server)
        return
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")

    tmp = Path(tempfile.mkdtemp(prefix="socialsell-webhook-bench-"))
    script, bodies = tmp / "post.lua", tmp / "bodies.tsv"
    script.write_text(LUA)
    write_bodies(bodies, args.bodies)
    database_url = (
        asyncio.run(create_pg_database(args.database_url))
        if args.database_url
        else f"sqlite+aiosqlite:///{tmp}/socialsell.db"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIALSELL_")}
    env.update(
        {
            "SOCIALSELL_DATA_DIR": str(tmp),
            "SOCIALSELL_DATABASE_URL": database_url,
            "SOCIALSELL_LOG_LEVEL": args.log_level,
            "SOCIALSELL_META_APP_SECRET": SECRET,
            "SOCIALSELL_EMBEDDED_TICK": "false",
        }
    )
    if args.redis_url:
        import redis

        redis.Redis.from_url(args.redis_url).flushdb()
        env["SOCIALSELL_REDIS_URL"] = args.redis_url
        env["SOCIALSELL_JOBS_QUEUE_NAME"] = "socialsell:webhook-bench"
    cli = [sys.executable, "-m", "socialsell.cli"]
    try:
        subprocess.run([*cli, "migrate"], env=env, check=True, cwd=ROOT, capture_output=True)  # noqa: S603
    except subprocess.CalledProcessError:
        if args.database_url:
            asyncio.run(drop_pg_database(database_url))
        raise
    port, bare_port = free_port(), free_port()
    server = subprocess.Popen(  # noqa: S603
        pinned(args.server_cpu, [*cli, "serve", "--port", str(port)]),
        env=env,
        cwd=ROOT,
        stderr=subprocess.DEVNULL,
    )
    bare = subprocess.Popen(  # noqa: S603
        pinned(args.server_cpu, [sys.executable, __file__, "--bare-server", str(bare_port)]),
        cwd=ROOT,
    )
    targets = {
        BARE: f"http://127.0.0.1:{bare_port}/",
        INTAKE: f"http://127.0.0.1:{port}/webhooks/instagram",
    }
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
    load_before = os.getloadavg()[0]
    worker: subprocess.Popen[bytes] | None = None
    try:
        wait_up(f"http://127.0.0.1:{port}/healthz")
        wait_up(targets[BARE])
        warm = argparse.Namespace(**{**vars(args), "duration": 2})
        for url in targets.values():
            wrk(url, script, bodies, warm)
        warmed = sum(count_rows_sync(database_url).values())
        profiler = None
        for n in range(args.rounds):
            for name, url in targets.items():
                if args.profile and name == INTAKE and n == 0:
                    profiler = subprocess.Popen(  # noqa: S603
                        [
                            args.profile,
                            "record",
                            "--pid",
                            str(server.pid),
                            "--duration",
                            str(args.duration),
                            "--format",
                            "raw",
                            "--output",
                            str(tmp / "intake.folded"),
                        ],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                pid = (bare if name == BARE else server).pid
                cpu_before = cpu_seconds(pid)
                result = wrk(url, script, bodies, args)
                result["cpu_ms"] = (cpu_seconds(pid) - cpu_before) * 1000 / result["requests"]
                runs[name].append(result)
        if profiler is not None:
            profiler.wait(timeout=60)
        load_after = os.getloadavg()[0]
        counted = count_rows_sync(database_url)
        if args.process and args.redis_url:
            worker = subprocess.Popen(  # noqa: S603
                [*cli, "worker"],
                env=env,
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        if args.process or not args.redis_url:
            deadline = time.monotonic() + 600
            while counted.get("pending", 0) and time.monotonic() < deadline:
                time.sleep(1)
                counted = count_rows_sync(database_url)
    finally:
        for proc in (server, bare, worker):
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=30)
        if args.database_url:
            asyncio.run(drop_pg_database(database_url))

    setup = "SQLite (embedded jobs in the web process)"
    if args.database_url:
        setup = "PostgreSQL" + (" + Redis (jobs to Redis)" if args.redis_url else ", embedded jobs")
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"setup: {setup}; server on cpu {args.server_cpu}, wrk on cpu {args.load_cpu}")
    print(f"load average: {load_before:.2f} before, {load_after:.2f} after")
    print(
        f"load: {args.rounds} rounds x {args.duration} s per target, "
        f"wrk 1 thread, {args.connections} connections"
    )
    print(
        f"{'target':<28}{'deliveries/s':>14}{'p50 ms':>10}{'p99 ms':>10}{'CPU ms/req':>12}"
        "   per round (req/s)"
    )
    medians: dict[str, dict[str, float]] = {}
    for name, results in runs.items():
        medians[name] = {
            key: statistics.median([r[key] for r in results])
            for key in ("rps", "p50_ms", "p99_ms", "cpu_ms")
        }
        m = medians[name]
        each = ", ".join(f"{r['rps']:.0f}" for r in results)
        print(
            f"{name:<28}{m['rps']:>14.0f}{m['p50_ms']:>10.2f}{m['p99_ms']:>10.2f}"
            f"{m['cpu_ms']:>12.3f}   {each}"
        )
    ratio = medians[INTAKE]["rps"] / medians[BARE]["rps"]
    print(f"ratio intake : bare throughput (medians) = {ratio:.2f}")
    answered = sum(r["requests"] - r["non_2xx"] for r in runs[INTAKE])
    refused = sum(r["non_2xx"] for r in runs[INTAKE])
    stored = sum(counted.values()) - warmed
    print(
        f"intake: {answered} answered 200, {refused} non-2xx, "
        f"{sum(r['socket_errors'] for r in runs[INTAKE])} socket errors; "
        f"rows stored by the measured rounds: {stored} "
        f"({'nothing acknowledged was lost' if stored >= answered else 'LOST'}); "
        f"by status: {counted}"
    )
    if args.profile:
        print(f"profile: {tmp / 'intake.folded'}")


def count_rows_sync(database_url: str) -> dict[str, int]:
    return asyncio.run(count_rows(database_url))


if __name__ == "__main__":
    main()
