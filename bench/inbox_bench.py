"""Inbox queries at scale on PostgreSQL: 1,000,000 messages in 100,000 conversations (one
workspace: the worst case for a tenant), then p50/p95 of the queries the inbox runs — the
conversation list (first page and a deep keyset page), a thread page (newest and older), and
full-text search (common word, rare word, phrase, exclusion) — through the product's own
repository and search code.

    .venv/bin/python bench/inbox_bench.py [--scale 1.0] [--iterations 100]
        [--database-url postgresql+asyncpg://postgres@127.0.0.1/postgres]

``--scale 0.1`` loads 100,000 messages in 10,000 conversations. A fresh database is created
next to the given URL and dropped at the end (``--keep`` keeps it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import text

from socialsell import migrations
from socialsell.core.pagination import PageParams
from socialsell.db import create_engine, create_sessionmaker
from socialsell.inbox.repository import ConversationFilters, InboxRepository
from socialsell.inbox.search import fold, search_ids

WORDS = [
    "hello",
    "hi",
    "thanks",
    "please",
    "price",
    "size",
    "color",
    "available",
    "delivery",
    "shipping",
    "order",
    "pay",
    "pix",
    "card",
    "dress",
    "shoes",
    "bag",
    "shirt",
    "skirt",
    "jeans",
    "jacket",
    "ring",
    "necklace",
    "earrings",
    "red",
    "blue",
    "green",
    "black",
    "white",
    "small",
    "medium",
    "large",
    "stock",
    "tomorrow",
    "today",
    "week",
    "store",
    "address",
    "photo",
    "link",
    "discount",
    "promo",
    "olá",
    "obrigado",
    "preço",
    "tamanho",
    "cor",
    "disponível",
    "entrega",
    "frete",
    "pedido",
    "pagar",
    "cartão",
    "vestido",
    "sapato",
    "bolsa",
    "camisa",
    "saia",
    "calça",
    "jaqueta",
    "anel",
    "colar",
    "brinco",
    "vermelho",
    "azul",
    "verde",
    "preto",
    "branco",
    "pequeno",
    "médio",
    "grande",
    "estoque",
    "amanhã",
    "hoje",
    "semana",
    "loja",
    "endereço",
    "foto",
    "desconto",
    "promoção",
    "você",
    "está",
    "quero",
    "gostaria",
    "pode",
    "quanto",
    "custa",
    "tem",
    "ainda",
    "mais",
    "menos",
    "muito",
    "bonito",
    "lindo",
    "amei",
    "adorei",
]
RARE = "turquoise"
# Real inboxes also hold names, product codes and typos: a long tail of words each seen rarely,
# which is what the planner's statistics (and so its choice of index) depend on.
_TAIL_RNG = random.Random(1)
TAIL = [
    "".join(_TAIL_RNG.choice("bcdfghjklmnpqrstvwxz") + _TAIL_RNG.choice("aeiou") for _ in range(3))
    for _ in range(20_000)
]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def create_database(base_url: str) -> str:
    root = base_url.replace("postgresql+asyncpg://", "postgresql://").rsplit("/", 1)[0]
    name = f"socialsell_inbox_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(f"{root}/postgres")
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"{root.replace('postgresql://', 'postgresql+asyncpg://')}/{name}"


async def drop_database(url: str) -> None:
    root, name = url.replace("postgresql+asyncpg://", "postgresql://").rsplit("/", 1)
    conn = await asyncpg.connect(f"{root}/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def sentence(rng: random.Random) -> str:
    words = [
        rng.choice(WORDS)
        if rng.random() < 0.8
        else TAIL[min(int(rng.paretovariate(0.6)), 20_000) - 1]
        for _ in range(rng.randint(4, 14))
    ]
    if rng.random() < 0.0002:
        words.insert(rng.randint(0, len(words)), RARE)
    return " ".join(words).capitalize() + rng.choice(["?", "!", ".", ""])


async def load(url: str, conversations: int, messages: int) -> uuid.UUID:
    rng = random.Random(42)
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    now = datetime.now(UTC)
    try:
        workspace_id, channel_id = uuid.uuid4(), uuid.uuid4()
        await conn.execute(
            "INSERT INTO workspaces (id, name, timezone, created_at, updated_at) "
            "VALUES ($1, 'Bench', 'UTC', $2, $2)",
            workspace_id,
            now,
        )
        await conn.execute(
            "INSERT INTO channels (id, workspace_id, platform, external_id, username, name, color, "
            "details, status, scopes, webhook_fields, api_usage, connected_at, created_at, "
            "updated_at) VALUES ($1, $2, 'instagram', '17841400000000001', 'bench', 'Bench', "
            "'#7c3aed', '{}', 'active', '[]', '[]', '{}', $3, $3, $3)",
            channel_id,
            workspace_id,
            now,
        )
        contact_ids = [uuid.uuid4() for _ in range(conversations)]
        await conn.copy_records_to_table(
            "contacts",
            columns=[
                "id",
                "workspace_id",
                "channel_id",
                "external_id",
                "username",
                "created_at",
                "updated_at",
            ],
            records=[
                (cid, workspace_id, channel_id, f"igsid{i}", f"customer_{i}", now, now)
                for i, cid in enumerate(contact_ids)
            ],
        )
        conv_ids = [uuid.uuid4() for _ in range(conversations)]
        # Messages spread over the last year; each conversation gets a Zipf-ish share.
        start = now - timedelta(days=365)
        per_conv = [1] * conversations
        for _ in range(messages - conversations):
            per_conv[
                min(int(rng.paretovariate(1.2)) - 1, conversations - 1)
                if rng.random() < 0.3
                else rng.randrange(conversations)
            ] += 1
        await conn.execute("DROP INDEX ix_messages_search_vector")  # built once, after the load
        last_at: dict[int, datetime] = {}
        batch: list[tuple[Any, ...]] = []
        done = 0
        for ci, count in enumerate(per_conv):
            t = start + timedelta(seconds=rng.randrange(365 * 86400 - 86400))
            for _ in range(count):
                t += timedelta(seconds=rng.randrange(5, 3600))
                words = sentence(rng)
                inbound = rng.random() < 0.6
                batch.append(
                    (
                        uuid.uuid4(),
                        workspace_id,
                        channel_id,
                        conv_ids[ci],
                        "inbound" if inbound else "outbound",
                        "text",
                        "received" if inbound else "sent",
                        words,
                        fold(words),
                        "[]",
                        False,
                        0,
                        "{}",
                        "[]",
                        f"mid{done}",
                        t,
                        t,
                        0,
                        t,
                        t,
                    )
                )
                done += 1
            last_at[ci] = t
            if len(batch) >= 50_000:
                await _copy_messages(conn, batch)
                batch = []
        if batch:
            await _copy_messages(conn, batch)
        await conn.copy_records_to_table(
            "conversations",
            columns=[
                "id",
                "workspace_id",
                "channel_id",
                "contact_id",
                "kind",
                "thread_key",
                "status",
                "unread_count",
                "last_message_at",
                "last_message_preview",
                "created_at",
                "updated_at",
            ],
            records=[
                (
                    conv_ids[i],
                    workspace_id,
                    channel_id,
                    contact_ids[i],
                    "dm",
                    "",
                    "open",
                    rng.randrange(3),
                    last_at[i],
                    "…",
                    now,
                    now,
                )
                for i in range(conversations)
            ],
        )
        started = time.perf_counter()
        await conn.execute(
            "CREATE INDEX ix_messages_search_vector ON messages USING gin (search_vector)"
        )
        print(f"GIN index built in {time.perf_counter() - started:.1f} s")
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return workspace_id


async def _copy_messages(conn: asyncpg.Connection, batch: list[tuple[Any, ...]]) -> None:
    await conn.copy_records_to_table(
        "messages",
        columns=[
            "id",
            "workspace_id",
            "channel_id",
            "conversation_id",
            "direction",
            "kind",
            "status",
            "text",
            "search_text",
            "media",
            "media_pending",
            "media_attempts",
            "details",
            "reactions",
            "external_id",
            "sent_at",
            "received_at",
            "edit_count",
            "created_at",
            "updated_at",
        ],
        records=batch,
    )


async def measure(
    name: str, fn: Callable[[], Awaitable[Any]], iterations: int, results: dict[str, Any]
) -> None:
    for _ in range(3):
        await fn()
    times = []
    for _ in range(iterations):
        started = time.perf_counter()
        await fn()
        times.append(time.perf_counter() - started)
    results[name] = {"p50_ms": pct(times, 0.5), "p95_ms": pct(times, 0.95), "n": iterations}


async def run_queries(url: str, workspace_id: uuid.UUID, iterations: int) -> dict[str, Any]:
    engine = create_engine(url)
    maker = create_sessionmaker(engine)
    rng = random.Random(7)
    results: dict[str, Any] = {}
    try:
        async with maker() as session:
            conv_ids = list((await session.execute(text("SELECT id FROM conversations"))).scalars())
            big = list(
                (
                    await session.execute(
                        text(
                            "SELECT conversation_id FROM messages GROUP BY conversation_id "
                            "HAVING count(*) >= 100 LIMIT 50"
                        )
                    )
                ).scalars()
            )
            repo = InboxRepository(session, workspace_id)
            filters = ConversationFilters()
            _first, cursor = await repo.conversations(filters, PageParams(limit=25))
            deep_cursor = cursor
            for _ in range(40):  # 1,000 conversations down
                _, deep_cursor = await repo.conversations(
                    filters, PageParams(limit=25, cursor=deep_cursor)
                )

            async def list_first() -> None:
                await repo.conversations(filters, PageParams(limit=25))

            async def list_deep() -> None:
                await repo.conversations(filters, PageParams(limit=25, cursor=deep_cursor))

            async def list_unread() -> None:
                await repo.conversations(ConversationFilters(unread=True), PageParams(limit=25))

            async def thread_newest() -> None:
                await repo.messages(rng.choice(conv_ids), PageParams(limit=50))

            async def thread_older() -> None:
                conv = rng.choice(big or conv_ids)
                _, older = await repo.messages(conv, PageParams(limit=50))
                await repo.messages(conv, PageParams(limit=50, cursor=older))

            await measure("conversations: first page (25)", list_first, iterations, results)
            await measure("conversations: page 41 (keyset)", list_deep, iterations, results)
            await measure("conversations: unread filter", list_unread, iterations, results)
            await measure("thread: newest 50", thread_newest, iterations, results)
            await measure("thread: newest + older page", thread_older, iterations, results)
            for label, query in [
                ("search: common word", "vestido"),
                ("search: rare word", RARE),
                ("search: phrase", '"red dress"'),
                ("search: word -exclusion", "shoes -blue"),
                ("search: accent-free", "promocao"),
            ]:

                async def search(q: str = query) -> None:
                    await search_ids(session, workspace_id, q, limit=25, offset=0)

                await measure(label, search, iterations, results)
            plan = (
                await session.execute(
                    text(
                        "EXPLAIN SELECT id FROM messages WHERE workspace_id = :ws AND "
                        "search_vector @@ websearch_to_tsquery('english'::regconfig, :q) "
                        "ORDER BY sent_at DESC LIMIT 25"
                    ),
                    {"ws": workspace_id, "q": RARE},
                )
            ).scalars()
            results["plan (rare word)"] = [p for p in plan if "Index" in p or "Scan" in p]
            plan = (
                await session.execute(
                    text(
                        "EXPLAIN SELECT id FROM messages WHERE workspace_id = :ws AND "
                        "search_vector @@ websearch_to_tsquery('english'::regconfig, :q) "
                        "ORDER BY sent_at DESC LIMIT 25"
                    ),
                    {"ws": workspace_id, "q": "vestido"},
                )
            ).scalars()
            results["plan (common word)"] = [p for p in plan if "Index" in p or "Scan" in p]
    finally:
        await engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument(
        "--database-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    )
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    conversations = max(10, int(100_000 * args.scale))
    messages = max(conversations, int(1_000_000 * args.scale))
    url = asyncio.run(create_database(args.database_url))
    try:
        migrations.upgrade(url)
        started = time.perf_counter()
        workspace_id = asyncio.run(_load_without_fk(url, conversations, messages))
        load_seconds = time.perf_counter() - started
        results = asyncio.run(run_queries(url, workspace_id, args.iterations))
    finally:
        if not args.keep:
            asyncio.run(drop_database(url))
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        f"data: {messages:,} messages in {conversations:,} conversations (one workspace); "
        f"loaded in {load_seconds:.0f} s"
    )
    print(f"{'query':<36}{'p50 ms':>10}{'p95 ms':>10}")
    for name, r in results.items():
        if isinstance(r, dict):
            print(f"{name:<36}{r['p50_ms']:>10.2f}{r['p95_ms']:>10.2f}")
    print("plan of a rare-word search: " + json.dumps(results.get("plan (rare word)")))
    print("plan of a common-word search: " + json.dumps(results.get("plan (common word)")))


async def _load_without_fk(url: str, conversations: int, messages: int) -> uuid.UUID:
    # Messages are copied before their conversations (the conversations' last activity is known
    # only then): replica mode skips the foreign-key triggers during the bulk load.
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        db = dsn.rsplit("/", 1)[1]
        await conn.execute(f"ALTER DATABASE \"{db}\" SET session_replication_role = 'replica'")
    finally:
        await conn.close()
    try:
        return await load(url, conversations, messages)
    finally:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(f'ALTER DATABASE "{db}" RESET session_replication_role')
        finally:
            await conn.close()


if __name__ == "__main__":
    main()
