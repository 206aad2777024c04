"""Webhook signatures as Meta computes them: HMAC over the raw body with the app secret."""

from __future__ import annotations

import hashlib
import hmac


def signature_256(app_secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def signature_sha1(app_secret: str, body: bytes) -> str:
    # Legacy header; the reference says it may also be sent [U]. Never rely on it.
    return "sha1=" + hmac.new(app_secret.encode(), body, hashlib.sha1).hexdigest()
