"""``python -m socialsell.devtools.services PG_URL REDIS_URL``: exit 0 when both answer.

`make test` uses it to decide whether the PostgreSQL + Redis suite can run here."""

from __future__ import annotations

import socket
import sys
from urllib.parse import urlsplit


def reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), 2
        ):
            return True
    except OSError:
        return False


def main(argv: list[str]) -> int:
    postgres_url, redis_url = argv
    return 0 if reachable(postgres_url, 5432) and reachable(redis_url, 6379) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
