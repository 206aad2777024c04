"""A number's templates through the JSON API, against the sandbox's WhatsApp Cloud API: create
with Meta's rules, list and sync (paged), review outcomes, delete, and tenancy."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from meta_sandbox.testing import Sandbox
from socialsell.core.tick import Tick
from socialsell.settings import Settings
from socialsell.whatsapp.templates.models import WhatsAppTemplateSync
from tests.helpers.factories import ApiUser
from tests.helpers.instagram import rows, wait_until
from tests.helpers.tenancy import assert_other_workspace_gets_404
from tests.whatsapp.helpers import Number, connect_number, subscribe

ORDER_UPDATE: dict[str, Any] = {
    "name": "order_update",
    "category": "UTILITY",
    "language": "en_US",
    "header_format": "TEXT",
    "header_text": "Order {{1}}",
    "header_example": ["#42"],
    "body": "Hi {{1}}, your order {{2}} has shipped.",
    "body_examples": ["Ann", "#42"],
    "footer": "Sunny Shop",
    "buttons": [
        {"type": "URL", "text": "Track", "url": "https://shop.example/t/{{1}}",
         "url_example": "42"},
        {"type": "PHONE_NUMBER", "text": "Call us", "phone_number": "+15550100"},
    ],
}  # fmt: skip


def graph(number: Number, method: str, path: str, **kw: Any) -> httpx.Response:
    """Ask the sandbox's Graph API directly, as WhatsApp Manager would show it."""
    return httpx.request(
        method,
        f"{kw.pop('base')}/v23.0/{path}",
        headers={"Authorization": f"Bearer {number.account['access_token']}"},
        **kw,
    )


def meta_templates(sandbox: Sandbox, number: Number) -> list[dict[str, Any]]:
    body = graph(number, "GET", f"{number.waba_id}/message_templates", base=sandbox.url,
                 params={"limit": 500}).json()  # fmt: skip
    data: list[dict[str, Any]] = body["data"]
    return data


def decide(sandbox: Sandbox, meta_id: str, status: str, reason: str | None = None) -> None:
    body: dict[str, Any] = {"status": status}
    if reason:
        body["reason"] = reason
    sandbox.client.post(
        f"/_sandbox/whatsapp/templates/{meta_id}/decision", json=body
    ).raise_for_status()


def url(number: Number, rest: str = "") -> str:
    return f"/api/v1/whatsapp/numbers/{number.channel_id}/templates{rest}"


async def test_create_submits_for_review_and_sync_brings_the_outcome(
    client: httpx.AsyncClient, sandbox: Sandbox, seller: ApiUser
) -> None:
    number = await connect_number(client, sandbox, seller)
    created = await client.post(url(number), json=ORDER_UPDATE, headers=seller.headers)
    assert created.status_code == 201, created.text
    template = created.json()
    assert (template["status"], template["category"], template["parameter_format"]) == (
        "PENDING", "UTILITY", "POSITIONAL",
    )  # fmt: skip

    (on_meta,) = meta_templates(sandbox, number)
    assert on_meta["id"] == template["external_id"]
    assert on_meta["status"] == "PENDING"
    body = next(c for c in on_meta["components"] if c["type"] == "BODY")
    assert body["example"] == {"body_text": [["Ann", "#42"]]}
    buttons = next(c for c in on_meta["components"] if c["type"] == "BUTTONS")["buttons"]
    assert buttons[0]["example"] == ["https://shop.example/t/42"]

    decide(sandbox, template["external_id"], "REJECTED", "INVALID_FORMAT")
    synced = await client.post(url(number, "/sync"), headers=seller.headers)
    assert synced.status_code == 200, synced.text
    assert synced.json() == {"created": 0, "updated": 1, "removed": 0, "total": 1}
    listed = (await client.get(url(number), headers=seller.headers)).json()
    assert [(t["name"], t["status"], t["rejected_reason"]) for t in listed["data"]] == [
        ("order_update", "REJECTED", "INVALID_FORMAT")
    ]
    assert listed["counts"] == {"REJECTED": 1}
    assert listed["synced_at"] is not None

    # The same name in another language is another template; Meta approves it after review.
    spanish = {**ORDER_UPDATE, "language": "es_MX"}
    second = await client.post(url(number), json=spanish, headers=seller.headers)
    assert second.status_code == 201, second.text
    sandbox.advance(60)
    await client.post(url(number, "/sync"), headers=seller.headers)
    approved = (await client.get(url(number), params={"status": "approved"},
                                 headers=seller.headers)).json()  # fmt: skip
    assert [(t["language"], t["status"]) for t in approved["data"]] == [("es_MX", "APPROVED")]
    one = await client.get(url(number, f"/{second.json()['id']}"), headers=seller.headers)
    assert one.json()["quality_score"] in (None, "GREEN", "UNKNOWN")


async def test_rule_breaks_are_said_per_field_before_meta_is_asked(
    client: httpx.AsyncClient, sandbox: Sandbox, seller: ApiUser
) -> None:
    number = await connect_number(client, sandbox, seller)
    bad = {
        "name": "Order Update!",
        "category": "PROMO",
        "language": "xx",
        "header_format": "TEXT",
        "header_text": "Order {{1}} {{2}}",
        "body": "{{1}}, your order {{3}} has shipped",
        "footer": "Reply {{1}}",
        "buttons": [
            {"type": "URL", "text": "A", "url": "https://a.example/{{1}}"},
            {"type": "QUICK_REPLY", "text": "Thanks"},
            {"type": "URL", "text": "B", "url": "ftp://b.example"},
            {"type": "QUICK_REPLY", "text": "x" * 26},
            {"type": "URL", "text": "C", "url": "https://c.example"},
            {"type": "PHONE_NUMBER", "text": "Call", "phone_number": "call me"},
        ],
    }
    response = await client.post(url(number), json=bad, headers=seller.headers)
    assert response.status_code == 422, response.text
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields >= {
        "name", "category", "language", "body", "footer", "buttons",
        "buttons.0.url_example", "buttons.2.url", "buttons.3.text", "buttons.5.phone_number",
    }  # fmt: skip
    assert meta_templates(sandbox, number) == []

    missing = {**ORDER_UPDATE, "body_examples": ["Ann"], "header_example": []}
    response = await client.post(url(number), json=missing, headers=seller.headers)
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"body_examples.1", "header_example.0"}

    named = {"name": "welcome", "category": "MARKETING", "language": "pt_BR",
             "body": "Oi {{first_name}}, {{discount}} hoje!",
             "body_examples": {"first_name": "Ana"}}  # fmt: skip
    response = await client.post(url(number), json=named, headers=seller.headers)
    assert [e["field"] for e in response.json()["errors"]] == ["body_examples.discount"]
    named["body_examples"] = {"first_name": "Ana", "discount": "10%"}
    response = await client.post(url(number), json=named, headers=seller.headers)
    assert response.status_code == 201, response.text
    assert response.json()["parameter_format"] == "NAMED"
    (on_meta,) = meta_templates(sandbox, number)
    assert on_meta["parameter_format"] == "NAMED"


async def test_meta_refusal_is_shown_on_the_field(
    client: httpx.AsyncClient, sandbox: Sandbox, seller: ApiUser
) -> None:
    number = await connect_number(client, sandbox, seller)
    # Created in WhatsApp Manager, not yet synced here: Meta refuses the duplicate.
    made = graph(number, "POST", f"{number.waba_id}/message_templates", base=sandbox.url, json={
        "name": "order_update", "language": "en_US", "category": "UTILITY",
        "components": [{"type": "BODY", "text": "Shipped."}],
    })  # fmt: skip
    assert made.status_code == 200, made.text
    response = await client.post(url(number), json=ORDER_UPDATE, headers=seller.headers)
    assert response.status_code == 422, response.text
    (error,) = response.json()["errors"]
    assert error["field"] == "name"
    assert "WhatsApp refused" in error["message"]


async def test_sync_reads_every_page_and_forgets_deleted_ones_and_delete(
    client: httpx.AsyncClient, sandbox: Sandbox, seller: ApiUser
) -> None:
    number = await connect_number(client, sandbox, seller)
    for i in range(105):
        graph(number, "POST", f"{number.waba_id}/message_templates", base=sandbox.url, json={
            "name": f"promo_{i:03d}", "language": "en_US", "category": "MARKETING",
            "components": [{"type": "BODY", "text": f"Sale number {i}."}],
        }).raise_for_status()  # fmt: skip
    result = await client.post(url(number, "/sync"), headers=seller.headers)
    assert result.json() == {"created": 105, "updated": 0, "removed": 0, "total": 105}

    graph(number, "DELETE", f"{number.waba_id}/message_templates", base=sandbox.url,
          params={"name": "promo_000"}).raise_for_status()  # fmt: skip
    result = await client.post(url(number, "/sync"), headers=seller.headers)
    assert result.json() == {"created": 0, "updated": 0, "removed": 1, "total": 104}

    listed = (await client.get(url(number), headers=seller.headers)).json()["data"]
    victim = next(t for t in listed if t["name"] == "promo_001")
    deleted = await client.delete(url(number, f"/{victim['id']}"), headers=seller.headers)
    assert deleted.status_code == 204, deleted.text
    assert "promo_001" not in {t["name"] for t in meta_templates(sandbox, number)}
    gone = await client.get(url(number, f"/{victim['id']}"), headers=seller.headers)
    assert gone.status_code == 404


async def test_periodic_sync_keeps_statuses_current(
    client: httpx.AsyncClient, app: FastAPI, sandbox: Sandbox, seller: ApiUser
) -> None:
    number = await connect_number(client, sandbox, seller)
    created = (await client.post(url(number), json=ORDER_UPDATE, headers=seller.headers)).json()
    decide(sandbox, created["external_id"], "PAUSED")
    tick = Tick(
        app.state.jobs,
        claimers=["whatsapp.templates.requested_syncs"],
        periodics=["whatsapp.templates.sync_all"],
    )
    report = await tick.run_once()
    assert report.failed == []
    await Tick(app.state.jobs, claimers=["whatsapp.templates.requested_syncs"],
               periodics=[]).run_once()  # fmt: skip
    await app.state.jobs.drain()
    one = (await client.get(url(number, f"/{created['id']}"), headers=seller.headers)).json()
    assert one["status"] == "PAUSED"


async def test_another_workspace_gets_404(
    client: httpx.AsyncClient, sandbox: Sandbox, seller: ApiUser
) -> None:
    number = await connect_number(client, sandbox, seller)
    created = (await client.post(url(number), json=ORDER_UPDATE, headers=seller.headers)).json()
    one = url(number, f"/{created['id']}")
    await assert_other_workspace_gets_404(client, "GET", url(number))
    await assert_other_workspace_gets_404(client, "POST", url(number, "/sync"))
    await assert_other_workspace_gets_404(client, "POST", url(number), json=ORDER_UPDATE)
    await assert_other_workspace_gets_404(client, "GET", one)
    await assert_other_workspace_gets_404(client, "DELETE", one)
    assert len(meta_templates(sandbox, number)) == 1


async def test_a_webhook_about_an_unknown_template_brings_it_in(
    client: httpx.AsyncClient,
    app: FastAPI,
    sandbox: Sandbox,
    seller: ApiUser,
    live_server: Any,
    settings: Settings,
) -> None:
    """Made in WhatsApp Manager, then approved: the status webhook names a template we do not
    know, so the tick syncs the number and it appears, approved."""
    number = await connect_number(client, sandbox, seller)
    subscribe(sandbox, live_server.url, settings)
    made = graph(number, "POST", f"{number.waba_id}/message_templates", base=sandbox.url, json={
        "name": "made_elsewhere", "language": "es", "category": "UTILITY",
        "components": [{"type": "BODY", "text": "Su pedido fue enviado."}],
    }).json()  # fmt: skip
    decide(sandbox, made["id"], "APPROVED")

    async def requested() -> list[Any]:
        return await rows(
            app,
            select(WhatsAppTemplateSync).where(
                WhatsAppTemplateSync.channel_id == number.channel_id,
                WhatsAppTemplateSync.requested_at.is_not(None),
            ),
        )

    await wait_until(requested, what="a sync asked for by the webhook")
    report = await Tick(
        app.state.jobs, claimers=["whatsapp.templates.requested_syncs"], periodics=[]
    ).run_once()
    assert report.claimed == {"whatsapp.templates.requested_syncs": 1}
    await app.state.jobs.drain()
    listed = (await client.get(url(number), headers=seller.headers)).json()
    assert [(t["name"], t["status"]) for t in listed["data"]] == [("made_elsewhere", "APPROVED")]
    assert (await requested()) == []


async def test_a_failing_sync_is_said_and_kept_for_the_page(
    client: httpx.AsyncClient, sandbox: Sandbox, seller: ApiUser
) -> None:
    number = await connect_number(client, sandbox, seller)
    sandbox.fault("transient", count=20, path_contains="message_templates", method="GET")
    failed = await client.post(url(number, "/sync"), headers=seller.headers)
    assert failed.status_code == 502, failed.text
    assert "WhatsApp did not list the templates" in failed.json()["message"]
    listed = (await client.get(url(number), headers=seller.headers)).json()
    assert listed["sync_error"]
    assert listed["synced_at"] is None

    sandbox.client.delete("/_sandbox/faults").raise_for_status()
    ok = await client.post(url(number, "/sync"), headers=seller.headers)
    assert ok.status_code == 200
    listed = (await client.get(url(number), headers=seller.headers)).json()
    assert listed["sync_error"] is None
    assert listed["synced_at"] is not None


async def test_an_authentication_template_is_meta_s_own_text_with_a_copy_code_button(
    client: httpx.AsyncClient, sandbox: Sandbox, seller: ApiUser
) -> None:
    number = await connect_number(client, sandbox, seller)
    body = {"name": "login_code", "category": "AUTHENTICATION", "language": "en_US",
            "body": "ignored", "footer": "ignored"}  # fmt: skip
    created = await client.post(url(number), json=body, headers=seller.headers)
    assert created.status_code == 201, created.text
    (on_meta,) = meta_templates(sandbox, number)
    assert on_meta["category"] == "AUTHENTICATION"
    assert on_meta["components"] == [
        {"type": "BODY", "add_security_recommendation": True},
        {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE"}]},
    ]
