"""Secrets at rest (OAuth tokens): Fernet encryption with key rotation.

``SOCIALSELL_ENCRYPTION_KEYS`` is a comma-separated list of Fernet keys, newest first: the first
encrypts, every one decrypts. To rotate, put a new key first, deploy, run
``socialsell rotate-encryption`` (re-encrypts every stored secret with the new key), then drop the
old key. Without the setting, one key is derived from ``SOCIALSELL_SECRET_KEY`` so the embedded
mode needs no configuration; production requires explicit keys.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

__all__ = ["InvalidToken", "SecretBox", "derive_key"]


def derive_key(secret: str) -> bytes:
    digest = hashlib.sha256(b"socialsell-encryption-v1:" + secret.encode()).digest()
    return base64.urlsafe_b64encode(digest)


class SecretBox:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is needed")
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        return self._fernet.decrypt(ciphertext.encode()).decode()

    def rotate(self, ciphertext: str) -> str:
        """Re-encrypt with the newest key (a no-op in meaning, a new key in fact)."""
        return self._fernet.rotate(ciphertext.encode()).decode()
