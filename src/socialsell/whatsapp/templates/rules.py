"""Meta's rules for a new template, checked before Meta is asked so that each mistake is said
next to its field, and the translation of our form into Meta's components.

Limits follow Meta's template guidelines (docs/whatsapp.md and meta-api.md section 7): name of
lowercase letters, digits and underscores up to 512; header text 60 with one variable; body 1024
with sequential {{1}}.. or named {{name}} variables, each with a sample, not at the body's ends;
footer 60 without variables; up to 10 buttons, button text 25, at most 2 URL and 1 phone number
buttons, quick replies grouped together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from socialsell.core.errors import FieldError
from socialsell.whatsapp.templates.components import PLACEHOLDER_RE, variables
from socialsell.whatsapp.templates.schemas import TemplateCreate

NAME_RE = re.compile(r"^[a-z0-9_]{1,512}$")
POSITIONAL_RE = re.compile(r"^[1-9][0-9]*$")
NAMED_RE = re.compile(r"^[a-z_][a-z0-9_]*$")
PHONE_RE = re.compile(r"^\+?[0-9][0-9 ()-]{4,19}$")

NAME_MAX = 512
HEADER_TEXT_MAX = 60
BODY_TEXT_MAX = 1024
FOOTER_TEXT_MAX = 60
BUTTONS_MAX = 10
BUTTON_TEXT_MAX = 25
URL_BUTTONS_MAX = 2
PHONE_BUTTONS_MAX = 1
URL_MAX = 2000

CATEGORIES: tuple[str, ...] = ("MARKETING", "UTILITY", "AUTHENTICATION")
MEDIA_HEADERS: tuple[str, ...] = ("IMAGE", "VIDEO", "DOCUMENT")
# Meta's supported languages (the ones a seller is likely to use), code -> name.
LANGUAGES: dict[str, str] = {
    "en_US": "English (US)", "en_GB": "English (UK)", "en": "English",
    "pt_BR": "Portuguese (Brazil)", "pt_PT": "Portuguese (Portugal)",
    "es": "Spanish", "es_AR": "Spanish (Argentina)", "es_ES": "Spanish (Spain)",
    "es_MX": "Spanish (Mexico)", "fr": "French", "de": "German", "it": "Italian",
    "nl": "Dutch", "pl": "Polish", "ro": "Romanian", "ru": "Russian", "uk": "Ukrainian",
    "tr": "Turkish", "ar": "Arabic", "he": "Hebrew", "hi": "Hindi", "id": "Indonesian",
    "ms": "Malay", "th": "Thai", "vi": "Vietnamese", "ja": "Japanese", "ko": "Korean",
    "zh_CN": "Chinese (China)", "zh_HK": "Chinese (Hong Kong)", "zh_TW": "Chinese (Taiwan)",
    "sv": "Swedish", "da": "Danish", "nb": "Norwegian", "fi": "Finnish", "cs": "Czech",
    "el": "Greek", "hu": "Hungarian", "sw": "Swahili", "fil": "Filipino",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class MetaTemplate:
    name: str
    category: str
    language: str
    components: list[dict[str, Any]]
    parameter_format: str


def _format_of(names: list[str]) -> str | None:
    """POSITIONAL, NAMED, or None when the two are mixed."""
    if all(POSITIONAL_RE.match(n) for n in names):
        return "POSITIONAL"
    if all(NAMED_RE.match(n) for n in names):
        return "NAMED"
    return None


def _examples(
    given: list[str] | dict[str, str],
    names: list[str],
    field: str,
    errors: list[FieldError],
) -> list[str]:
    """One sample per variable, in the variables' order."""
    values: list[str] = []
    for index, name in enumerate(names):
        if isinstance(given, dict):
            value = given.get(name, "")
            where = f"{field}.{name}"
        else:
            value = given[index] if index < len(given) else ""
            where = f"{field}.{index}"
        value = value.strip()
        if not value:
            errors.append(FieldError(where, f"Give a sample value for {{{{{name}}}}}."))
        values.append(value)
    return values


def _check_variable_names(
    text: str, field: str, parameter_format: str | None, errors: list[FieldError]
) -> list[str]:
    names = variables(text)
    if not names:
        return names
    fmt = _format_of(names)
    if fmt is None:
        errors.append(
            FieldError(
                field,
                "Use either numbered variables ({{1}}, {{2}}) or named ones ({{first_name}}: "
                "lowercase letters, digits and underscores), not both.",
            )
        )
    elif parameter_format is not None and fmt != parameter_format:
        errors.append(FieldError(field, "Use the same kind of variables as the body."))
    elif fmt == "POSITIONAL":
        expected = [str(i) for i in range(1, len(names) + 1)]
        if sorted(names, key=int) != expected:
            errors.append(
                FieldError(field, "Number the variables in order from {{1}}, without gaps.")
            )
    return names


def build(data: TemplateCreate) -> tuple[MetaTemplate | None, list[FieldError]]:
    """Check ``data`` and build Meta's request; returns the errors instead when there are any."""
    errors: list[FieldError] = []
    name = data.name
    if not name:
        errors.append(FieldError("name", "Give the template a name."))
    elif len(name) > NAME_MAX:
        errors.append(FieldError("name", f"At most {NAME_MAX} characters."))
    elif not NAME_RE.match(name):
        errors.append(
            FieldError("name", "Use only lowercase letters, digits and underscores (order_update).")
        )
    category = data.category.upper()
    if category not in CATEGORIES:
        errors.append(FieldError("category", "Choose Marketing, Utility or Authentication."))
    if data.language not in LANGUAGES:
        errors.append(FieldError("language", "Choose a language WhatsApp supports."))

    components: list[dict[str, Any]] = []
    if category == "AUTHENTICATION":
        # Meta writes an authentication template's text itself; the business picks the button.
        components = [
            {"type": "BODY", "add_security_recommendation": True},
            {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE"}]},
        ]
        if errors:
            return None, errors
        return MetaTemplate(name, category, data.language, components, "POSITIONAL"), []

    body = data.body
    parameter_format: str | None = None
    body_names: list[str] = []
    if not body.strip():
        errors.append(FieldError("body", "Write the message text."))
    elif len(body) > BODY_TEXT_MAX:
        errors.append(
            FieldError("body", f"{len(body)} characters; WhatsApp allows at most {BODY_TEXT_MAX}.")
        )
    else:
        body_names = _check_variable_names(body, "body", None, errors)
        parameter_format = _format_of(body_names) if body_names else None
        stripped = body.strip()
        if body_names and (
            PLACEHOLDER_RE.match(stripped) or re.search(r"\{\{[^{}]*\}\}[.!?]?$", stripped)
        ):
            errors.append(
                FieldError("body", "A variable can't be the first or last thing in the text.")
            )

    header: dict[str, Any] | None = None
    if data.header_format == "TEXT":
        text = data.header_text
        if not text:
            errors.append(FieldError("header_text", "Write the header text, or choose no header."))
        elif len(text) > HEADER_TEXT_MAX:
            errors.append(FieldError("header_text", f"At most {HEADER_TEXT_MAX} characters."))
        elif "\n" in text:
            errors.append(FieldError("header_text", "The header is one line."))
        else:
            names = _check_variable_names(text, "header_text", parameter_format, errors)
            parameter_format = parameter_format or (_format_of(names) if names else None)
            header = {"type": "HEADER", "format": "TEXT", "text": text}
            if len(names) > 1:
                errors.append(FieldError("header_text", "The header can have one variable."))
            elif names:
                samples = _examples(data.header_example, names, "header_example", errors)
                if parameter_format == "NAMED":
                    header["example"] = {
                        "header_text_named_params": [
                            {"param_name": names[0], "example": samples[0]}
                        ]
                    }
                else:
                    header["example"] = {"header_text": samples}
    elif data.header_format in MEDIA_HEADERS:
        # The sample's file handle is added once the file is uploaded (see `manage`): the file
        # is checked and sent only when everything else is right.
        header = {"type": "HEADER", "format": data.header_format}
    if header is not None:
        components.append(header)

    if body_names:
        samples = _examples(data.body_examples, body_names, "body_examples", errors)
        if parameter_format == "NAMED":
            example: dict[str, Any] = {
                "body_text_named_params": [
                    {"param_name": n, "example": v}
                    for n, v in zip(body_names, samples, strict=True)
                ]
            }
        else:
            example = {"body_text": [samples]}
        components.append({"type": "BODY", "text": body, "example": example})
    elif body.strip():
        components.append({"type": "BODY", "text": body})

    if data.footer:
        if len(data.footer) > FOOTER_TEXT_MAX:
            errors.append(FieldError("footer", f"At most {FOOTER_TEXT_MAX} characters."))
        elif variables(data.footer):
            errors.append(FieldError("footer", "The footer can't have variables."))
        else:
            components.append({"type": "FOOTER", "text": data.footer})

    buttons = _buttons(data, errors)
    if buttons:
        components.append({"type": "BUTTONS", "buttons": buttons})

    if errors:
        return None, errors
    return (
        MetaTemplate(name, category, data.language, components, parameter_format or "POSITIONAL"),
        [],
    )


def _buttons(data: TemplateCreate, errors: list[FieldError]) -> list[dict[str, Any]]:
    if len(data.buttons) > BUTTONS_MAX:
        errors.append(FieldError("buttons", f"At most {BUTTONS_MAX} buttons."))
        return []
    kinds = [b.type for b in data.buttons]
    if kinds.count("URL") > URL_BUTTONS_MAX:
        errors.append(FieldError("buttons", f"At most {URL_BUTTONS_MAX} website buttons."))
    if kinds.count("PHONE_NUMBER") > PHONE_BUTTONS_MAX:
        errors.append(FieldError("buttons", "At most one phone number button."))
    quick = [i for i, kind in enumerate(kinds) if kind == "QUICK_REPLY"]
    if quick and quick != list(range(quick[0], quick[0] + len(quick))):
        errors.append(
            FieldError(
                "buttons", "Keep the quick reply buttons together, before or after the others."
            )
        )
    result: list[dict[str, Any]] = []
    for index, button in enumerate(data.buttons):
        field = f"buttons.{index}"
        if not button.text:
            errors.append(FieldError(f"{field}.text", "Give the button a label."))
        elif len(button.text) > BUTTON_TEXT_MAX:
            errors.append(FieldError(f"{field}.text", f"At most {BUTTON_TEXT_MAX} characters."))
        elif variables(button.text):
            errors.append(FieldError(f"{field}.text", "A button label can't have variables."))
        out: dict[str, Any] = {"type": button.type, "text": button.text}
        if button.type == "URL":
            url = button.url or ""
            names = variables(url)
            if not url.startswith(("https://", "http://")):
                errors.append(
                    FieldError(f"{field}.url", "Give a web address starting with https://.")
                )
            elif len(url) > URL_MAX:
                errors.append(FieldError(f"{field}.url", f"At most {URL_MAX} characters."))
            elif len(names) > 1 or (names and not url.endswith("}}")):
                errors.append(
                    FieldError(f"{field}.url", "The address can end with one variable, {{1}}.")
                )
            elif names and names != ["1"]:
                errors.append(FieldError(f"{field}.url", "The address's variable is {{1}}."))
            elif names and not (button.url_example or "").strip():
                errors.append(
                    FieldError(f"{field}.url_example", "Give a sample full address for {{1}}.")
                )
            out["url"] = url
            if names and button.url_example:
                sample = button.url_example.strip()
                prefix = url[: url.index("{{")]
                out["example"] = [sample if sample.startswith("http") else prefix + sample]
        elif button.type == "PHONE_NUMBER":
            phone = (button.phone_number or "").strip()
            if not PHONE_RE.match(phone):
                errors.append(
                    FieldError(f"{field}.phone_number", "Give the number with its country code.")
                )
            out["phone_number"] = phone
        result.append(out)
    return result


# Meta's template error subcodes, and the form field each one is about.
SUBCODE_FIELDS: dict[int, str] = {
    2388023: "name",
    2388024: "name",
    2388047: "header_text",
    2388072: "body",
    2388073: "footer",
    2388299: "body",
}
