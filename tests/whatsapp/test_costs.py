"""The rate card and the monthly cost report. Totals are computed by hand in the tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from meta_sandbox.testing import Sandbox
from socialsell.channels.models import Channel
from socialsell.inbox.models import (
    Contact,
    Conversation,
    ConversationKind,
    Direction,
    Message,
    MessageKind,
    MessageStatus,
)
from socialsell.settings import Settings
from tests.helpers.factories import ApiUser, register
from tests.helpers.instagram import rows, wait_until
from tests.inbox.helpers import age_last_message
from tests.whatsapp.helpers import (
    Number,
    add_persona,
    connect_number,
    conversation_of,
    inbound,
    subscribe,
)
from tests.whatsapp.template_helpers import stored_template

RATES = {
    "rates": [
        {"market": "", "label": "Rest of world", "currency": "USD",
         "marketing": "0.025", "utility": "0.004", "authentication": "0.0035", "service": "0"},
        {"market": "55", "label": "Brazil", "currency": "BRL",
         "marketing": "0.0625", "utility": "0.008", "authentication": "0.0315", "service": 0},
        {"market": "1", "label": "North America", "currency": "USD",
         "marketing": 0.025, "utility": 0.0034, "authentication": 0.0135, "service": 0},
    ]
}  # fmt: skip


async def test_rates_are_replaced_and_checked(client: httpx.AsyncClient, seller: ApiUser) -> None:
    empty = await client.get("/api/v1/whatsapp/rates", headers=seller.headers)
    assert empty.json() == {"rates": []}
    put = await client.put("/api/v1/whatsapp/rates", json=RATES, headers=seller.headers)
    assert put.status_code == 200, put.text
    stored = {r["market"]: r for r in put.json()["rates"]}
    assert Decimal(stored["55"]["marketing"]) == Decimal("0.0625")
    assert stored["55"]["currency"] == "BRL"
    assert Decimal(stored["1"]["utility"]) == Decimal("0.0034")

    twice = {"rates": [RATES["rates"][1], {**RATES["rates"][1], "label": "Again"}]}
    response = await client.put("/api/v1/whatsapp/rates", json=twice, headers=seller.headers)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["rates.1.market"]
    bad = {"rates": [{"market": "+55", "currency": "reais", "marketing": "-1"}]}
    response = await client.put("/api/v1/whatsapp/rates", json=bad, headers=seller.headers)
    assert response.status_code == 422
    assert (
        len((await client.get("/api/v1/whatsapp/rates", headers=seller.headers)).json()["rates"])
        == 3
    )

    # Another workspace has its own (empty) card and report.
    other = await register(client, name="Other")
    assert (await client.get("/api/v1/whatsapp/rates", headers=other.headers)).json() == {
        "rates": []
    }


async def _message(
    app: FastAPI,
    number: Number,
    phone: str,
    at: datetime,
    category: str | None,
    pricing_type: str | None,
    billable: bool | None,
) -> None:
    """An outbound message whose status carried this pricing (as the webhook stores it)."""
    async with app.state.sessionmaker() as session:
        contact = await session.scalar(
            select(Contact).where(
                Contact.channel_id == number.channel_id, Contact.external_id == phone
            )
        )
        if contact is None:
            channel = await session.get(Channel, number.channel_id)
            assert channel is not None
            contact = Contact(
                workspace_id=channel.workspace_id, channel_id=number.channel_id, external_id=phone
            )
            session.add(contact)
            await session.flush()
        conversation = await session.scalar(
            select(Conversation).where(Conversation.contact_id == contact.id)
        )
        if conversation is None:
            conversation = Conversation(
                workspace_id=contact.workspace_id, channel_id=number.channel_id,
                contact_id=contact.id, kind=ConversationKind.dm,
            )  # fmt: skip
            session.add(conversation)
            await session.flush()
        session.add(
            Message(
                workspace_id=contact.workspace_id, channel_id=number.channel_id,
                conversation_id=conversation.id, direction=Direction.outbound,
                kind=MessageKind.template, status=MessageStatus.delivered,
                external_id=f"wamid.{uuid.uuid4().hex}", sent_at=at,
                pricing_category=category, pricing_type=pricing_type,
                pricing_billable=billable, priced_at=at,
            )
        )  # fmt: skip
        await session.commit()


def money(line: list[dict[str, Any]]) -> dict[str, Decimal]:
    return {m["currency"]: Decimal(m["amount"]) for m in line}


async def test_monthly_report_by_category_and_number_computed_by_hand(
    client: httpx.AsyncClient, app: FastAPI, sandbox: Sandbox, seller: ApiUser
) -> None:
    shop = await connect_number(client, sandbox, seller, verified_name="Shop SP")
    outlet = await connect_number(client, sandbox, seller, verified_name="Outlet")
    await client.put("/api/v1/whatsapp/rates", json=RATES, headers=seller.headers)

    nov = datetime(2026, 11, 3, 12, tzinfo=UTC)
    brazil, usa, france = "5511987654321", "14155550100", "33612345678"
    # Shop, November: 3 marketing to Brazil, 2 utility to the USA, 1 authentication to France,
    # 4 free service (in the window), 2 free entry point; 1 with only the old billable flag.
    for _ in range(3):
        await _message(app, shop, brazil, nov, "marketing", "regular", True)
    for _ in range(2):
        await _message(app, shop, usa, nov, "utility", "regular", True)
    await _message(app, shop, france, nov, "authentication", "regular", True)
    for _ in range(4):
        await _message(app, shop, brazil, nov, "service", "free_customer_service", False)
    for _ in range(2):
        await _message(app, shop, usa, nov, "marketing", "free_entry_point", False)
    await _message(app, shop, france, nov, "marketing", None, True)
    # Outlet, November: 1 utility to Brazil, and a free utility template inside the window.
    await _message(app, outlet, brazil, nov + timedelta(days=20), "utility", "regular", True)
    await _message(app, outlet, brazil, nov, "utility", "free_customer_service", False)
    # Not November: the last second of October and the first of December.
    await _message(app, shop, brazil, datetime(2026, 10, 31, 23, 59, 59, tzinfo=UTC),
                   "marketing", "regular", True)  # fmt: skip
    await _message(app, shop, brazil, datetime(2026, 12, 1, tzinfo=UTC), "marketing",
                   "regular", True)  # fmt: skip

    report = (
        await client.get("/api/v1/whatsapp/costs", params={"month": "2026-11"},
                         headers=seller.headers)
    ).json()  # fmt: skip
    assert (report["start"], report["end"]) == ("2026-11-01", "2026-11-30")
    assert report["messages"] == 3 + 2 + 1 + 4 + 2 + 1 + 1 + 1
    assert report["billable"] == 3 + 2 + 1 + 1 + 1
    assert report["free_customer_service"] == 4 + 1
    assert report["free_entry_point"] == 2
    assert report["without_rate"] == 0
    # By hand: BRL = 3 x 0.0625 (shop marketing) + 1 x 0.008 (outlet utility) = 0.1955;
    # USD = 2 x 0.0034 (US utility) + 1 x 0.0035 (France auth, rest of world)
    #       + 1 x 0.025 (France marketing, rest of world) = 0.0353.
    assert money(report["total"]) == {"BRL": Decimal("0.1955"), "USD": Decimal("0.0353")}
    categories = {c["category"]: c for c in report["by_category"]}
    assert (categories["marketing"]["billable"], categories["marketing"]["free"]) == (4, 2)
    assert money(categories["marketing"]["cost"]) == {
        "BRL": Decimal("0.1875"), "USD": Decimal("0.025"),
    }  # fmt: skip
    assert money(categories["utility"]["cost"]) == {
        "BRL": Decimal("0.008"),
        "USD": Decimal("0.0068"),
    }
    assert (categories["service"]["billable"], categories["service"]["free"]) == (0, 4)
    assert categories["service"]["cost"] == []

    numbers = {n["label"]: n for n in report["by_number"]}
    assert set(numbers) == {"Shop SP", "Outlet"}
    assert money(numbers["Outlet"]["cost"]) == {"BRL": Decimal("0.008")}
    assert (numbers["Outlet"]["billable"], numbers["Outlet"]["free_customer_service"]) == (1, 1)
    assert money(numbers["Shop SP"]["cost"]) == {"BRL": Decimal("0.1875"), "USD": Decimal("0.0353")}
    assert numbers["Shop SP"]["free_entry_point"] == 2

    # Without a rate for the market, billable messages are counted, not priced.
    await client.put("/api/v1/whatsapp/rates", json={"rates": [RATES["rates"][1]]},
                     headers=seller.headers)  # fmt: skip
    report = (
        await client.get("/api/v1/whatsapp/costs", params={"month": "2026-11"},
                         headers=seller.headers)
    ).json()  # fmt: skip
    assert report["without_rate"] == 2 + 1 + 1
    assert money(report["total"]) == {"BRL": Decimal("0.1955")}

    other = await register(client, name="Other")
    theirs = await client.get("/api/v1/whatsapp/costs", params={"month": "2026-11"},
                              headers=other.headers)  # fmt: skip
    assert theirs.json()["messages"] == 0
    bad = await client.get("/api/v1/whatsapp/costs", params={"month": "2026-13"},
                           headers=seller.headers)  # fmt: skip
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "month"


async def test_real_statuses_feed_the_report(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    seller: ApiUser,
    live_server: Any,
    settings: Settings,
) -> None:
    """A reply inside the window is free service; a template after it closes is billable."""
    number = await connect_number(client, sandbox, seller)
    subscribe(sandbox, live_server.url, settings)
    add_persona(sandbox, "5511900001111", "Bia")
    inbound(sandbox, number, "5511900001111", "text", text="Oi")
    conversation_id = await conversation_of(app, number)
    await client.put("/api/v1/whatsapp/rates", json=RATES, headers=seller.headers)
    reply = await client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"text": "Oi Bia!"},
        headers={**seller.headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert reply.status_code == 201, reply.text

    token = {"Authorization": f"Bearer {number.account['access_token']}"}
    created = sandbox.client.post(
        f"/v23.0/{number.waba_id}/message_templates", headers=token,
        json={"name": "promo", "language": "pt_BR", "category": "MARKETING",
              "components": [{"type": "BODY", "text": "Novidades na loja."}]},
    ).json()  # fmt: skip
    sandbox.client.post(
        f"/_sandbox/whatsapp/templates/{created['id']}/decision", json={"status": "APPROVED"}
    ).raise_for_status()
    template_id = await stored_template(
        app, number.channel_id, name="promo", language="pt_BR", category="MARKETING",
        external_id=created["id"], components=[{"type": "BODY", "text": "Novidades na loja."}],
    )  # fmt: skip
    await age_last_message(app, conversation_id, timedelta(hours=25))
    sent = await client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"template": {"template_id": str(template_id)}},
        headers={**seller.headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert sent.status_code == 201, sent.text
    sandbox.advance(5)

    async def priced() -> list[Message]:
        found = await rows(app, select(Message).where(Message.priced_at.is_not(None)))
        return found if len(found) == 2 else []

    await wait_until(priced, what="both messages priced")
    month = datetime.now(UTC).strftime("%Y-%m")
    report = (
        await client.get("/api/v1/whatsapp/costs", params={"month": month}, headers=seller.headers)
    ).json()
    assert report["free_customer_service"] == 1
    assert report["billable"] == 1
    assert money(report["total"]) == {"BRL": Decimal("0.0625")}
