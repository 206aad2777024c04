"""Status webhooks of business messages: sent -> delivered -> read, or failed with errors.

`sent` goes out as soon as a message is accepted; `delivered` and `read` are scheduled on the
sandbox clock (a persona that does not auto-read stops at delivered). A failure replaces whatever
was still to come.
"""

from __future__ import annotations

from typing import Any

from meta_sandbox.whatsapp import payloads
from meta_sandbox.whatsapp.context import Ctx
from meta_sandbox.whatsapp.errors import status_error
from meta_sandbox.whatsapp.state import OutboundMessage, StatusEvent

# Seconds of sandbox clock between accepting a message and the recipient's device receiving it,
# and between delivery and the persona opening the chat.
DELIVER_AFTER_SECONDS = 1.0
READ_AFTER_SECONDS = 2.0

TERMINAL = ("read", "failed")


async def emit_status(
    ctx: Ctx,
    message: OutboundMessage,
    status: str,
    at: float,
    errors: list[dict[str, Any]] | None = None,
) -> None:
    phone = ctx.wa.phone_numbers[message.phone_number_id]
    timestamp = int(at)
    message.status = status
    message.statuses.append(StatusEvent(status=status, timestamp=timestamp, errors=errors))
    await ctx.emit(phone.waba_id, payloads.status_entry(phone, message, status, timestamp, errors))


async def accept(ctx: Ctx, message: OutboundMessage, *, auto_read: bool) -> None:
    """The message left the business: `sent` now, delivery and reading later."""
    now = ctx.now()
    await emit_status(ctx, message, "sent", now)
    message.deliver_at = now + DELIVER_AFTER_SECONDS
    message.read_at = message.deliver_at + READ_AFTER_SECONDS if auto_read else None


async def fail(ctx: Ctx, message: OutboundMessage, code: int, details: str | None = None) -> None:
    """Report the message as failed with one of Meta's codes (131026, 131047, ...)."""
    message.deliver_at = None
    message.read_at = None
    await emit_status(ctx, message, "failed", ctx.now(), [status_error(code, details)])


async def mark_read_by_persona(ctx: Ctx, message: OutboundMessage) -> None:
    """The persona opened the chat now (control API): read implies delivered."""
    if message.status in TERMINAL:
        return
    now = ctx.now()
    if message.status == "sent" and message.deliver_at is not None:
        # Meta skips `delivered` when delivery and reading coincide.
        message.deliver_at = None
    message.read_at = None
    await emit_status(ctx, message, "read", now)


async def run_due(ctx: Ctx) -> None:
    """Emit every delivered/read status whose time has come, oldest message first."""
    now = ctx.now()
    due = [
        m
        for m in ctx.wa.outbound.values()
        if (m.deliver_at is not None and m.deliver_at <= now)
        or (m.read_at is not None and m.read_at <= now)
    ]
    for message in sorted(due, key=lambda m: m.seq):
        if message.deliver_at is not None and message.deliver_at <= now:
            at, message.deliver_at = message.deliver_at, None
            await emit_status(ctx, message, "delivered", at)
        if message.read_at is not None and message.read_at <= now and message.deliver_at is None:
            at, message.read_at = message.read_at, None
            await emit_status(ctx, message, "read", at)
