"""Message templates: Meta's validation on create, and the parameter check on send.

Creation rules follow Meta's template guidelines (name charset, category, component shapes,
character limits, sequential variables with examples, variables not at the body's ends).
Subcodes are Meta's where the template error-code table gives one (2388024 duplicate content,
2388040 too long, 2388047/2388072/2388073 header/body/footer format, 2388299 variables at the ends).
"""

from __future__ import annotations

import re
from typing import Any

from meta_sandbox.errors import GraphAPIError
from meta_sandbox.whatsapp.errors import template_error, wa_error
from meta_sandbox.whatsapp.state import Template

CATEGORIES: tuple[str, ...] = ("AUTHENTICATION", "MARKETING", "UTILITY")
PARAMETER_FORMATS: tuple[str, ...] = ("POSITIONAL", "NAMED")
HEADER_FORMATS: tuple[str, ...] = ("TEXT", "IMAGE", "VIDEO", "DOCUMENT", "LOCATION")
BUTTON_TYPES: tuple[str, ...] = (
    "QUICK_REPLY",
    "URL",
    "PHONE_NUMBER",
    "OTP",
    "COPY_CODE",
    "FLOW",
    "MPM",
    "CATALOG",
    "VOICE_CALL",
)
REJECTION_REASONS: tuple[str, ...] = (
    "ABUSIVE_CONTENT",
    "INCORRECT_CATEGORY",
    "INVALID_FORMAT",
    "SCAM",
    "PROMOTIONAL",
    "TAG_CONTENT_MISMATCH",
    "NONE",
)
# Statuses the control API may force (review outcomes and later quality actions).
FORCEABLE_STATUSES: tuple[str, ...] = ("APPROVED", "REJECTED", "PAUSED", "DISABLED", "FLAGGED")
# Languages of Meta's "Supported languages" table (a subset: the ones a seller is likely to use).
LANGUAGES: frozenset[str] = frozenset(
    {
        "af", "ar", "bg", "ca", "cs", "da", "de", "el", "en", "en_GB", "en_US", "es", "es_AR",
        "es_ES", "es_MX", "et", "fa", "fi", "fil", "fr", "ga", "he", "hi", "hr", "hu", "id", "it",
        "ja", "ko", "lt", "lv", "ms", "nb", "nl", "pl", "pt_BR", "pt_PT", "ro", "ru", "sk", "sl",
        "sq", "sr", "sv", "sw", "th", "tr", "uk", "ur", "vi", "zh_CN", "zh_HK", "zh_TW",
    }
)  # fmt: skip

NAME_RE = re.compile(r"^[a-z0-9_]{1,512}$")
PLACEHOLDER_RE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
POSITIONAL_RE = re.compile(r"^[1-9][0-9]*$")
NAMED_RE = re.compile(r"^[a-z_][a-z0-9_]*$")

HEADER_TEXT_MAX = 60
BODY_TEXT_MAX = 1024
FOOTER_TEXT_MAX = 60
BUTTON_TEXT_MAX = 25


def _invalid(user_title: str, user_msg: str, subcode: int | None = None) -> GraphAPIError:
    return template_error(subcode, user_title, user_msg)


def placeholders(text: str) -> list[str]:
    return [m.group(1) for m in PLACEHOLDER_RE.finditer(text)]


def _check_variables(text: str, where: str, parameter_format: str, subcode: int) -> list[str]:
    names = placeholders(text)
    if parameter_format == "POSITIONAL":
        if any(not POSITIONAL_RE.match(n) for n in names):
            raise _invalid(
                f"Invalid {where} variables",
                f"{where.capitalize()} variables must be numbers in double braces, like {{{{1}}}}.",
                subcode,
            )
        expected = [str(i) for i in range(1, len(set(names)) + 1)]
        if sorted(set(names), key=int) != expected:
            raise _invalid(
                "Variables must be sequential",
                f"The {where} variables must be sequential, starting at {{{{1}}}}.",
                subcode,
            )
    else:
        if any(not NAMED_RE.match(n) for n in names):
            raise _invalid(
                f"Invalid {where} variables",
                f"Named {where} variables must be lowercase letters, digits and underscores.",
                subcode,
            )
    return list(dict.fromkeys(names))


def _text(component: dict[str, Any], key: str = "text") -> str:
    value = component.get(key)
    return value if isinstance(value, str) else ""


def _named_examples(example: Any, key: str) -> dict[str, str]:
    items = example.get(key) if isinstance(example, dict) else None
    result: dict[str, str] = {}
    if isinstance(items, list):
        for item in items:
            if isinstance(item, dict) and "param_name" in item:
                result[str(item["param_name"])] = str(item.get("example", ""))
    return result


def _validate_header(component: dict[str, Any], parameter_format: str) -> None:
    fmt = str(component.get("format", "")).upper()
    if fmt not in HEADER_FORMATS:
        raise _invalid(
            "Invalid header format",
            f"The header format must be one of {', '.join(HEADER_FORMATS)}.",
            2388047,
        )
    component["format"] = fmt
    example = component.get("example")
    if fmt == "TEXT":
        text = _text(component)
        if not text:
            raise _invalid("Header text is missing", "A TEXT header needs text.", 2388047)
        if len(text) > HEADER_TEXT_MAX:
            raise _invalid(
                "Character limit exceeded",
                f"The header text is longer than {HEADER_TEXT_MAX} characters.",
                2388040,
            )
        if "\n" in text:
            raise _invalid(
                "Header format is incorrect", "The header text can't contain new lines.", 2388047
            )
        names = _check_variables(text, "header", parameter_format, 2388047)
        if len(names) > 1:
            raise _invalid(
                "Too many header variables", "A header can have only one variable.", 2388047
            )
        if names:
            if parameter_format == "NAMED":
                ok = set(names) <= set(_named_examples(example, "header_text_named_params"))
            else:
                values = example.get("header_text") if isinstance(example, dict) else None
                ok = isinstance(values, list) and len(values) == len(names)
            if not ok:
                raise _invalid(
                    "Missing sample values",
                    "Add a sample for the header variable (example.header_text).",
                )
    elif fmt in ("IMAGE", "VIDEO", "DOCUMENT"):
        handles = example.get("header_handle") if isinstance(example, dict) else None
        if not isinstance(handles, list) or not handles:
            raise _invalid(
                "Missing sample media",
                f"A {fmt} header needs a sample (example.header_handle).",
                2388047,
            )


def _validate_body(component: dict[str, Any], category: str, parameter_format: str) -> None:
    text = _text(component)
    if category == "AUTHENTICATION":
        # Authentication bodies are Meta's fixed text; the business only toggles the advice.
        return
    if not text.strip():
        raise _invalid("Body text is missing", "The template body needs text.", 2388072)
    if len(text) > BODY_TEXT_MAX:
        raise _invalid(
            "Character limit exceeded",
            f"The body text is longer than {BODY_TEXT_MAX} characters.",
            2388040,
        )
    names = _check_variables(text, "body", parameter_format, 2388072)
    if not names:
        return
    stripped = text.strip()
    if PLACEHOLDER_RE.match(stripped) or re.search(r"\{\{[^{}]*\}\}[.!?]?$", stripped):
        raise _invalid(
            "Variables can't be at the start or end of the template",
            "Variable parameters can't be at the start or end of the template body.",
            2388299,
        )
    example = component.get("example")
    if parameter_format == "NAMED":
        missing = set(names) - set(_named_examples(example, "body_text_named_params"))
        if missing:
            raise _invalid(
                "Missing sample values",
                "Add samples for the body variables (example.body_text_named_params): "
                + ", ".join(sorted(missing)),
            )
        return
    rows = example.get("body_text") if isinstance(example, dict) else None
    if (
        not isinstance(rows, list)
        or not rows
        or not isinstance(rows[0], list)
        or len(rows[0]) != len(names)
    ):
        raise _invalid(
            "Missing sample values",
            f"Add {len(names)} sample value(s) for the body variables (example.body_text).",
        )


def _validate_footer(component: dict[str, Any], category: str) -> None:
    if category == "AUTHENTICATION":
        minutes = component.get("code_expiration_minutes")
        if minutes is not None and (not isinstance(minutes, int) or not 1 <= minutes <= 90):
            raise _invalid(
                "Invalid code expiration",
                "code_expiration_minutes must be between 1 and 90.",
                2388073,
            )
        return
    text = _text(component)
    if not text:
        raise _invalid("Footer text is missing", "A footer needs text.", 2388073)
    if len(text) > FOOTER_TEXT_MAX:
        raise _invalid(
            "Character limit exceeded",
            f"The footer text is longer than {FOOTER_TEXT_MAX} characters.",
            2388040,
        )
    if placeholders(text):
        raise _invalid("Footer format is incorrect", "A footer can't contain variables.", 2388073)


def _validate_buttons(component: dict[str, Any], category: str) -> None:
    buttons = component.get("buttons")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 10:
        raise _invalid("Invalid buttons", "A BUTTONS component holds 1 to 10 buttons.")
    counts: dict[str, int] = {}
    for button in buttons:
        if not isinstance(button, dict):
            raise _invalid("Invalid buttons", "Each button must be an object.")
        kind = str(button.get("type", "")).upper()
        if kind not in BUTTON_TYPES:
            raise _invalid(
                "Invalid button type", f"Button type must be one of {', '.join(BUTTON_TYPES)}."
            )
        button["type"] = kind
        counts[kind] = counts.get(kind, 0) + 1
        text = button.get("text")
        if kind not in ("OTP", "COPY_CODE", "MPM", "CATALOG") and not text:
            raise _invalid("Button text is missing", f"A {kind} button needs text.")
        if isinstance(text, str) and len(text) > BUTTON_TEXT_MAX:
            raise _invalid(
                "Character limit exceeded",
                f"Button text is longer than {BUTTON_TEXT_MAX} characters.",
                2388040,
            )
        if kind == "URL":
            url = button.get("url")
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                raise _invalid("Invalid URL", "A URL button needs an http(s) url.")
            names = placeholders(url)
            if len(names) > 1 or (names and not re.search(r"\{\{[^{}]*\}\}$", url)):
                raise _invalid(
                    "Invalid URL variable", "A URL can have one variable, at the end of the URL."
                )
            if names and not button.get("example"):
                raise _invalid(
                    "Missing sample values", "Add a sample URL (example) for the button."
                )
        if kind == "PHONE_NUMBER" and not button.get("phone_number"):
            raise _invalid("Phone number is missing", "A PHONE_NUMBER button needs phone_number.")
    if counts.get("URL", 0) > 2 or counts.get("PHONE_NUMBER", 0) > 1:
        raise _invalid(
            "Too many call-to-action buttons",
            "A template can have at most 2 URL buttons and 1 phone number button.",
        )
    if category == "AUTHENTICATION" and counts.get("OTP", 0) != 1:
        raise _invalid(
            "Missing one-time password button",
            "Authentication templates need exactly one OTP button.",
        )


def validate_new_template(
    params: dict[str, Any],
) -> tuple[str, str, str, list[dict[str, Any]], str]:
    """Check a `POST /{waba_id}/message_templates` request; returns its normalised fields."""
    name = params.get("name")
    if not isinstance(name, str) or not name:
        raise wa_error(100, "The parameter name is required.")
    if not NAME_RE.match(name):
        raise _invalid(
            "Invalid template name",
            "Template names can only contain lowercase letters, numbers and underscores "
            "(at most 512 characters).",
        )
    category = params.get("category")
    if not isinstance(category, str) or category.upper() not in CATEGORIES:
        raise GraphAPIError(
            f'(#100) Param category must be one of {{{", ".join(CATEGORIES)}}} - got "{category}".',
            code=100,
        )
    category = category.upper()
    language = params.get("language")
    if not isinstance(language, str) or language not in LANGUAGES:
        raise _invalid("Invalid language", f"The language code '{language}' is not supported.")
    parameter_format = str(params.get("parameter_format") or "POSITIONAL").upper()
    if parameter_format not in PARAMETER_FORMATS:
        raise _invalid("Invalid parameter format", "parameter_format is POSITIONAL or NAMED.")
    components = params.get("components")
    if not isinstance(components, list) or not components:
        raise wa_error(100, "The parameter components is required.")
    seen: dict[str, int] = {}
    normalised: list[dict[str, Any]] = []
    for raw in components:
        if not isinstance(raw, dict):
            raise _invalid("Invalid component", "Each component must be an object.")
        component = dict(raw)
        kind = str(component.get("type", "")).upper()
        component["type"] = kind
        seen[kind] = seen.get(kind, 0) + 1
        if kind == "HEADER":
            _validate_header(component, parameter_format)
        elif kind == "BODY":
            _validate_body(component, category, parameter_format)
        elif kind == "FOOTER":
            _validate_footer(component, category)
        elif kind == "BUTTONS":
            _validate_buttons(component, category)
        else:
            raise _invalid(
                "Invalid component type",
                f"Component type must be HEADER, BODY, FOOTER or BUTTONS, not '{raw.get('type')}'.",
            )
        normalised.append(component)
    if seen.get("BODY") != 1 or any(n > 1 for n in seen.values()):
        raise _invalid(
            "Invalid components",
            "A template has exactly one BODY and at most one HEADER, FOOTER and BUTTONS.",
        )
    return name, language, category, normalised, parameter_format


# --- sending ---------------------------------------------------------------------------------------


def _component(template: Template, kind: str) -> dict[str, Any] | None:
    for component in template.components:
        if component.get("type") == kind:
            return component
    return None


def _param_text(param: dict[str, Any]) -> str | None:
    kind = param.get("type")
    if kind == "text":
        value = param.get("text")
        return value if isinstance(value, str) else None
    if kind in ("currency", "date_time"):
        inner = param.get(kind)
        if isinstance(inner, dict) and isinstance(inner.get("fallback_value"), str):
            return str(inner["fallback_value"])
        return None
    if kind == "payload":
        value = param.get("payload")
        return value if isinstance(value, str) else None
    return None


def _mismatch(where: str, got: int, expected: int) -> GraphAPIError:
    return wa_error(
        132000,
        f"{where}: number of localizable_params ({got}) does not match the expected number of "
        f"params ({expected})",
    )


def _substitute(
    text: str, names: list[str], params: list[dict[str, Any]], where: str, named: bool
) -> str:
    values: dict[str, str] = {}
    for index, param in enumerate(params):
        value = _param_text(param)
        if value is None:
            raise wa_error(
                132012, f"{where}: Format mismatch, expected TEXT, received {param.get('type')}"
            )
        if named:
            key = param.get("parameter_name")
            if key not in names:
                raise wa_error(
                    132000, f"{where}: parameter_name '{key}' is not a parameter of the template"
                )
            values[str(key)] = value
        else:
            values[str(index + 1)] = value
    return PLACEHOLDER_RE.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def check_send(template: Template, request: dict[str, Any]) -> str:
    """Match a send's `template.components` against the template; returns the rendered text.

    Raises 132000 on a parameter-count mismatch and 132012 on a parameter of the wrong kind.
    """
    given: dict[str, dict[str, Any]] = {}
    buttons_given: dict[int, dict[str, Any]] = {}
    components = request.get("components") or []
    if not isinstance(components, list):
        raise wa_error(131009, "template.components must be an array.")
    for component in components:
        if not isinstance(component, dict):
            raise wa_error(131009, "Each template component must be an object.")
        kind = str(component.get("type", "")).lower()
        if kind == "button":
            try:
                index = int(component.get("index", -1))
            except (TypeError, ValueError):
                index = -1
            buttons_given[index] = component
        elif kind in ("header", "body"):
            given[kind] = component
        else:
            raise wa_error(131009, f"Invalid template component type '{component.get('type')}'.")
    named = template.parameter_format == "NAMED"
    parts: list[str] = []

    header = _component(template, "HEADER")
    header_params = list(given.get("header", {}).get("parameters") or [])
    if header is None:
        if header_params:
            raise _mismatch("header", len(header_params), 0)
    elif header.get("format") == "TEXT":
        text = _text(header)
        names = list(dict.fromkeys(placeholders(text)))
        if len(header_params) != len(names):
            raise _mismatch("header", len(header_params), len(names))
        parts.append(_substitute(text, names, header_params, "header", named))
    else:
        expected = str(header.get("format", "")).lower()
        if len(header_params) != 1:
            raise _mismatch("header", len(header_params), 1)
        got = header_params[0].get("type") if isinstance(header_params[0], dict) else None
        if got != expected:
            raise wa_error(
                132012,
                f"header: Format mismatch, expected {expected.upper()}, received "
                f"{str(got).upper() if got else 'UNKNOWN'}",
            )
        media = header_params[0].get(expected)
        if expected != "location" and not (
            isinstance(media, dict) and (media.get("id") or media.get("link"))
        ):
            raise wa_error(131008, f"header: {expected} parameter needs an id or a link.")

    body = _component(template, "BODY")
    body_params = list(given.get("body", {}).get("parameters") or [])
    body_text = _text(body) if body else ""
    names = list(dict.fromkeys(placeholders(body_text)))
    if template.category == "AUTHENTICATION":
        # The one-time code is the body's only parameter.
        if len(body_params) != 1:
            raise _mismatch("body", len(body_params), 1)
        code = _param_text(body_params[0]) or ""
        parts.append(f"{code} is your verification code.")
    else:
        if len(body_params) != len(names):
            raise _mismatch("body", len(body_params), len(names))
        parts.append(_substitute(body_text, names, body_params, "body", named))

    footer = _component(template, "FOOTER")
    if footer and _text(footer):
        parts.append(_text(footer))

    defined = _component(template, "BUTTONS")
    defined_buttons = list(defined.get("buttons", [])) if defined else []
    for index in buttons_given:
        if not 0 <= index < len(defined_buttons):
            raise wa_error(131009, f"button: index {index} is not a button of the template.")
    for index, button in enumerate(defined_buttons):
        needs = 1 if button.get("type") == "URL" and placeholders(str(button.get("url", ""))) else 0
        needs = 1 if button.get("type") in ("OTP", "COPY_CODE") else needs
        params = list(buttons_given.get(index, {}).get("parameters") or [])
        if needs and len(params) != needs:
            raise _mismatch(f"button at index {index}", len(params), needs)
    return "\n".join(p for p in parts if p)


def template_json(template: Template, fields: list[str] | None = None) -> dict[str, Any]:
    """A template as `GET /{waba_id}/message_templates` lists it."""
    full: dict[str, Any] = {
        "name": template.name,
        "parameter_format": template.parameter_format,
        "components": template.components,
        "language": template.language,
        "status": template.status,
        "category": template.category,
        "id": template.id,
    }
    if template.status == "REJECTED":
        full["rejected_reason"] = template.rejected_reason
    if template.status == "APPROVED":
        full["quality_score"] = {"score": template.quality_score}
    if fields:
        return {k: full[k] for k in (*fields, "id") if k in full}
    return full
