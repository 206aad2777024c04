"""Fixtures of the WhatsApp sandbox tests. `sandbox` and `webhook_receiver` come from the
`meta_sandbox.testing` plugin, registered by tests/conftest.py."""

from __future__ import annotations

import pytest

from meta_sandbox.testing import Sandbox, WebhookReceiver

from .support import WA


@pytest.fixture
def wa(sandbox: Sandbox, webhook_receiver: WebhookReceiver) -> WA:
    """A business subscribed to its WABA's webhooks, delivered to `webhook_receiver`."""
    return WA(sandbox, webhook_receiver)
