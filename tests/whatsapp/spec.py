"""Checking WhatsApp traffic against Meta's official OpenAPI spec
(``tests/whatsapp/reference/whatsapp-business-messaging-openapi-v23.0.yaml``, MIT, kept
unchanged), with ``jsonschema``.

- A **request** matches an operation of the spec: its path fits one of the spec's path
  templates (``/{Version}/{Phone-Number-ID}/messages``, ...) for its method, every query
  parameter is one the operation declares, and a JSON or multipart body validates against the
  operation's request body schema. Several templates fit an id-only path (a phone number, a media
  object, a WABA): the request passes if one of them accepts it.
- A **webhook** validates against ``#/components/schemas/WebhookPayload`` (the spec's
  ``POST /whatsapp/webhooks``). The spec defines payloads only for the ``messages`` field (and
  groups); account fields (``message_template_status_update``, ``phone_number_quality_update``,
  ...) are checked against :data:`ACCOUNT_CHANGE_SCHEMAS`, written from meta-api.md §7.

Five readings of the spec are needed for it to accept anything at all, and are applied here:
1. Message types are ``allOf: [BaseMessageProperties, {additionalProperties: false, ...}]``.
   Read literally by JSON Schema, the second part rejects ``messaging_product`` and ``to``, so no
   message would ever validate; the parts of such an ``allOf`` are merged into one object schema
   (the union of properties and required fields, closed), which is what the spec means.
2. The webhook schemas (``WebhookPayload`` ... ``SystemMessage``) define the incoming message
   types under suffixed names (``TextMessage_2``, ``ImageMessage_1``, ``BaseMessageProperties_1``,
   ...) because the outgoing ones took the plain names, but ``IncomingMessage`` and
   ``SystemMessage`` still refer to the plain (outgoing) names, which require ``to`` and
   ``recipient_type``: no customer message would validate. Inside the webhook schemas, a ref to a
   name that has a suffixed webhook variant is pointed at that variant.
3. The webhook's ``ContextObject`` requires ``referred_product``, which Meta sends only when a
   customer asks about a product; a customer quoting a message gets ``context {from, id}``
   (meta-api.md §7, Meta's webhook reference). ``referred_product`` is read as optional.
4. Graph's parameters common to every read (``fields``, and the cursor paging ``limit``,
   ``after``, ``before``) are accepted on every GET: the spec declares them on most edges
   (``/{WABA-ID}/phone_numbers``) but not on some (``/{WABA-ID}/message_templates``).
5. Mark-as-read (``{"messaging_product", "status": "read", "message_id"}``) is documented only as
   an example of ``POST /{Phone-Number-ID}/messages``; its ``Message`` schema has no member for
   it. Such a body is checked against :data:`MARK_READ_SCHEMA`, written from that example.
"""

from __future__ import annotations

import copy
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

SPEC_PATH = (
    Path(__file__).resolve().parent / "reference" / "whatsapp-business-messaging-openapi-v23.0.yaml"
)
_REF = "#/components/schemas/"

MARK_READ_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["messaging_product", "status", "message_id"],
    "properties": {
        "messaging_product": {"const": "whatsapp"},
        "status": {"const": "read"},
        "message_id": {"type": "string", "minLength": 1},
        "typing_indicator": {
            "type": "object",
            "additionalProperties": False,
            "required": ["type"],
            "properties": {"type": {"const": "text"}},
        },
    },
}

# meta-api.md §7 (webhooks: template status, quality, category; number quality).
_ACCOUNT_VALUE: dict[str, dict[str, Any]] = {
    "message_template_status_update": {
        "type": "object",
        "required": ["event", "message_template_id", "message_template_name"],
        "properties": {
            "event": {
                "enum": [
                    "APPROVED",
                    "REJECTED",
                    "PENDING",
                    "PAUSED",
                    "DISABLED",
                    "FLAGGED",
                    "REINSTATED",
                    "PENDING_DELETION",
                    "IN_APPEAL",
                    "LIMIT_EXCEEDED",
                    "ARCHIVED",
                    "DELETED",
                ]
            },
            "message_template_id": {"type": ["integer", "string"]},
            "message_template_name": {"type": "string"},
            "message_template_language": {"type": "string"},
            "reason": {"type": ["string", "null"]},
        },
    },
    "message_template_quality_update": {
        "type": "object",
        "required": ["message_template_id", "new_quality_score"],
        "properties": {
            "previous_quality_score": {"type": "string"},
            "new_quality_score": {"type": "string"},
            "message_template_id": {"type": ["integer", "string"]},
            "message_template_name": {"type": "string"},
            "message_template_language": {"type": "string"},
        },
    },
    "template_category_update": {
        "type": "object",
        "required": ["message_template_id"],
        "properties": {
            "message_template_id": {"type": ["integer", "string"]},
            "message_template_name": {"type": "string"},
            "message_template_language": {"type": "string"},
            "previous_category": {"type": "string"},
            "new_category": {"type": "string"},
            "correct_category": {"type": "string"},
        },
    },
    "phone_number_quality_update": {
        "type": "object",
        "required": ["display_phone_number", "event", "current_limit"],
        "properties": {
            "display_phone_number": {"type": "string"},
            "event": {"enum": ["FLAGGED", "UNFLAGGED", "UPGRADE", "DOWNGRADE", "ONBOARDING"]},
            "current_limit": {"type": "string", "pattern": "^TIER_"},
            "old_limit": {"type": "string"},
        },
    },
}
ACCOUNT_CHANGE_SCHEMAS: dict[str, dict[str, Any]] = {
    name: {
        "type": "object",
        "required": ["object", "entry"],
        "properties": {
            "object": {"const": "whatsapp_business_account"},
            "entry": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "changes"],
                    "properties": {
                        "id": {"type": "string"},
                        "time": {"type": "integer"},
                        "changes": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["field", "value"],
                                "properties": {"field": {"const": name}, "value": value},
                            },
                        },
                    },
                },
            },
        },
    }
    for name, value in _ACCOUNT_VALUE.items()
}


class SpecViolation(AssertionError):
    pass


@lru_cache(maxsize=1)
def _spec() -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with SPEC_PATH.open(encoding="utf-8") as handle:
        spec: dict[str, Any] = yaml.load(handle, Loader=loader)  # noqa: S506 - a safe loader
    return _merge_closed_all_of(_webhook_variants(spec))


def _webhook_variants(spec: dict[str, Any]) -> dict[str, Any]:
    """Reading 2 of the module docstring."""
    schemas: dict[str, Any] = spec["components"]["schemas"]
    names = list(schemas)
    region = names[names.index("WebhookPayload") : names.index("SystemMessage") + 1]
    variants = {}
    for name in region:
        match = re.fullmatch(r"(.+)_\d+", name)
        if match and match.group(1) in schemas:
            variants[_REF + match.group(1)] = _REF + name

    def point(node: Any) -> Any:
        if isinstance(node, list):
            return [point(item) for item in node]
        if isinstance(node, dict):
            return {k: point(v) for k, v in node.items()}
        if isinstance(node, str) and node in variants:
            return variants[node]
        return node

    for name in region:
        schemas[name] = point(schemas[name])
    # Reading 3.
    context = schemas["ContextObject"]
    context["required"] = [r for r in context.get("required", []) if r != "referred_product"]
    return spec


def _merge_closed_all_of(spec: dict[str, Any]) -> dict[str, Any]:
    """Reading 1 of the module docstring, applied to every schema of the spec."""
    spec = copy.deepcopy(spec)
    schemas: dict[str, Any] = spec["components"]["schemas"]

    def resolve(node: Any) -> Any:
        if isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if ref.startswith(_REF):
                return resolve(schemas[ref[len(_REF) :]])
        return node

    def closed(node: Any) -> bool:
        return isinstance(node, dict) and node.get("additionalProperties") is False

    def merge(node: Any) -> Any:
        if isinstance(node, list):
            return [merge(item) for item in node]
        if not isinstance(node, dict):
            return node
        node = {key: merge(value) for key, value in node.items()}
        parts = node.get("allOf")
        if not isinstance(parts, list) or not any(closed(resolve(p)) for p in parts):
            return node
        merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
        for part in (resolve(p) for p in parts):
            merged["properties"].update(part.get("properties", {}))
            merged["required"] += [
                r for r in part.get("required", []) if r not in merged["required"]
            ]
            for key, value in part.items():
                if key not in {"properties", "required", "additionalProperties", "type"}:
                    merged.setdefault(key, value)
        merged["additionalProperties"] = False
        for key, value in node.items():
            if key != "allOf":
                merged.setdefault(key, value)
        return merged

    # Twice: a merged schema may refer to one that is merged in the first pass.
    for _ in range(2):
        spec["components"]["schemas"] = schemas = {
            name: merge(schema) for name, schema in schemas.items()
        }
    spec["paths"] = merge(spec["paths"])
    return spec


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    # The schema sits beside the spec's components so its "#/components/..." refs resolve.
    root = {**schema, "components": _spec()["components"]}
    return Draft202012Validator(root)


def _errors(schema: dict[str, Any], instance: Any) -> list[str]:
    found: list[ValidationError] = sorted(
        _validator(schema).iter_errors(instance), key=lambda e: list(e.absolute_path)
    )
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:300]}" for e in found]


@lru_cache(maxsize=1)
def _operations() -> list[tuple[str, re.Pattern[str], str, dict[str, Any]]]:
    out = []
    for template, item in _spec()["paths"].items():
        pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "/?$")
        for method, operation in item.items():
            if isinstance(operation, dict) and method in {"get", "post", "delete", "put"}:
                out.append((method.upper(), pattern, template, operation))
    return out


def _parameters(operation: dict[str, Any]) -> list[dict[str, Any]]:
    params = []
    for param in operation.get("parameters", []):
        if "$ref" in param:
            name = param["$ref"].rsplit("/", 1)[-1]
            param = _spec()["components"]["parameters"][name]
        params.append(param)
    return params


def request_errors(request: dict[str, Any]) -> list[str]:
    """Why ``request`` (a sandbox request log item) fits no operation of the spec; [] if it
    fits one."""
    method, path = request["method"], request["path"]
    if not re.match(r"^/v\d+\.\d+/", path):
        # The media download URL Meta hands out (the spec's GET /{Version}/{Media-URL} stands
        # for it): only its method can be checked.
        return [] if method == "GET" else [f"{method} {path}: media URLs are fetched with GET"]
    candidates = [
        (t, op) for m, pattern, t, op in _operations() if m == method and pattern.match(path)
    ]
    if not candidates:
        return [f"{method} {path}: no operation of the spec has this method and path"]
    reasons: list[str] = []
    for template, operation in candidates:
        problems = _operation_errors(operation, request)
        if not problems:
            return []
        reasons += [f"{method} {template}: {p}" for p in problems]
    return reasons


GRAPH_READ_PARAMETERS = frozenset({"fields", "limit", "after", "before"})


def _operation_errors(operation: dict[str, Any], request: dict[str, Any]) -> list[str]:
    declared = {p["name"]: p for p in _parameters(operation) if p.get("in") == "query"}
    if request["method"] == "GET":  # reading 4
        for name in GRAPH_READ_PARAMETERS - set(declared):
            declared[name] = {"name": name, "in": "query"}
    problems = [
        f"query parameter {name!r} is not declared"
        for name in request["query"]
        if name not in declared
    ]
    for name, param in declared.items():
        if param.get("required") and name not in request["query"]:
            problems.append(f"query parameter {name!r} is required")
    body = request.get("body")
    content = (operation.get("requestBody") or {}).get("content") or {}
    if body is None:
        if (operation.get("requestBody") or {}).get("required"):
            problems.append("a request body is required")
        return problems
    content_type = request.get("content_type") or "application/json"
    if body.get("status") == "read" and "message_id" in body:
        return problems + _errors(MARK_READ_SCHEMA, body)
    media = content.get(content_type)
    if media is None:
        return [*problems, f"the operation takes no {content_type} body"]
    schema = media.get("schema") or {}
    if content_type == "multipart/form-data":
        # Files are recorded by name and type; the schema types them as binary strings.
        body = {k: (v if isinstance(v, str) else "<binary>") for k, v in body.items()}
    return problems + _errors(schema, body)


def webhook_errors(payload: dict[str, Any]) -> list[str]:
    """Why a ``whatsapp_business_account`` delivery does not validate; [] if it does."""
    problems: list[str] = []
    for entry in payload.get("entry") or []:
        for change in entry.get("changes") or []:
            single = {**payload, "entry": [{**entry, "changes": [change]}]}
            field = change.get("field")
            if field in ACCOUNT_CHANGE_SCHEMAS:
                problems += _errors(ACCOUNT_CHANGE_SCHEMAS[field], single)
            else:
                problems += _errors({"$ref": _REF + "WebhookPayload"}, single)
    if not payload.get("entry"):
        problems += _errors({"$ref": _REF + "WebhookPayload"}, payload)
    return problems


def assert_request_valid(request: dict[str, Any]) -> None:
    problems = request_errors(request)
    if problems:
        raise SpecViolation("\n".join(problems))


def assert_webhook_valid(payload: dict[str, Any]) -> None:
    problems = webhook_errors(payload)
    if problems:
        raise SpecViolation("\n".join(problems))
