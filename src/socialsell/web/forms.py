"""HTML forms validated by the same Pydantic schemas as the JSON API.

A failed form comes back as ``errors`` (field name -> message in the user's language) and
``values`` (what they typed, so the re-rendered form keeps it; passwords are never echoed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from socialsell.core.errors import AppError, RateLimited
from socialsell.web.templating import Translator

M = TypeVar("M", bound=BaseModel)

FORM_ERROR = "__form__"  # key for a message about the whole form, shown above its fields
_SECRET_FIELDS = {"password", "current_password", "new_password"}


@dataclass(slots=True)
class FormResult(Generic[M]):
    data: M | None
    errors: dict[str, str] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.data is not None and not self.errors


async def form_values(request: Request, names: Iterable[str]) -> dict[str, str]:
    form = await request.form()
    values: dict[str, str] = {}
    for name in names:
        value = form.get(name)
        if isinstance(value, str):
            values[name] = value
    return values


async def parse_form(
    request: Request,
    schema: type[M],
    t: Translator,
    *,
    extra: Mapping[str, Any] | None = None,
) -> FormResult[M]:
    """Validate the schema's fields from the posted form (other fields such as the CSRF token
    are ignored: the API schemas forbid unknown keys)."""
    values = await form_values(request, schema.model_fields)
    data: dict[str, Any] = {k: v for k, v in values.items()}
    data.update(extra or {})
    shown = {k: v for k, v in values.items() if k not in _SECRET_FIELDS}
    try:
        return FormResult(data=schema.model_validate(data), values=shown)
    except ValidationError as exc:
        return FormResult(data=None, errors=validation_messages(exc.errors(), t), values=shown)


def validation_messages(errors: Sequence[Any], t: Translator) -> dict[str, str]:
    """Pydantic's messages are written for developers ("String should have at least 1
    character"); people get one plain sentence per field, in their language."""
    out: dict[str, str] = {}
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in {"body", "form"}]
        name = loc[0] if loc else FORM_ERROR
        if name in out:
            continue  # the first problem of a field is the one to fix first
        out[name] = _message(err, name, t)
    return out


def _message(err: Mapping[str, Any], name: str, t: Translator) -> str:
    kind = str(err.get("type", ""))
    raw = str(err.get("msg", "")).removeprefix("Value error, ")
    if kind == "missing" or (
        kind == "string_too_short" and err.get("ctx", {}).get("min_length") == 1
    ):
        return t.gettext("This field is required.")
    if kind == "string_too_long":
        return t.gettext("This is too long.")
    if kind == "literal_error":
        return t.gettext("Choose one of the options.")
    if name == "email" and kind == "value_error":
        return t.gettext("Enter a valid e-mail address, like name@example.com.")
    if name == "language":
        return t.gettext("Choose a language from the list.")
    return t.gettext(raw)


def app_error_messages(exc: AppError, t: Translator) -> dict[str, str]:
    """A service error on a form: next to its fields when it names them, else above the form."""
    if isinstance(exc, RateLimited):
        return {FORM_ERROR: rate_limited_message(exc.retry_after, t)}
    if exc.errors:
        return {e.field: t.gettext(e.message) for e in exc.errors}
    return {FORM_ERROR: t.gettext(exc.message)}


def rate_limited_message(retry_after: int, t: Translator) -> str:
    return t.ngettext(
        "Too many attempts. Try again in %(num)d second.",
        "Too many attempts. Try again in %(num)d seconds.",
        retry_after,
    )
