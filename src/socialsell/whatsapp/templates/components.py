"""Reading a template's components (Meta's shape): its header, body, footer, buttons and the
variables each one holds."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

PLACEHOLDER_RE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


def variables(text: str) -> list[str]:
    """The distinct variables of ``text`` in order of first appearance."""
    return list(dict.fromkeys(m.group(1) for m in PLACEHOLDER_RE.finditer(text)))


def fill(text: str, values: Mapping[str, str]) -> str:
    return PLACEHOLDER_RE.sub(lambda m: values.get(m.group(1), m.group(0)), text)


@dataclass(frozen=True, slots=True)
class Button:
    index: int
    type: str
    text: str
    url: str | None = None
    phone_number: str | None = None

    @property
    def dynamic(self) -> bool:
        """Whether a send must (URL with a variable, copy code, OTP) or may (quick reply) give
        this button a value."""
        return self.needs_value or self.type == "QUICK_REPLY"

    @property
    def needs_value(self) -> bool:
        if self.type == "URL":
            return bool(variables(self.url or ""))
        return self.type in ("COPY_CODE", "OTP")


@dataclass(frozen=True, slots=True)
class Parts:
    header_format: str | None = None
    header_text: str = ""
    body: str = ""
    footer: str = ""
    buttons: list[Button] = field(default_factory=list)

    @property
    def header_variables(self) -> list[str]:
        return variables(self.header_text) if self.header_format == "TEXT" else []

    @property
    def body_variables(self) -> list[str]:
        return variables(self.body)

    @property
    def media_header(self) -> bool:
        return self.header_format in ("IMAGE", "VIDEO", "DOCUMENT")


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def parts(components: Sequence[Mapping[str, Any]]) -> Parts:
    header_format: str | None = None
    header_text = body = footer = ""
    buttons: list[Button] = []
    for component in components:
        if not isinstance(component, Mapping):
            continue
        kind = _str(component.get("type")).upper()
        if kind == "HEADER":
            header_format = _str(component.get("format")).upper() or "TEXT"
            header_text = _str(component.get("text"))
        elif kind == "BODY":
            body = _str(component.get("text"))
        elif kind == "FOOTER":
            footer = _str(component.get("text"))
        elif kind == "BUTTONS":
            raw = component.get("buttons")
            for index, button in enumerate(raw if isinstance(raw, list) else []):
                if isinstance(button, Mapping):
                    buttons.append(
                        Button(
                            index=index,
                            type=_str(button.get("type")).upper(),
                            text=_str(button.get("text")),
                            url=_str(button.get("url")) or None,
                            phone_number=_str(button.get("phone_number")) or None,
                        )
                    )
    return Parts(header_format, header_text, body, footer, buttons)
