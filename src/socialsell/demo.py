"""The demo workspace of `make run`: a seller whose sandbox Instagram account is connected
through the real OAuth flow (consent page, code exchange, long-lived token), exactly as a person
would connect a real account, and whose webhooks point at this app."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from socialsell.accounts import service as accounts
from socialsell.accounts.bootstrap import create_user_account
from socialsell.accounts.repository import AccountsRepository
from socialsell.accounts.service import Principal
from socialsell.analytics import service as analytics
from socialsell.analytics.cache import build_cache
from socialsell.channels import service as channels
from socialsell.channels.models import ChannelStatus, Platform
from socialsell.channels.repository import GlobalChannels
from socialsell.db import create_engine, create_sessionmaker, unit_of_work
from socialsell.integrations import build_meta_client, secret_box
from socialsell.publishing.demo import seed_demo_posts
from socialsell.settings import Settings
from socialsell.whatsapp.demo import seed_whatsapp_demo

log = structlog.get_logger(__name__)

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "Demo-Seller-2026"  # noqa: S105 - printed to the person running the demo
DEMO_NAME = "Demo Seller"
DEMO_INSTAGRAM = "sunny_crafts"
# Days of insights the demo channel shows: fetched from the sandbox (which serves history),
# not invented here.
DEMO_HISTORY_DAYS = 90
DEMO_POSTS = (
    ("Hand-painted mugs, back in stock ☕", "FEED"),
    ("A peek at the studio on a busy Friday", "REELS"),
    ("New autumn colours for the tote bags", "FEED"),
    ("Packing your orders this morning", "FEED"),
    ("How we glaze a bowl, start to finish", "REELS"),
)


@dataclass(frozen=True, slots=True)
class DemoResult:
    email: str
    password: str
    instagram_username: str
    instagram_connected_now: bool
    whatsapp_number: str


async def _consent(
    sandbox: httpx.AsyncClient, authorize_url: str, account_id: str
) -> dict[str, str]:
    """Play the person on the sandbox's consent page: pick the account, allow everything."""
    params = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
    (await sandbox.get("/oauth/authorize", params=params)).raise_for_status()
    answer = await sandbox.post(
        "/oauth/authorize", data={**params, "account_id": account_id, "decision": "allow"}
    )
    if answer.status_code != 302:
        raise RuntimeError(f"the sandbox's consent page answered {answer.status_code}")
    location = answer.headers["location"].split("#")[0]
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def _sandbox_account(sandbox: httpx.AsyncClient) -> dict[str, str]:
    accounts_list = (await sandbox.get("/_sandbox/instagram/accounts")).json().get("data", [])
    for account in accounts_list:
        if account.get("username") == DEMO_INSTAGRAM:
            return {"id": str(account["id"]), "username": DEMO_INSTAGRAM}
    created = await sandbox.post(
        "/_sandbox/instagram/accounts",
        json={"username": DEMO_INSTAGRAM, "name": "Sunny Crafts", "followers_count": 2380},
    )
    created.raise_for_status()
    return {"id": str(created.json()["id"]), "username": DEMO_INSTAGRAM}


async def seed_demo(settings: Settings, *, sandbox_url: str, app_url: str) -> DemoResult:
    """Idempotent: a second run finds the user and the connected channel and changes nothing
    (unless the sandbox forgot the account, then it is connected again)."""
    await create_user_account(
        settings, email=DEMO_EMAIL, name=DEMO_NAME, password=DEMO_PASSWORD, if_missing=True
    )
    connected_now = False
    engine = create_engine(settings.db_url)
    sessionmaker = create_sessionmaker(engine)
    try:
        async with httpx.AsyncClient(base_url=sandbox_url, timeout=10) as sandbox:
            account = await _sandbox_account(sandbox)
            async with unit_of_work(sessionmaker) as session:
                existing = await GlobalChannels(session).by_external_id(
                    Platform.instagram, account["id"]
                )
                needs_connect = existing is None or existing.status != ChannelStatus.active
            if needs_connect:
                async with (
                    build_meta_client(settings) as meta,
                    unit_of_work(sessionmaker) as session,
                ):
                    principal = await _demo_principal(session, settings)
                    redirect_uri = f"{app_url}/channels/instagram/callback"
                    url = await channels.start_instagram_connect(
                        session, meta, principal, redirect_uri=redirect_uri
                    )
                    query = await _consent(sandbox, url, account["id"])
                    await channels.complete_instagram_connect(
                        session, meta, secret_box(settings), principal, query
                    )
                    await accounts.end_session(session, principal.session, "demo_seed")
                connected_now = True
            # Deliver the account's webhooks to this app (the sandbox checks the handshake).
            subscribed = await sandbox.put(
                "/_sandbox/webhooks",
                json={
                    "object": "instagram",
                    "callback_url": f"{app_url}/webhooks/instagram",
                    "verify_token": settings.meta_webhook_verify_token.get_secret_value(),
                },
            )
            subscribed.raise_for_status()
            await _seed_posts(sandbox, account["id"])
            await _fetch_history(settings, sessionmaker, account["id"])
            await seed_demo_posts(
                settings, sessionmaker, email=DEMO_EMAIL, instagram_account_id=account["id"]
            )
            whatsapp = await seed_whatsapp_demo(
                settings, sessionmaker, sandbox, app_url=app_url, email=DEMO_EMAIL
            )
    finally:
        await engine.dispose()
    return DemoResult(
        DEMO_EMAIL, DEMO_PASSWORD, DEMO_INSTAGRAM, connected_now, whatsapp.display_phone_number
    )


async def _demo_principal(session: AsyncSession, settings: Settings) -> Principal:
    """A sign-in of the demo user for the seed itself; ended as soon as the seed is done."""
    repo = AccountsRepository(session)
    user = await repo.user_by_email(DEMO_EMAIL)
    if user is None:
        raise RuntimeError("the demo user is missing")
    login = await accounts.start_browser_session(
        session, settings, user, user_agent="socialsell demo seed", ip_address="127.0.0.1"
    )
    membership = (await repo.memberships(user.id))[0]
    return Principal(user=user, session=login.session, membership=membership)


async def _seed_posts(sandbox: httpx.AsyncClient, account_id: str) -> None:
    """A few posts on the sandbox account, once, so the best-posts table has something."""
    media = await sandbox.get(f"/_sandbox/instagram/accounts/{account_id}/media")
    media.raise_for_status()
    if media.json().get("data"):
        return
    for caption, product_type in DEMO_POSTS:
        created = await sandbox.post(
            f"/_sandbox/instagram/accounts/{account_id}/media",
            json={"caption": caption, "media_product_type": product_type},
        )
        created.raise_for_status()


async def _fetch_history(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], account_id: str
) -> None:
    """Run the real insights refresh over 90 days, once: a channel that already has its
    history is left to the daily refresh."""
    async with unit_of_work(sessionmaker) as session:
        channel = await GlobalChannels(session).by_external_id(Platform.instagram, account_id)
        if channel is None:
            return
        channel_id = channel.id
        days = await analytics.stored_days(session, channel_id)
    if days >= DEMO_HISTORY_DAYS:
        return
    async with build_meta_client(settings) as meta, unit_of_work(sessionmaker) as session:
        report = await analytics.refresh_channel(
            session,
            meta,
            secret_box(settings),
            settings,
            build_cache(settings),
            channel_id,
            days=DEMO_HISTORY_DAYS,
        )
    log.info("demo_history", days=DEMO_HISTORY_DAYS, stored=report.stored if report else 0)
