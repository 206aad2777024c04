"""The sandbox's in-memory store: one ``SandboxState`` per app instance.

Plain dataclasses only, so the whole state can be written to and read from a JSON state file.
Ids are one global space of numeric strings (as on Meta), and ``objects`` records each id's kind
(``ig_user``, ``ig_media``, ``ig_container``, ``wa_phone_number``, ...) so one route can dispatch
``/{id}/...`` by the kind of the object (see ``meta_sandbox.app``).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from meta_sandbox import errors
from meta_sandbox.clock import Clock
from meta_sandbox.instagram.models import InstagramState
from meta_sandbox.serialization import from_jsonable, to_jsonable
from meta_sandbox.settings import SandboxSettings

ID_BASE = 17_841_400_000_000_000  # Instagram ids look like 1784140xxxxxxxxx


@dataclass
class AccessToken:
    token: str
    subject_id: str
    kind: str  # "instagram_user" | "system_user"
    scopes: list[str]
    issued_at: float
    expires_at: float | None
    long_lived: bool = False
    revoked: bool = False
    invalidated: bool = False
    app_id: str = ""

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


@dataclass
class FaultPlan:
    """One planned fault. ``kind``: rate_limit | transient | slow | webhook_duplicate |
    webhook_reorder | webhook_drop. ``remaining`` counts the calls (or deliveries) it still
    affects; ``path_contains`` / ``method`` narrow the Graph calls it applies to."""

    id: str
    kind: str
    remaining: int = 1
    code: int | None = None
    error_subcode: int | None = None
    latency_seconds: float = 0.0
    path_contains: str | None = None
    method: str | None = None


@dataclass
class WebhookSubscription:
    object: str
    callback_url: str
    verify_token: str
    subscribed_at: float
    active: bool = True
    fields: list[str] = field(default_factory=list)  # as given to /{app-id}/subscriptions


@dataclass
class DeliveryAttempt:
    time: float
    status: int | None
    error: str | None = None
    duration_seconds: float = 0.0


@dataclass
class Delivery:
    id: str
    object: str
    callback_url: str
    body: str  # the exact bytes signed and sent (UTF-8)
    signature_256: str
    created_at: float
    next_attempt_at: float
    state: str = "pending"  # pending | delivered | failed | dropped
    attempts: list[DeliveryAttempt] = field(default_factory=list)
    held: bool = False  # held back by a reorder fault until the next delivery goes out
    entry_count: int = 0


@dataclass
class CallRecord:
    method: str
    path: str
    status: int
    time: float
    subject_id: str | None = None
    error_code: int | None = None
    query: str = ""


class SandboxState:
    def __init__(self, settings: SandboxSettings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self._reset_hooks: list[Callable[[SandboxState], None]] = []
        self.whatsapp: Any = None
        self._clear()

    # --- lifecycle -----------------------------------------------------------------------------

    def _clear(self) -> None:
        self.next_id = 1
        self.objects: dict[str, str] = {}
        self.tokens: dict[str, AccessToken] = {}
        self.call_log: list[CallRecord] = []
        self.faults: list[FaultPlan] = []
        self.subscriptions: dict[str, WebhookSubscription] = {}
        self.deliveries: list[Delivery] = []
        self.usage: dict[str, list[float]] = {}  # subject id (or "app") -> call times
        self.instagram = InstagramState()
        self.register_object(self.settings.app_id, "app")
        for obj, url in self.settings.webhook_callback_urls.items():
            self.subscriptions[obj] = WebhookSubscription(
                object=obj,
                callback_url=url,
                verify_token=self.settings.verify_token,
                subscribed_at=self.clock.now(),
            )
        for plan in self.settings.fault_plans:
            spec = dict(plan)
            # Same shape as POST /_sandbox/faults: "count" is how many calls it affects.
            spec.setdefault("remaining", spec.pop("count", 1))
            self.faults.append(FaultPlan(id=self.new_id(), **spec))

    def on_reset(self, callback: Callable[[SandboxState], None]) -> None:
        """Register a hook run after every reset (and once now), e.g. to recreate the WhatsApp
        part's state in ``state.whatsapp``."""
        self._reset_hooks.append(callback)
        callback(self)

    def reset(self) -> None:
        self.clock.restart()
        self._clear()
        for hook in self._reset_hooks:
            hook(self)

    # --- ids and objects -----------------------------------------------------------------------

    def new_id(self) -> str:
        value = ID_BASE + self.next_id
        self.next_id += 1
        return str(value)

    def register_object(self, object_id: str, kind: str) -> None:
        self.objects[object_id] = kind

    def kind_of(self, object_id: str) -> str | None:
        return self.objects.get(object_id)

    # --- tokens --------------------------------------------------------------------------------

    def issue_token(
        self,
        *,
        subject_id: str,
        kind: str,
        scopes: set[str],
        lifetime_seconds: float | None,
        long_lived: bool = False,
    ) -> AccessToken:
        prefix = "IGAA" if kind == "instagram_user" else "EAA"
        value = prefix + secrets.token_urlsafe(48).replace("-", "A").replace("_", "B")
        now = self.clock.now()
        token = AccessToken(
            token=value,
            subject_id=subject_id,
            kind=kind,
            scopes=sorted(scopes),
            issued_at=now,
            expires_at=None if lifetime_seconds is None else now + lifetime_seconds,
            long_lived=long_lived,
            app_id=self.settings.app_id,
        )
        self.tokens[value] = token
        return token

    def resolve_token(self, token: str) -> AccessToken:
        if "|" in token:
            return self._app_token(token)
        found = self.tokens.get(token)
        if found is None:
            raise errors.invalid_token()
        if found.revoked:
            raise errors.revoked_token()
        if found.invalidated:
            raise errors.invalidated_session()
        now = self.clock.now()
        if found.expires_at is not None and now >= found.expires_at:
            raise errors.expired_token(found.expires_at, now)
        return found

    def _app_token(self, token: str) -> AccessToken:
        # App access tokens are "app_id|app_secret"; they never expire.
        app_id, _, secret = token.partition("|")
        if app_id != self.settings.app_id or secret != self.settings.app_secret:
            raise errors.invalid_token()
        return AccessToken(
            token=token,
            subject_id=app_id,
            kind="app",
            scopes=[],
            issued_at=0.0,
            expires_at=None,
            app_id=app_id,
        )

    # --- persistence ---------------------------------------------------------------------------

    _PERSISTED: ClassVar[dict[str, Any]] = {
        "next_id": int,
        "objects": dict[str, str],
        "tokens": dict[str, AccessToken],
        "faults": list[FaultPlan],
        "subscriptions": dict[str, WebhookSubscription],
        "deliveries": list[Delivery],
        "instagram": InstagramState,
    }

    def save(self, path: str) -> None:
        data: dict[str, Any] = {name: to_jsonable(getattr(self, name)) for name in self._PERSISTED}
        data["clock"] = self.clock.now()
        if self.whatsapp is not None:
            data["whatsapp"] = to_jsonable(self.whatsapp)
        target = Path(path)
        tmp = target.with_suffix(target.suffix + ".tmp")
        tmp.write_text(json.dumps(data, indent=1))
        tmp.replace(target)  # atomic: a crash never leaves half a state file

    def load(self, path: str) -> None:
        target = Path(path)
        if not target.exists():
            return
        data = json.loads(target.read_text())
        for name, tp in self._PERSISTED.items():
            if name in data:
                setattr(self, name, from_jsonable(tp, data[name]))
        if "whatsapp" in data and self.whatsapp is not None:
            # The WhatsApp part's reset hook has created an object of its own type; refill it.
            self.whatsapp = from_jsonable(type(self.whatsapp), data["whatsapp"])
        saved_now = data.get("clock")
        if self.clock.controlled and isinstance(saved_now, int | float):
            gap = saved_now - self.clock.now()
            if gap > 0:
                self.clock.advance(gap)


def require_scope(token: AccessToken, scope: str) -> None:
    """Raise Meta's permission error unless the token was granted ``scope``."""
    if not token.has_scope(scope):
        raise errors.permission_denied(scope)
