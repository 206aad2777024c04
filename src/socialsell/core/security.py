"""Password hashing (argon2id), access tokens (JWT naming a server-side session), opaque tokens.

Opaque tokens (refresh tokens, browser session cookies, OAuth states) are random strings shown to
the client once; only their SHA-256 is stored, so a database leak does not leak live credentials.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from socialsell.db import utcnow

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
JWT_ALGORITHM = "HS256"
JWT_AUDIENCE = "socialsell-api"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


# A hash computed once so that a login for an unknown e-mail costs as much as a real one and
# does not reveal which e-mails have accounts by its timing.
DUMMY_PASSWORD_HASH = _hasher.hash("timing-equaliser-not-a-password")


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def tokens_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: uuid.UUID
    session_id: uuid.UUID
    expires_at: datetime


def issue_access_token(
    secret: str, *, user_id: uuid.UUID, session_id: uuid.UUID, lifetime: timedelta
) -> tuple[str, datetime]:
    now = utcnow()
    expires_at = now + lifetime
    token = jwt.encode(
        {
            "sub": str(user_id),
            "sid": str(session_id),
            "iat": int(now.timestamp()),
            "exp": int(expires_at.timestamp()),
            "aud": JWT_AUDIENCE,
        },
        secret,
        algorithm=JWT_ALGORITHM,
    )
    return token, expires_at


def decode_access_token(secret: str, token: str) -> AccessClaims | None:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[JWT_ALGORITHM],
            audience=JWT_AUDIENCE,
            options={"require": ["exp", "sub", "sid"]},
        )
        return AccessClaims(
            user_id=uuid.UUID(claims["sub"]),
            session_id=uuid.UUID(claims["sid"]),
            expires_at=datetime.fromtimestamp(claims["exp"]).astimezone(),
        )
    except (jwt.PyJWTError, ValueError, KeyError):
        return None
