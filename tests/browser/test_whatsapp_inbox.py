"""A seller answers WhatsApp customers from the Inbox, told as stories: the product served over
HTTP, a WhatsApp Business number connected from the Channels page, and customers (sandbox
personas) whose messages reach the product as signed webhooks while the seller watches."""

from __future__ import annotations

import io
import re
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Locator, Page, expect
from sqlalchemy import select, update

from meta_sandbox.testing import Sandbox
from socialsell.db import create_engine, utcnow
from socialsell.inbox.models import Conversation
from socialsell.settings import Settings
from tests.browser.conftest import ARTIFACTS, nav_link, register
from tests.conftest import LiveServer
from tests.helpers.instagram import sandbox_settings, wait_until
from tests.whatsapp.helpers import add_persona, create_account, subscribe

pytestmark = pytest.mark.browser

LIVE = 2_000  # ms: a message shows in the open inbox within two seconds, without a reload
MARIA = "5511987654321"


@pytest.fixture
def settings(settings: Settings, sandbox: Sandbox) -> Settings:
    return sandbox_settings(settings, sandbox)


async def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"whatsapp-inbox-{name}.png"
    await page.screenshot(path=str(path), full_page=False)
    return path


async def connect_number(
    page: Page, sandbox: Sandbox, live_server: LiveServer, settings: Settings
) -> dict[str, Any]:
    """The seller signs up and connects the shop's WhatsApp number from the Channels page;
    WhatsApp's webhooks for the app go to this product."""
    account = create_account(sandbox, business_name="Sunny Shop", verified_name="Sunny Shop")
    await register(page)
    await page.goto("/channels")
    await page.get_by_role("button", name="Connect WhatsApp number").click()
    dialog = page.get_by_role("dialog", name="Connect a WhatsApp number")
    await dialog.get_by_label("WhatsApp Business Account ID").fill(account["waba_id"])
    await dialog.get_by_label("Phone number ID").fill(account["phone_number_id"])
    await dialog.get_by_label("System user access token").fill(account["access_token"])
    await dialog.get_by_role("button", name="Connect number").click()
    await expect(page.get_by_text("WhatsApp number Sunny Shop is connected.")).to_be_visible()
    subscribe(sandbox, live_server.url, settings)
    return account


def writes(sandbox: Sandbox, account: dict[str, Any], kind: str, **body: Any) -> dict[str, Any]:
    """Maria writes to the shop's number on WhatsApp."""
    response = sandbox.client.post(
        f"/_sandbox/whatsapp/phone_numbers/{account['phone_number_id']}/inbound",
        json={"from": MARIA, "type": kind, **body},
    )
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


def sent(sandbox: Sandbox, account: dict[str, Any]) -> list[dict[str, Any]]:
    """What the shop sent on WhatsApp, oldest first (the sandbox's record)."""
    data: list[dict[str, Any]] = sandbox.client.get(
        "/_sandbox/whatsapp/sent", params={"phone_number_id": account["phone_number_id"]}
    ).json()["data"]
    return data


async def wait_for_sent(sandbox: Sandbox, account: dict[str, Any], count: int) -> None:
    async def arrived() -> bool:
        return len(sent(sandbox, account)) >= count

    await wait_until(arrived, within=5, what=f"{count} messages sent on WhatsApp")
    assert len(sent(sandbox, account)) == count


async def age_window(settings: Settings, conversation_id: uuid.UUID, by: timedelta) -> None:
    """Our side of "the clock passed 24 hours": the customer's last message is ``by`` old."""
    engine = create_engine(settings.db_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id)
                .values(last_inbound_at=utcnow() - by)
            )
    finally:
        await engine.dispose()


async def conversation_id_of(settings: Settings) -> uuid.UUID:
    engine = create_engine(settings.db_url)
    try:
        async with engine.connect() as connection:
            found = (await connection.execute(select(Conversation.id))).scalars().all()
    finally:
        await engine.dispose()
    (only,) = found
    return uuid.UUID(str(only))


def bubble(thread: Locator, text: str) -> Locator:
    return thread.locator(".msg").filter(has_text=text)


async def test_a_customer_writes_on_whatsapp_and_the_seller_answers_with_ticks_quotes_and_reactions(
    browser_page: Page, sandbox: Sandbox, live_server: LiveServer, settings: Settings
) -> None:
    page = browser_page
    account = await connect_number(page, sandbox, live_server, settings)
    # Maria's phone does not open the chat by itself: she reads when the story says so.
    add_persona(sandbox, MARIA, "Maria Souza", auto_read=False)

    await nav_link(page, "Inbox").click()
    await expect(page.get_by_role("heading", name="No conversations yet")).to_be_visible()

    # Maria writes on WhatsApp: her conversation appears at once, with the WhatsApp badge, her
    # profile name and her number.
    started = time.monotonic()
    first = writes(sandbox, account, "text", text="Oi! Tem o vestido azul no M?")
    conversations = page.get_by_role("list", name="Conversations")
    maria = conversations.get_by_role("link", name=re.compile("Tem o vestido azul"))
    await expect(maria).to_be_visible(timeout=LIVE)
    assert time.monotonic() - started < 2.5
    await expect(maria).to_contain_text("Maria Souza")
    await expect(maria).to_contain_text("WhatsApp")
    await expect(maria).to_contain_text("+5511987654321")

    await maria.click()
    thread = page.get_by_role("log", name="Messages")
    await expect(thread.get_by_text("Oi! Tem o vestido azul no M?")).to_be_visible()
    head = page.locator("#thread-head")
    await expect(head.get_by_role("heading", name="Maria Souza")).to_be_visible()
    await expect(head.get_by_text("+5511987654321")).to_be_visible()
    await expect(
        page.get_by_text(re.compile(r"Window closes in (23 h \d+ min|24 h 0 min)"))
    ).to_be_visible()
    await page.get_by_role("button", name="Contact details").click()
    panel = page.get_by_role("complementary", name="Contact")
    await expect(panel.get_by_role("link", name="+5511987654321")).to_be_visible()
    await expect(panel.get_by_role("link", name="Open the chat in WhatsApp")).to_have_attribute(
        "href", "https://wa.me/5511987654321"
    )
    await panel.get_by_role("button", name="Close the contact details").click()
    await expect(panel).to_be_hidden()

    # The seller answers from the composer; WhatsApp received exactly that text.
    reply = page.get_by_label("Your reply")
    await reply.fill("Temos sim! R$ 120, envio hoje.")
    await reply.press("Enter")
    mine = bubble(thread, "Temos sim! R$ 120, envio hoje.")
    await expect(mine).to_be_visible()
    await expect(reply).to_have_value("")
    await wait_for_sent(sandbox, account, 1)
    (answer,) = sent(sandbox, account)
    assert answer["to"] == MARIA
    assert answer["text"] == "Temos sim! R$ 120, envio hoje."

    # The ticks follow what WhatsApp reports, live: sent, then delivered, then read (blue).
    await expect(mine.get_by_title("Sent", exact=True)).to_be_attached()
    sandbox.advance(1)
    await expect(mine.get_by_title("Delivered", exact=True)).to_be_attached(timeout=LIVE)
    sandbox.client.post(f"/_sandbox/whatsapp/messages/{answer['id']}/read").raise_for_status()
    read_tick = mine.get_by_title("Read", exact=True)
    await expect(read_tick).to_be_attached(timeout=LIVE)
    await expect(read_tick).to_have_class(re.compile("tick--read"))

    # The seller quotes Maria's question in the next answer: the quote shows above the
    # composer, then in the bubble, and WhatsApp got the reply's context.
    question = thread.locator(".msg--in").filter(has_text="Oi! Tem o vestido azul no M?")
    await question.hover()
    await question.get_by_role("button", name="Reply to this message").click()
    quoting = page.locator("[data-quote-preview]")
    await expect(quoting).to_be_visible()
    await expect(quoting).to_contain_text("Oi! Tem o vestido azul no M?")
    await expect(reply).to_be_focused()
    await reply.fill("E também no P.")
    await reply.press("Enter")
    quoted = bubble(thread, "E também no P.")
    await expect(quoted.locator(".msg__quote")).to_contain_text("Oi! Tem o vestido azul no M?")
    await expect(quoting).to_be_hidden()
    await wait_for_sent(sandbox, account, 2)
    assert sent(sandbox, account)[1]["context_message_id"] == first["id"]

    # A reaction from the picker on her message.
    await question.hover()
    await question.get_by_label("React to this message").click()
    await question.get_by_role("button", name="React with ❤️").click()
    await expect(question.locator(".msg__reactions")).to_have_text("❤️")
    await wait_for_sent(sandbox, account, 3)
    assert sent(sandbox, account)[2]["type"] == "reaction"

    # Maria sends where she is: a location, shown with its name and a link to the map.
    sandbox.advance(1)
    writes(
        sandbox,
        account,
        "location",
        location={"latitude": -23.561414, "longitude": -46.655881, "name": "Loja Paulista"},
    )
    place = thread.locator(".msg--location")
    await expect(place).to_contain_text("Loja Paulista", timeout=LIVE)
    await expect(place).to_contain_text("-23.56141, -46.65588")
    await expect(place.get_by_role("link", name="Open the map")).to_have_attribute(
        "href", re.compile(r"^https://www\.openstreetmap\.org/\?mlat=-23\.561414")
    )

    await screenshot(page, "thread-light")
    await page.emulate_media(color_scheme="dark")
    await screenshot(page, "thread-dark")
    await page.emulate_media(color_scheme="light")
    await page.set_viewport_size({"width": 375, "height": 740})
    await page.reload()
    await expect(page.get_by_label("Your reply")).to_be_visible()
    await screenshot(page, "thread-375")


SHIPPED = {
    "name": "order_on_its_way",
    "language": "pt_BR",
    "category": "UTILITY",
    "components": [
        {
            "type": "BODY",
            "text": "Oi {{1}}, seu pedido {{2}} saiu para entrega.",
            "example": {"body_text": [["Ana", "#42"]]},
        }
    ],
}


def approved_template(sandbox: Sandbox, account: dict[str, Any], body: dict[str, Any]) -> None:
    """A template made in WhatsApp Manager and approved by Meta (not yet known to us)."""
    created = sandbox.client.post(
        f"/v23.0/{account['waba_id']}/message_templates",
        headers={"Authorization": f"Bearer {account['access_token']}"},
        json=body,
    )
    assert created.status_code == 200, created.text
    sandbox.client.post(
        f"/_sandbox/whatsapp/templates/{created.json()['id']}/decision",
        json={"status": "APPROVED"},
    ).raise_for_status()


async def test_after_24_hours_the_composer_offers_templates_and_one_is_delivered(
    browser_page: Page, sandbox: Sandbox, live_server: LiveServer, settings: Settings
) -> None:
    page = browser_page
    account = await connect_number(page, sandbox, live_server, settings)
    approved_template(sandbox, account, SHIPPED)
    add_persona(sandbox, MARIA, "Maria Souza", auto_read=False)
    writes(sandbox, account, "text", text="Quando chega meu pedido?")
    await page.goto("/inbox")
    await page.get_by_role("link", name=re.compile("Quando chega meu pedido")).click(
        timeout=LIVE + 3_000
    )
    await expect(page.get_by_label("Your reply")).to_be_visible()
    conversation_url = page.url

    # A day and more passes: Maria's message is 25 hours old. (Our clock is the machine's, so
    # the message is moved back rather than the sandbox's clock forward: a later message of
    # Maria's would otherwise be dated a day ahead of us.)
    await age_window(settings, await conversation_id_of(settings), timedelta(hours=25))
    await page.reload()

    await expect(page.get_by_text("The 24-hour window is closed: send a template")).to_be_visible()
    await expect(page.get_by_text(re.compile("more than 24 hours old"))).to_be_visible()
    await expect(page.get_by_label("Your reply")).to_have_count(0)
    # The picker (its own fragment) is loaded in the composer's place; the approved template
    # is not known here yet, so it leads to the Templates page.
    picker = page.locator("#template-picker")
    await expect(picker.get_by_role("heading", name="No approved template")).to_be_visible()
    await screenshot(page, "window-closed")
    await picker.get_by_role("link", name="Templates").click()
    await page.get_by_role("button", name="Sync", exact=True).click()
    await expect(page.get_by_text("order_on_its_way").first).to_be_visible()

    await page.goto(conversation_url)
    await picker.get_by_role("link", name=re.compile("order_on_its_way")).click()
    await picker.get_by_label("{{1}}", exact=True).fill("Maria")
    await picker.get_by_label("{{2}}", exact=True).fill("#1234")
    await picker.get_by_role("button", name="Send template").click()

    thread = page.get_by_role("log", name="Messages")
    shipped = bubble(thread, "Oi Maria, seu pedido #1234 saiu para entrega.")
    await expect(shipped).to_be_visible(timeout=LIVE)
    await expect(shipped).to_contain_text("order_on_its_way")
    await wait_for_sent(sandbox, account, 1)
    (template,) = sent(sandbox, account)
    assert template["type"] == "template"
    assert template["text"] == "Oi Maria, seu pedido #1234 saiu para entrega."
    sandbox.advance(1)
    await expect(shipped.get_by_title("Delivered", exact=True)).to_be_attached(timeout=LIVE)
    await screenshot(page, "template-delivered")

    # Maria answers: the window opens again and the composer comes back by itself.
    writes(sandbox, account, "text", text="Obrigada!")
    await expect(thread.get_by_text("Obrigada!")).to_be_visible(timeout=LIVE)
    await expect(page.get_by_label("Your reply")).to_be_visible(timeout=LIVE)
    await expect(page.get_by_text(re.compile(r"Window closes in 2[34] h"))).to_be_visible()
    await expect(page.get_by_text("The 24-hour window is closed: send a template")).to_have_count(0)


async def test_a_message_whatsapp_cannot_deliver_shows_why_and_can_be_retried(
    browser_page: Page, sandbox: Sandbox, live_server: LiveServer, settings: Settings
) -> None:
    page = browser_page
    account = await connect_number(page, sandbox, live_server, settings)
    add_persona(sandbox, MARIA, "Maria Souza")
    writes(sandbox, account, "text", text="Vocês entregam em Recife?")
    await page.goto("/inbox")
    await page.get_by_role("link", name=re.compile("entregam em Recife")).click(
        timeout=LIVE + 3_000
    )
    # Maria's phone stops being reachable (WhatsApp answers 131026 with a failed status).
    sandbox.client.patch(
        f"/_sandbox/whatsapp/personas/{MARIA}", json={"reachable": False}
    ).raise_for_status()

    reply = page.get_by_label("Your reply")
    await reply.fill("Entregamos sim!")
    await reply.press("Enter")
    thread = page.get_by_role("log", name="Messages")
    failed = bubble(thread, "Entregamos sim!")
    await expect(failed.get_by_text("Not sent")).to_be_visible(timeout=LIVE)
    await expect(failed).to_contain_text("WhatsApp could not deliver it to this number")
    await screenshot(page, "failed")

    sandbox.client.patch(
        f"/_sandbox/whatsapp/personas/{MARIA}", json={"reachable": True}
    ).raise_for_status()
    await failed.get_by_role("button", name="Retry").click()
    await expect(failed.get_by_title("Sent", exact=True)).to_be_attached(timeout=LIVE)
    await expect(failed.get_by_text("Not sent")).to_have_count(0)
    await wait_for_sent(sandbox, account, 2)


def png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (40, 60), "teal").save(buffer, format="PNG")
    return buffer.getvalue()


async def test_every_kind_of_whatsapp_message_is_shown_and_a_photo_is_sent(
    browser_page: Page, sandbox: Sandbox, live_server: LiveServer, settings: Settings
) -> None:
    page = browser_page
    account = await connect_number(page, sandbox, live_server, settings)
    add_persona(sandbox, MARIA, "Maria Souza")
    writes(sandbox, account, "text", text="Bom dia!")
    await page.goto("/inbox")
    await page.get_by_role("link", name=re.compile("Bom dia")).click(timeout=LIVE + 3_000)
    thread = page.get_by_role("log", name="Messages")

    # A photo from the seller, as on Instagram: previewed, sent with Enter, shown, on WhatsApp.
    await page.locator("[data-image-input]").set_input_files(
        {"name": "vestido.png", "mimeType": "image/png", "buffer": png()}
    )
    await expect(page.get_by_role("img", name="The image to send")).to_be_visible()
    await page.get_by_label("Your reply").press("Enter")
    await expect(thread.locator(".msg--out.msg--image img")).to_be_visible()
    await wait_for_sent(sandbox, account, 1)
    (photo,) = sent(sandbox, account)
    assert photo["type"] == "image"

    # Maria sends one kind after another; each shows live as WhatsApp would show it.
    sandbox.advance(1)
    writes(sandbox, account, "image", caption="Esse aqui em azul?")
    # Photos load lazily: each is looked at where it is in the thread.
    caption = thread.locator(".msg--in.msg--image").filter(has_text="Esse aqui em azul?")
    await expect(caption.locator("img")).to_be_attached(timeout=LIVE + 3_000)
    await caption.scroll_into_view_if_needed()
    await expect(caption.locator("img")).to_be_visible()

    sandbox.advance(1)
    writes(sandbox, account, "sticker")
    sticker = thread.locator(".msg--sticker")
    await expect(sticker.locator("img")).to_be_attached(timeout=LIVE + 3_000)
    await sticker.scroll_into_view_if_needed()
    await expect(sticker.locator("img")).to_be_visible()

    sandbox.advance(1)
    writes(sandbox, account, "contacts")
    card = thread.locator(".msg--contacts")
    await expect(card).to_contain_text("Lucía Gómez", timeout=LIVE)
    await expect(card.get_by_role("link", name="+1 (983) 555-2319")).to_have_attribute(
        "href", "tel:+1(983)555-2319"
    )

    sandbox.advance(1)
    writes(sandbox, account, "order")
    order = thread.locator(".msg--order")
    await expect(order).to_contain_text("di9ozbzfi4", timeout=LIVE)
    await expect(order).to_contain_text("× 2")
    await expect(order).to_contain_text("Total: $85.00")

    sandbox.advance(1)
    writes(
        sandbox,
        account,
        "interactive",
        reply_to=photo["id"],
        interactive={"type": "button_reply", "button_reply": {"id": "keep", "title": "Quero esse"}},
    )
    choice = thread.locator(".msg--interactive")
    await expect(choice).to_contain_text("Chose an option", timeout=LIVE)
    await expect(choice.locator(".wa-choice")).to_have_text("Quero esse")
    # The button answers the seller's photo: the quote says so.
    await expect(choice.locator(".msg__quote")).to_contain_text("You")

    sandbox.advance(1)
    writes(sandbox, account, "unsupported")
    await expect(thread.locator(".msg--unsupported")).to_contain_text(
        "cannot be shown here; open WhatsApp", timeout=LIVE
    )

    sandbox.advance(1)
    writes(sandbox, account, "system", system={"wa_id": "5511900000000"})
    await expect(thread.locator(".msg--system")).to_contain_text("changed from", timeout=LIVE)
    await screenshot(page, "kinds")
