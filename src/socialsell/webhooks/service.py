"""Receiving and processing Meta's webhooks.

Receiving is the hot path and does the least that makes a delivery durable: check the signature
over the raw bytes, insert the bytes, answer 200 (the processing job is kicked after the commit).
Processing (a job, re-kicked by the tick when lost) parses the delivery and hands its events to
the inbox; it is idempotent, so running it twice, or on a delivery Meta sent twice, changes
nothing the second time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import uuid
from datetime import datetime, timedelta

import structlog
from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from socialsell.channels.models import Channel, Platform
from socialsell.db import utcnow
from socialsell.inbox.ingest import Ingest, TargetMissing, apply
from socialsell.inbox.repository import GlobalInbox
from socialsell.webhooks import instagram, whatsapp
from socialsell.webhooks.models import DeliveryStatus, WebhookDelivery
from socialsell.whatsapp import ingest as whatsapp_ingest
from socialsell.whatsapp import service as whatsapp_service

log = structlog.get_logger(__name__)

# Channel health: how often a channel's last_webhook_at is written (not on every delivery).
_HEALTH_EVERY = timedelta(seconds=60)

# Test hook: the crash test SIGKILLs a real worker in the middle of processing a delivery (its
# messages written, not committed). A signal from outside cannot hit that moment. Honoured only
# with SOCIALSELL_ENV=test.
CRASH_ENV = "SOCIALSELL_TEST_WEBHOOK_CRASH_AT"


async def _crash_point(session: AsyncSession, ingest: Ingest, name: str) -> None:
    if ingest.settings.env == "test" and os.environ.get(CRASH_ENV) == name:
        await session.flush()  # the writes reach the database, uncommitted
        log.warning("webhook_crash_hook", point=name)
        os.kill(os.getpid(), signal.SIGKILL)


def signature_valid(app_secret: str, body: bytes, header: str | None) -> bool:
    """``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>``, compared in
    constant time."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header[7:].strip().lower())


async def store_delivery(session: AsyncSession, platform: str, body: bytes) -> uuid.UUID:
    delivery_id = uuid.uuid4()
    now = utcnow()
    # A Core insert: no ORM bookkeeping on the hot path.
    await session.execute(
        insert(WebhookDelivery).values(
            id=delivery_id,
            platform=platform,
            body=body,
            status=DeliveryStatus.pending,
            received_at=now,
            kicked_at=now,
            attempts=0,
        )
    )
    return delivery_id


async def claim_stale(
    session: AsyncSession, *, older_than: datetime, now: datetime, limit: int = 500
) -> list[uuid.UUID]:
    """Pending deliveries whose last kick is older than ``older_than``: their job was lost (a
    worker died between storing and processing, Redis lost the message) or they wait for a
    message that had not arrived. Claimed by moving ``kicked_at`` in one UPDATE that re-checks
    its condition, so two ticks never both take a row."""
    due = (
        select(WebhookDelivery.id)
        .where(
            WebhookDelivery.status == DeliveryStatus.pending,
            WebhookDelivery.kicked_at <= older_than,
        )
        .order_by(WebhookDelivery.kicked_at)
        .limit(limit)
        .scalar_subquery()
    )
    result = await session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id.in_(due),
            WebhookDelivery.status == DeliveryStatus.pending,
            WebhookDelivery.kicked_at <= older_than,
        )
        .values(kicked_at=now)
        .returning(WebhookDelivery.id)
        .execution_options(synchronize_session=False)
    )
    return list(result.scalars())


async def process_delivery(
    session: AsyncSession, ingest: Ingest, delivery_id: uuid.UUID, *, max_attempts: int
) -> DeliveryStatus | None:
    delivery = await session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.status != DeliveryStatus.pending:
        return None if delivery is None else delivery.status
    delivery.attempts += 1
    try:
        payload = json.loads(delivery.body)
        parsed: instagram.Parsed | whatsapp.Parsed
        if delivery.platform == "whatsapp":
            parsed = whatsapp.parse(payload)
        elif delivery.platform == "instagram":
            parsed = instagram.parse(payload)
        else:
            raise instagram.MalformedPayload(f"no processing for {delivery.platform}")
    except (ValueError, UnicodeDecodeError) as exc:
        return _settle(delivery, DeliveryStatus.unprocessable, f"{type(exc).__name__}: {exc}")

    platform = Platform(delivery.platform)
    channels: dict[str, Channel | None] = {}
    repo = GlobalInbox(session)
    waiting: list[str] = []
    notes = [f"unknown {kind}" for kind in parsed.unknown]
    for account_id, event in parsed.events:
        if account_id not in channels:
            channels[account_id] = await repo.channel_by_external_id(platform, account_id)
            _mark_health(channels[account_id])
        channel = channels[account_id]
        if channel is None:
            notes.append(f"no channel for account {account_id}")
            continue
        try:
            if platform == Platform.whatsapp:
                await whatsapp_ingest.apply_event(session, ingest, channel, event)
            else:
                await apply(session, ingest, channel, event)  # type: ignore[arg-type]
        except TargetMissing as exc:
            waiting.append(str(exc))
    if isinstance(parsed, whatsapp.Parsed):
        # Template reviews and number quality are addressed to the WhatsApp Business Account.
        for waba_id, account_event in parsed.account_events:
            numbers = list(await whatsapp_service.numbers_of_waba(session, waba_id))
            if not numbers:
                notes.append(f"no number for account {waba_id}")
            for number in numbers:
                _mark_health(number)
            await whatsapp_ingest.apply_account_event(session, ingest, numbers, account_event)
    await _crash_point(session, ingest, "after_apply")
    if parsed.unknown:
        log.warning("webhook_unknown_events", delivery_id=str(delivery.id), kinds=parsed.unknown)
    if waiting:
        note = "waiting for messages " + ", ".join(waiting[:5])
        if delivery.attempts < max_attempts:
            # Stays pending: the tick kicks it again once the message had time to arrive.
            delivery.kicked_at = utcnow()
            delivery.note = note
            return DeliveryStatus.pending
        notes.append("gave up " + note)
    account_events = parsed.account_events if isinstance(parsed, whatsapp.Parsed) else []
    if not parsed.events and not account_events and parsed.unknown:
        return _settle(delivery, DeliveryStatus.unprocessable, "; ".join(notes))
    return _settle(delivery, DeliveryStatus.processed, "; ".join(notes) or None)


def _settle(delivery: WebhookDelivery, status: DeliveryStatus, note: str | None) -> DeliveryStatus:
    if status == DeliveryStatus.unprocessable:
        log.warning("webhook_unprocessable", delivery_id=str(delivery.id), reason=note)
    delivery.status = status
    delivery.note = note
    delivery.processed_at = utcnow()
    return status


def _mark_health(channel: Channel | None) -> None:
    if channel is None:
        return
    now = utcnow()
    if channel.last_webhook_at is None or now - channel.last_webhook_at > _HEALTH_EVERY:
        channel.last_webhook_at = now


async def fail_delivery(session: AsyncSession, delivery_id: uuid.UUID, reason: str) -> None:
    """After the job's last attempt failed with an error: stop re-kicking it, keep it for a
    human (the body is there to replay)."""
    delivery = await session.get(WebhookDelivery, delivery_id)
    if delivery is not None and delivery.status == DeliveryStatus.pending:
        _settle(delivery, DeliveryStatus.failed, reason)


async def prune(session: AsyncSession, *, now: datetime, retention: timedelta) -> int:
    """Delete old deliveries: processed ones after ``retention``, unprocessable and failed
    ones after three times that. Pending ones are never deleted."""
    result = await session.execute(
        delete(WebhookDelivery).where(
            or_(
                (WebhookDelivery.status == DeliveryStatus.processed)
                & (WebhookDelivery.received_at < now - retention),
                (WebhookDelivery.status.in_([DeliveryStatus.unprocessable, DeliveryStatus.failed]))
                & (WebhookDelivery.received_at < now - 3 * retention),
            )
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
