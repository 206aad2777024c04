"""Search: word stems, phrases, exclusions and accent-free spelling, on an index on both
databases (EXPLAIN shows it on PostgreSQL), with highlighted snippets."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from meta_sandbox.testing import Sandbox
from socialsell.inbox.search import fts5_query, parse_query, pg_statement
from socialsell.settings import Settings
from tests.channels.conftest import Consent
from tests.conftest import BACKEND
from tests.helpers.factories import ApiUser
from tests.helpers.instagram import connect_shop, post_delivery
from tests.webhooks import payloads

TEXTS = [
    "Which shoes are available in size 38?",
    "I loved the red dress, is it still available?",
    "The dress is red? I wanted a blue one",
    "O café da manhã está incluído?",
    "Adorei o vestido, você envia para São Paulo?",
]


async def _seed(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    settings: Settings,
) -> None:
    shop = await connect_shop(client, sandbox, consent, seller)
    secret = settings.meta_app_secret.get_secret_value()
    for i, words in enumerate(TEXTS):
        body = payloads.text(shop.ig_id, f"c{i}", words, at_ms=payloads.BASE_MS + i)
        assert (await post_delivery(client, secret, body)).status_code == 200
    await app.state.jobs.drain()


async def _search(client: httpx.AsyncClient, seller: ApiUser, q: str) -> list[dict[str, object]]:
    response = await client.get("/api/v1/messages/search", params={"q": q}, headers=seller.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["items"]
    return items


def _texts(items: list[dict[str, object]]) -> set[str]:
    return {str(i["message"]["text"]) for i in items}  # type: ignore[index]


async def test_stems_phrases_exclusions_and_accents(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    settings: Settings,
) -> None:
    await _seed(client, app, sandbox, consent, seller, settings)
    # Stems: "shoe" finds "shoes", "love" finds "loved".
    assert _texts(await _search(client, seller, "shoe")) == {TEXTS[0]}
    assert _texts(await _search(client, seller, "love")) == {TEXTS[1]}
    # Phrases: both dress messages say red, only one says "red dress".
    assert _texts(await _search(client, seller, "red dress")) == {TEXTS[1], TEXTS[2]}
    assert _texts(await _search(client, seller, '"red dress"')) == {TEXTS[1]}
    # Exclusion.
    assert _texts(await _search(client, seller, "dress -blue")) == {TEXTS[1]}
    # Accents are ignored both ways.
    assert _texts(await _search(client, seller, "cafe manha")) == {TEXTS[3]}
    assert _texts(await _search(client, seller, "SÃO PÁULO")) == {TEXTS[4]}
    assert _texts(await _search(client, seller, "sao paulo")) == {TEXTS[4]}
    # Nothing to find, or nothing to search for.
    assert await _search(client, seller, "bicycle") == []
    assert await _search(client, seller, "-dress") == []
    assert await _search(client, seller, '"" -') == []


async def test_hits_carry_a_highlighted_snippet_and_their_conversation(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    settings: Settings,
) -> None:
    await _seed(client, app, sandbox, consent, seller, settings)
    (hit,) = await _search(client, seller, "cafe")
    assert hit["snippet"] == "O <mark>café</mark> da manhã está incluído?"
    assert hit["conversation"]["contact"]["external_id"] == "c3"  # type: ignore[index]
    (shoes,) = await _search(client, seller, "shoe")
    assert "<mark>shoes</mark>" in str(shoes["snippet"])


async def test_search_uses_the_index(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    consent: Consent,
    seller: ApiUser,
    settings: Settings,
) -> None:
    """PostgreSQL: a bitmap scan on the GIN index. SQLite: the FTS5 table's own index."""
    await _seed(client, app, sandbox, consent, seller, settings)
    parsed = parse_query('"red dress" -blue')
    async with app.state.sessionmaker() as session:
        if BACKEND == "postgres":
            from sqlalchemy import select

            from socialsell.inbox.models import Message

            workspace_id = (await session.scalars(select(Message.workspace_id).limit(1))).one()
            stmt = pg_statement(workspace_id, parsed, 25, 0)
            # A five-row table is cheaper to scan than any index: give the workspace 5,000
            # more messages, as a real inbox has, so that the planner's choice means something.
            await session.execute(
                text(
                    "INSERT INTO messages (id, workspace_id, channel_id, conversation_id, "
                    "direction, kind, status, text, search_text, media, media_pending, "
                    "media_attempts, details, reactions, sent_at, received_at, edit_count, "
                    "created_at, updated_at) "
                    "SELECT gen_random_uuid(), workspace_id, channel_id, conversation_id, "
                    "direction, kind, status, 'filler ' || g, 'filler number ' || g, '[]', "
                    "false, 0, '{}', '[]', sent_at, received_at, 0, created_at, updated_at "
                    "FROM messages, generate_series(1, 5000) AS g "
                    "WHERE messages.id = (SELECT id FROM messages LIMIT 1)"
                )
            )
            await session.execute(text("ANALYZE messages"))
            compiled = stmt.compile(
                dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True}
            )
            plan = list((await session.execute(text(f"EXPLAIN {compiled}"))).scalars())
            assert any("ix_messages_search" in line for line in plan), "\n".join(plan)
        else:
            rows = await session.execute(
                text(
                    "EXPLAIN QUERY PLAN SELECT m.id FROM messages_fts "
                    "JOIN messages AS m ON m.rowid = messages_fts.rowid "
                    "WHERE messages_fts MATCH :q"
                ),
                {"q": fts5_query(parsed)},
            )
            plan = [str(r[-1]) for r in rows]
            assert any("VIRTUAL TABLE INDEX" in line for line in plan), "\n".join(plan)
