"""Time-driven transitions of the WhatsApp part, all on the sandbox clock.

- message statuses: delivered / read once their time has come (see `statuses`);
- template review: PENDING -> APPROVED (or the forced decision) after `template_review_seconds`.

`run_due` is idempotent and cheap. It runs on every tick of the core's webhook dispatcher (so
webhooks follow the real clock, and `POST /_sandbox/clock` on a controlled one), and before every
WhatsApp request (so what a client reads is never behind the clock).
"""

from __future__ import annotations

from fastapi import FastAPI

from meta_sandbox.whatsapp import payloads, statuses
from meta_sandbox.whatsapp.context import Ctx, ctx_of_app
from meta_sandbox.whatsapp.state import Template


async def decide_template(ctx: Ctx, template: Template, status: str, reason: str) -> None:
    """Apply a review outcome (or a later quality action) and tell the business by webhook."""
    template.status = status
    template.rejected_reason = reason if status == "REJECTED" else "NONE"
    template.forced_status = None
    template.forced_reason = None
    await ctx.emit(template.waba_id, payloads.template_status_entry(template, ctx.now()))


async def run_due(ctx: Ctx) -> None:
    now = ctx.now()
    pending = [
        t for t in ctx.wa.templates.values() if t.status == "PENDING" and t.review_due_at <= now
    ]
    for template in sorted(pending, key=lambda t: t.review_due_at):
        status = template.forced_status or "APPROVED"
        reason = template.forced_reason or ("INVALID_FORMAT" if status == "REJECTED" else "NONE")
        await decide_template(ctx, template, status, reason)
    await statuses.run_due(ctx)


async def on_tick(app: FastAPI) -> None:
    """The core dispatcher's tick hook (every few ms, and right after a clock move)."""
    await run_due(ctx_of_app(app))
