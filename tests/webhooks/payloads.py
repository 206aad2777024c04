"""Instagram webhook bodies as Meta sends them (reference/meta-api.md §5), for cases the sandbox
does not produce (video, audio, files, shares, edits, unsends, echoes from the app)."""

from __future__ import annotations

import itertools
import json
from typing import Any

_seq = itertools.count(1)
BASE_MS = 1_790_000_000_000


def mid() -> str:
    return f"aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlE{next(_seq):08d}"


def body(*entries: dict[str, Any]) -> bytes:
    return json.dumps({"object": "instagram", "entry": list(entries)}).encode()


def messaging(ig_id: str, *events: dict[str, Any]) -> dict[str, Any]:
    return {"id": ig_id, "time": BASE_MS, "messaging": list(events)}


def incoming(ig_id: str, customer: str, at_ms: int, **event: Any) -> dict[str, Any]:
    return {"sender": {"id": customer}, "recipient": {"id": ig_id}, "timestamp": at_ms, **event}


def echo(ig_id: str, customer: str, at_ms: int, **event: Any) -> dict[str, Any]:
    return {"sender": {"id": ig_id}, "recipient": {"id": customer}, "timestamp": at_ms, **event}


def text(
    ig_id: str, customer: str, words: str, *, at_ms: int, message_id: str | None = None
) -> bytes:
    return body(
        messaging(
            ig_id,
            incoming(ig_id, customer, at_ms, message={"mid": message_id or mid(), "text": words}),
        )
    )


def comment(
    ig_id: str, customer: str, username: str, media_id: str, words: str, comment_id: str, at_s: int
) -> bytes:
    return json.dumps(
        {
            "object": "instagram",
            "entry": [
                {
                    "id": ig_id,
                    "time": at_s,
                    "changes": [
                        {
                            "field": "comments",
                            "value": {
                                "from": {"id": customer, "username": username},
                                "media": {"id": media_id, "media_product_type": "FEED"},
                                "id": comment_id,
                                "text": words,
                            },
                        }
                    ],
                }
            ],
        }
    ).encode()
