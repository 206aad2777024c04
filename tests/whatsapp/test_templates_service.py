"""The two template functions the WhatsApp backend calls: applying Meta's template webhooks and
rendering a template send."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from socialsell.channels.models import Channel
from socialsell.core.errors import ValidationFailed
from socialsell.db import utcnow
from socialsell.settings import Settings
from socialsell.whatsapp.templates import service
from socialsell.whatsapp.templates.models import WhatsAppTemplateSync
from socialsell.whatsapp.templates.schemas import TemplateParameters, TemplateSend
from tests.helpers.factories import register
from tests.whatsapp.template_helpers import (
    stored_number,
    stored_template,
    template_row,
    workspace_of,
)

ORDER_UPDATE = [
    {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}"},
    {"type": "BODY", "text": "Hi {{1}}, your order {{2}} has shipped."},
    {"type": "FOOTER", "text": "Jaspers Market"},
    {
        "type": "BUTTONS",
        "buttons": [
            {"type": "URL", "text": "Track", "url": "https://shop.example/track/{{1}}"},
            {"type": "QUICK_REPLY", "text": "Thanks"},
            {"type": "PHONE_NUMBER", "text": "Call us", "phone_number": "+15550100"},
        ],
    },
]


async def _number(client: httpx.AsyncClient, app: FastAPI) -> tuple[uuid.UUID, uuid.UUID]:
    user = await register(client)
    workspace_id = await workspace_of(app, user)
    return workspace_id, await stored_number(app, workspace_id, f"pn{uuid.uuid4().hex[:10]}")


async def _webhook(
    app: FastAPI, channel_id: uuid.UUID, field: str, value: dict[str, object], **kw: object
) -> None:
    async with app.state.sessionmaker() as session:
        channel = await session.get(Channel, channel_id)
        assert channel is not None
        await service.apply_template_webhook(session, channel, field, value, **kw)  # type: ignore[arg-type]
        await session.commit()


async def test_status_updates_reject_with_reason_then_approve_idempotently(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, channel_id = await _number(client, app)
    template_id = await stored_template(
        app, channel_id, name="order_update", components=ORDER_UPDATE, status="PENDING",
        external_id="9001",
    )  # fmt: skip
    rejected = {
        "event": "REJECTED",
        "message_template_id": 9001,
        "message_template_name": "order_update",
        "message_template_language": "en_US",
        "reason": "INCORRECT_CATEGORY",
    }
    at = utcnow()
    for _ in range(2):  # Meta delivers twice sometimes: the second changes nothing
        await _webhook(app, channel_id, "message_template_status_update", rejected, at=at)
        row = await template_row(app, template_id)
        assert row is not None
        assert (row.status, row.rejected_reason) == ("REJECTED", "INCORRECT_CATEGORY")
        assert row.status_updated_at == at
    # A repeat without the reason keeps the one we know.
    await _webhook(
        app, channel_id, "message_template_status_update", {**rejected, "reason": "NONE"}
    )
    row = await template_row(app, template_id)
    assert row is not None
    assert row.rejected_reason == "INCORRECT_CATEGORY"

    # Found by name and language when the id is not given.
    approved = {"event": "APPROVED", "message_template_name": "order_update",
                "message_template_language": "en_US", "reason": "NONE"}  # fmt: skip
    await _webhook(
        app, channel_id, "message_template_status_update", approved, at=at + timedelta(seconds=1)
    )
    row = await template_row(app, template_id)
    assert row is not None
    assert (row.status, row.rejected_reason) == ("APPROVED", None)

    # An older status (by the entry's time) does not overwrite a newer one.
    paused = {**approved, "event": "PAUSED"}
    await _webhook(
        app, channel_id, "message_template_status_update", paused, at=at - timedelta(hours=1)
    )
    row = await template_row(app, template_id)
    assert row is not None
    assert row.status == "APPROVED"
    await _webhook(
        app, channel_id, "message_template_status_update",
        {**paused, "other_info": {"title": "FIRST_PAUSE", "description": "Low quality"}},
        at=at + timedelta(seconds=2),
    )  # fmt: skip
    row = await template_row(app, template_id)
    assert row is not None
    assert (row.status, row.status_detail) == ("PAUSED", "FIRST_PAUSE Low quality")


async def test_quality_and_category_updates(client: httpx.AsyncClient, app: FastAPI) -> None:
    _, channel_id = await _number(client, app)
    template_id = await stored_template(
        app, channel_id, name="promo", components=ORDER_UPDATE, external_id="77"
    )
    await _webhook(
        app, channel_id, "message_template_quality_update",
        {"previous_quality_score": "GREEN", "new_quality_score": "YELLOW",
         "message_template_id": 77, "message_template_name": "promo",
         "message_template_language": "en_US"},
    )  # fmt: skip
    await _webhook(
        app, channel_id, "template_category_update",
        {"message_template_id": 77, "message_template_name": "promo",
         "message_template_language": "en_US", "previous_category": "UTILITY",
         "new_category": "MARKETING"},
    )  # fmt: skip
    row = await template_row(app, template_id)
    assert row is not None
    assert (row.quality_score, row.category, row.previous_category) == (
        "YELLOW", "MARKETING", "UTILITY",
    )  # fmt: skip
    # Nonsense from Meta changes nothing and raises nothing.
    await _webhook(app, channel_id, "message_template_quality_update",
                   {"message_template_id": 77, "new_quality_score": "PURPLE"})  # fmt: skip
    await _webhook(app, channel_id, "message_template_status_update", {"event": None})
    row = await template_row(app, template_id)
    assert row is not None
    assert row.quality_score == "YELLOW"


async def test_unknown_template_asks_for_a_sync_and_deleted_is_removed(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, channel_id = await _number(client, app)
    async with app.state.sessionmaker() as session:
        assert await session.get(WhatsAppTemplateSync, channel_id) is None
    await _webhook(
        app, channel_id, "message_template_status_update",
        {"event": "APPROVED", "message_template_id": 123, "message_template_name": "new_one",
         "message_template_language": "pt_BR"},
    )  # fmt: skip
    async with app.state.sessionmaker() as session:
        sync = await session.get(WhatsAppTemplateSync, channel_id)
        assert sync is not None
        assert sync.requested_at is not None

    template_id = await stored_template(
        app, channel_id, name="gone", components=ORDER_UPDATE, external_id="55"
    )
    await _webhook(
        app, channel_id, "message_template_status_update",
        {"event": "DELETED", "message_template_id": 55, "message_template_name": "gone",
         "message_template_language": "en_US"},
    )  # fmt: skip
    assert await template_row(app, template_id) is None


async def _render(
    app: FastAPI,
    settings: Settings,
    workspace_id: uuid.UUID,
    channel_id: uuid.UUID,
    template_id: uuid.UUID,
    **params: object,
) -> service.RenderedTemplate:
    send = TemplateSend(template_id=template_id, parameters=TemplateParameters(**params))  # type: ignore[arg-type]
    async with app.state.sessionmaker() as session:
        return await service.render_for_send(session, workspace_id, channel_id, send, settings)


async def test_render_positional_template(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    workspace_id, channel_id = await _number(client, app)
    template_id = await stored_template(
        app, channel_id, name="order_update", components=ORDER_UPDATE
    )
    rendered = await _render(
        app, settings, workspace_id, channel_id, template_id,
        header_text=["#42"], body=["Ann", "#42"], buttons=["42", "thanks-42"],
    )  # fmt: skip
    assert rendered.preview == "Hi Ann, your order #42 has shipped."
    assert rendered.payload == {
        "name": "order_update",
        "language": {"policy": "deterministic", "code": "en_US"},
        "components": [
            {"type": "header", "parameters": [{"type": "text", "text": "#42"}]},
            {"type": "body", "parameters": [{"type": "text", "text": "Ann"},
                                            {"type": "text", "text": "#42"}]},
            {"type": "button", "sub_type": "url", "index": "0",
             "parameters": [{"type": "text", "text": "42"}]},
            {"type": "button", "sub_type": "quick_reply", "index": "1",
             "parameters": [{"type": "payload", "payload": "thanks-42"}]},
        ],
    }  # fmt: skip

    with pytest.raises(ValidationFailed) as caught:
        await _render(app, settings, workspace_id, channel_id, template_id,
                      header_text=["#42"], body=["Ann"], buttons=[])  # fmt: skip
    fields = {e.field: e.message for e in caught.value.errors}
    assert "template.parameters.body" in fields
    assert "template.parameters.buttons.0" in fields  # the URL suffix is required

    with pytest.raises(ValidationFailed) as caught:
        await _render(app, settings, workspace_id, channel_id, template_id,
                      header_text=["#42"], body=["Ann", "  "], buttons=["42"])  # fmt: skip
    assert [e.field for e in caught.value.errors] == ["template.parameters.body.1"]

    with pytest.raises(ValidationFailed) as caught:
        await _render(app, settings, workspace_id, channel_id, template_id,
                      header_text=["#42"], body=["Ann", "line\nbreak"], buttons=["42"])  # fmt: skip
    assert "new lines" in caught.value.errors[0].message


async def test_render_named_template_and_refusals(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    workspace_id, channel_id = await _number(client, app)
    named = await stored_template(
        app, channel_id, name="welcome", parameter_format="NAMED", category="MARKETING",
        components=[{"type": "BODY", "text": "Hello {{first_name}}, {{discount}} off today!"}],
    )  # fmt: skip
    rendered = await _render(
        app, settings, workspace_id, channel_id, named,
        body={"first_name": "Ann", "discount": "10%"},
    )  # fmt: skip
    assert rendered.preview == "Hello Ann, 10% off today!"
    assert rendered.payload["components"] == [
        {"type": "body", "parameters": [
            {"type": "text", "text": "Ann", "parameter_name": "first_name"},
            {"type": "text", "text": "10%", "parameter_name": "discount"},
        ]}
    ]  # fmt: skip
    with pytest.raises(ValidationFailed) as caught:
        await _render(app, settings, workspace_id, channel_id, named,
                      body={"first_name": "Ann", "colour": "red"})  # fmt: skip
    assert {e.field for e in caught.value.errors} == {
        "template.parameters.body.discount",
        "template.parameters.body.colour",
    }

    pending = await stored_template(
        app, channel_id, name="later", status="PENDING",
        components=[{"type": "BODY", "text": "Soon."}],
    )  # fmt: skip
    with pytest.raises(ValidationFailed) as caught:
        await _render(app, settings, workspace_id, channel_id, pending)
    assert caught.value.errors[0].field == "template.template_id"
    assert "pending" in caught.value.errors[0].message

    image = await stored_template(
        app, channel_id, name="new_arrivals",
        components=[{"type": "HEADER", "format": "IMAGE"},
                    {"type": "BODY", "text": "New this week."}],
    )  # fmt: skip
    with pytest.raises(ValidationFailed) as caught:
        await _render(app, settings, workspace_id, channel_id, image)
    assert caught.value.errors[0].field == "template.parameters.header_media_id"

    # A template of another number (or workspace) is not found from this one.
    other_workspace, other_channel = await _number(client, app)
    with pytest.raises(ValidationFailed) as caught:
        await _render(app, settings, other_workspace, other_channel, named,
                      body={"first_name": "Ann", "discount": "10%"})  # fmt: skip
    assert caught.value.errors[0].field == "template.template_id"


async def test_render_authentication_template(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    workspace_id, channel_id = await _number(client, app)
    template_id = await stored_template(
        app, channel_id, name="login_code", category="AUTHENTICATION",
        components=[{"type": "BODY", "add_security_recommendation": True},
                    {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE"}]}],
    )  # fmt: skip
    rendered = await _render(app, settings, workspace_id, channel_id, template_id, body=["482913"])
    assert rendered.preview == "482913 is your verification code."
    assert rendered.payload["components"] == [
        {"type": "body", "parameters": [{"type": "text", "text": "482913"}]},
        {"type": "button", "sub_type": "url", "index": "0",
         "parameters": [{"type": "text", "text": "482913"}]},
    ]  # fmt: skip
    with pytest.raises(ValidationFailed) as caught:
        await _render(app, settings, workspace_id, channel_id, template_id)
    assert [e.field for e in caught.value.errors] == ["template.parameters.body"]
