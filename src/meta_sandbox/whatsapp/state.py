"""In-memory model of the WhatsApp Cloud API side of the sandbox.

Everything here is plain data: the routes and the control API mutate it, the status and template
schedulers read it. One `WhatsAppState` hangs off the core `SandboxState.whatsapp` slot and is
rebuilt on reset.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from typing import Any

# Kinds registered in the core's global id space (`SandboxState.objects`), so that shared Graph
# paths such as `POST /{id}/messages` can be dispatched to the right platform.
KIND_WABA = "wa_business_account"
KIND_PHONE_NUMBER = "wa_phone_number"
KIND_MEDIA = "wa_media"
KIND_TEMPLATE = "wa_template"
KIND_SYSTEM_USER = "wa_system_user"

SCOPE_MESSAGING = "whatsapp_business_messaging"
SCOPE_MANAGEMENT = "whatsapp_business_management"

QUALITY_RATINGS: tuple[str, ...] = ("GREEN", "YELLOW", "RED", "NA")
MESSAGING_LIMIT_TIERS: tuple[str, ...] = (
    "TIER_50",
    "TIER_250",
    "TIER_1K",
    "TIER_2K",
    "TIER_10K",
    "TIER_100K",
    "TIER_UNLIMITED",
)
# The service window opened by a customer's message (Meta: 24 hours).
SERVICE_WINDOW_SECONDS = 24 * 3600
# Media URLs returned by `GET /{media_id}` are valid for 5 minutes.
MEDIA_URL_TTL_SECONDS = 5 * 60

WINDOW_ENFORCEMENTS: tuple[str, ...] = ("status", "sync")


@dataclass
class SubscribedApp:
    app_id: str
    app_name: str
    override_callback_uri: str | None = None
    verify_token: str | None = None


@dataclass
class Waba:
    id: str
    name: str
    system_user_id: str
    currency: str = "USD"
    timezone_id: str = "1"
    message_template_namespace: str = ""
    phone_number_ids: list[str] = field(default_factory=list)
    subscribed_apps: dict[str, SubscribedApp] = field(default_factory=dict)


@dataclass
class PhoneNumber:
    id: str
    waba_id: str
    # Digits only, as in webhook `metadata.display_phone_number` ("15550100001").
    number: str
    verified_name: str
    quality_rating: str = "GREEN"
    messaging_limit_tier: str = "TIER_250"
    throughput_mps: int = 80
    # Pair rate limit: a token bucket per customer (Meta: bursts of 45, then ~1 msg / 6 s).
    pair_burst: int = 45
    pair_refill_seconds: float = 6.0
    # How a free-form message outside the 24 h window fails: like the Cloud API, as a `failed`
    # status webhook with 131047 after a 200 ("status"), or as a synchronous 400 ("sync").
    window_enforcement: str = "status"
    # Real seconds the answer to a send is held after the message was accepted (its `sent`
    # webhook is on its way): on Meta the webhook sometimes overtakes the API's answer.
    answer_delay_seconds: float = 0.0
    code_verification_status: str = "VERIFIED"
    name_status: str = "APPROVED"

    @property
    def display_phone_number(self) -> str:
        """Human format as `GET /{phone_number_id}` shows it ("+1 555-010-0001")."""
        digits = self.number
        if len(digits) == 11 and digits.startswith("1"):
            return f"+1 {digits[1:4]}-{digits[4:7]}-{digits[7:]}"
        return f"+{digits}"


@dataclass
class Persona:
    wa_id: str
    name: str
    # When False every business message to this persona fails with 131026 (undeliverable).
    reachable: bool = True
    # When True the persona reads what it receives (read status after `read_after_seconds`).
    auto_read: bool = True


@dataclass
class Media:
    id: str
    phone_number_id: str
    mime_type: str
    # Base64 of the bytes, so the state file (JSON) can hold it.
    data_b64: str
    filename: str | None = None
    # "business" for uploads, "customer" for media that arrived in an inbound message.
    origin: str = "business"
    deleted: bool = False

    @property
    def data(self) -> bytes:
        return base64.b64decode(self.data_b64)

    @property
    def file_size(self) -> int:
        return len(self.data)


@dataclass
class Template:
    id: str
    waba_id: str
    name: str
    language: str
    category: str
    components: list[dict[str, Any]]
    parameter_format: str = "POSITIONAL"
    status: str = "PENDING"
    rejected_reason: str = "NONE"
    created_at: float = 0.0
    review_due_at: float = 0.0
    # Set by the control API: the decision applied when the review delay has elapsed.
    forced_status: str | None = None
    forced_reason: str | None = None
    quality_score: str = "UNKNOWN"
    deleted_at: float | None = None


@dataclass
class StatusEvent:
    status: str
    timestamp: int
    errors: list[dict[str, Any]] | None = None


@dataclass
class OutboundMessage:
    """A message the business sent (or tried to send) through `POST /{id}/messages`."""

    id: str
    phone_number_id: str
    to: str
    input: str
    type: str
    request: dict[str, Any]
    created_at: float
    seq: int
    context_message_id: str | None = None
    template_id: str | None = None
    rendered_text: str | None = None
    pricing_category: str = "service"
    billable: bool = False
    pricing_type: str = "free_customer_service"
    conversation_id: str = ""
    conversation_expires_at: int = 0
    status: str = "accepted"
    statuses: list[StatusEvent] = field(default_factory=list)
    # Scheduled progression (epoch seconds, sandbox clock); None when not due any more.
    deliver_at: float | None = None
    read_at: float | None = None


@dataclass
class InboundMessage:
    """A message a persona sent to a business number (through the control API)."""

    id: str
    phone_number_id: str
    wa_id: str
    type: str
    message: dict[str, Any]
    timestamp: int
    is_read: bool = False


@dataclass
class ReadReceipt:
    message_id: str
    phone_number_id: str
    at: float
    typing_indicator: bool


@dataclass
class PairBucket:
    tokens: float
    updated_at: float


@dataclass
class Conversation:
    id: str
    expires_at: int
    category: str


@dataclass
class SystemUser:
    id: str
    waba_ids: set[str] = field(default_factory=set)


@dataclass
class WhatsAppState:
    wabas: dict[str, Waba] = field(default_factory=dict)
    phone_numbers: dict[str, PhoneNumber] = field(default_factory=dict)
    system_users: dict[str, SystemUser] = field(default_factory=dict)
    personas: dict[str, Persona] = field(default_factory=dict)
    media: dict[str, Media] = field(default_factory=dict)
    templates: dict[str, Template] = field(default_factory=dict)
    outbound: dict[str, OutboundMessage] = field(default_factory=dict)
    inbound: dict[str, InboundMessage] = field(default_factory=dict)
    read_receipts: list[ReadReceipt] = field(default_factory=list)
    # Keys "<phone_number_id>:<wa_id>" (see `chat_key`); strings so the state file is plain JSON.
    # Epoch seconds of the customer's last message to the number.
    last_customer_message_at: dict[str, float] = field(default_factory=dict)
    # The open "conversation" (pricing window) of a chat.
    conversations: dict[str, Conversation] = field(default_factory=dict)
    pair_buckets: dict[str, PairBucket] = field(default_factory=dict)
    # phone_number_id -> send timestamps within the current second (throughput limit).
    recent_sends: dict[str, list[float]] = field(default_factory=dict)
    # Webhook changes that were produced while no app was subscribed to the WABA.
    undelivered: list[dict[str, Any]] = field(default_factory=list)
    # The Graph requests received (method, path, query, body), newest last, bounded: what a
    # client sent, for tests that check it against Meta's spec.
    requests: list[dict[str, Any]] = field(default_factory=list)
    # Resumable Upload API sessions by id ("upload:<n>"): file_name, file_length, file_type,
    # file_offset, handle once the bytes arrived (see `meta_sandbox.whatsapp.uploads`).
    uploads: dict[str, dict[str, Any]] = field(default_factory=dict)
    next_number: int = 100001
    seq: int = 0

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def allocate_number(self) -> str:
        """Next fictional US number in the 555-01xx range reserved for fiction."""
        n = self.next_number
        self.next_number += 1
        return f"1555{n:07d}"


def chat_key(phone_number_id: str, wa_id: str) -> str:
    return f"{phone_number_id}:{wa_id}"


def new_wamid(wa_id: str) -> str:
    """A message id shaped like Meta's: `wamid.HBgL...`, base64 of a small binary record that
    starts with the chat's wa_id, then random bytes."""
    record = (
        b"\x1c\x18"
        + bytes([len(wa_id)])
        + wa_id.encode()
        + b"\x15\x02\x00\x12\x18\x14"
        + secrets.token_hex(10).upper().encode()
        + b"\x00"
    )
    return "wamid." + base64.b64encode(record).decode()
