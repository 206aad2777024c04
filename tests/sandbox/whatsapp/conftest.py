"""Fixtures of the WhatsApp sandbox tests.

`sandbox`, `sandbox_server` and `webhook_receiver` come from the `meta_sandbox.testing` plugin.
tests/conftest.py does not register that plugin yet (and `pytest_plugins` is only allowed in the
top-level conftest), so they are imported here; drop the import once the top level registers it.
"""

from __future__ import annotations

import pytest

from meta_sandbox.testing import (  # noqa: F401 - fixtures, found by name
    Sandbox,
    WebhookReceiver,
    sandbox,
    sandbox_server,
    webhook_receiver,
)

from .support import WA


@pytest.fixture
def wa(sandbox: Sandbox, webhook_receiver: WebhookReceiver) -> WA:  # noqa: F811
    """A business subscribed to its WABA's webhooks, delivered to `webhook_receiver`."""
    return WA(sandbox, webhook_receiver)
