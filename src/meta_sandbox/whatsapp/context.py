"""What a WhatsApp handler needs from the core, bundled: state, clock, settings, dispatcher.

Also the one place that turns webhook entries into dispatcher calls, so the rule "a WABA's
webhooks go only to apps subscribed with `POST /{waba_id}/subscribed_apps`" lives here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request

from meta_sandbox.clock import Clock
from meta_sandbox.settings import SandboxSettings
from meta_sandbox.state import SandboxState
from meta_sandbox.webhooks import WebhookDispatcher
from meta_sandbox.whatsapp.state import WhatsAppState

WEBHOOK_OBJECT = "whatsapp_business_account"


def install(state: SandboxState) -> None:
    """Give the core state a fresh `WhatsAppState` now and after every reset."""
    state.on_reset(_fresh)


def _fresh(state: SandboxState) -> None:
    state.whatsapp = WhatsAppState()


def wa_state(state: SandboxState) -> WhatsAppState:
    if not isinstance(state.whatsapp, WhatsAppState):
        # The app factory calls `install`; this covers a state built without it.
        install(state)
    wa: WhatsAppState = state.whatsapp
    return wa


@dataclass
class Ctx:
    state: SandboxState
    wa: WhatsAppState
    clock: Clock
    settings: SandboxSettings
    dispatcher: WebhookDispatcher

    def now(self) -> float:
        return self.clock.now()

    async def emit(self, waba_id: str, entry: dict[str, Any]) -> None:
        waba = self.wa.wabas.get(waba_id)
        if waba is None or not waba.subscribed_apps:
            # Meta delivers WABA webhooks only to subscribed apps; keep it for inspection.
            self.wa.undelivered.append(entry)
            return
        await self.dispatcher.emit(WEBHOOK_OBJECT, entry)


def ctx_of_app(app: FastAPI) -> Ctx:
    app_state = app.state
    state: SandboxState = app_state.sandbox
    return Ctx(
        state=state,
        wa=wa_state(state),
        clock=app_state.clock,
        settings=app_state.settings,
        dispatcher=app_state.dispatcher,
    )


def ctx_of(request: Request) -> Ctx:
    return ctx_of_app(request.app)
