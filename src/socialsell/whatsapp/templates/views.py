"""The Templates page of a WhatsApp number: the list with statuses, reasons and quality, a
status filter, Sync, the create form (with a live preview drawn by
static/js/whatsapp-templates.js) and delete with confirmation. Same services as the API."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from socialsell.core.deps import CsrfProtected, SessionDep, SettingsDep
from socialsell.core.errors import AppError
from socialsell.core.pagination import PageParams
from socialsell.core.storage import Storage, get_storage, media_url
from socialsell.publishing import service as media_library
from socialsell.publishing.models import MediaAsset
from socialsell.settings import Settings
from socialsell.web.deps import PageUser
from socialsell.web.forms import FORM_ERROR, app_error_messages, validation_messages
from socialsell.web.templating import Translator, redirect, render, request_translator, url_path
from socialsell.whatsapp.templates import manage, rules, samples
from socialsell.whatsapp.templates.components import PLACEHOLDER_RE, parts
from socialsell.whatsapp.templates.models import WhatsAppTemplate
from socialsell.whatsapp.templates.schemas import TemplateCreate

router = APIRouter(include_in_schema=False)
StorageDep = Annotated[Storage, Depends(get_storage)]

LIBRARY_SIZE = 12
BUTTON_SLOTS = 3  # rows shown without JavaScript; the script adds more, up to rules.BUTTONS_MAX


def N_(message: str) -> str:  # gettext's no-op marker: extracted, translated at render time
    return message


STATUS_LABELS = {
    "APPROVED": N_("Approved"),
    "PENDING": N_("In review"),
    "REJECTED": N_("Rejected"),
    "PAUSED": N_("Paused"),
    "DISABLED": N_("Disabled"),
    "FLAGGED": N_("Flagged"),
    "IN_APPEAL": N_("In appeal"),
    "PENDING_DELETION": N_("Being deleted"),
    "LIMIT_EXCEEDED": N_("Limit exceeded"),
    "ARCHIVED": N_("Archived"),
    "LOCKED": N_("Locked"),
}
STATUS_BADGES = {
    "APPROVED": "success",
    "PENDING": "info",
    "IN_APPEAL": "info",
    "REJECTED": "danger",
    "DISABLED": "danger",
    "PAUSED": "warning",
    "FLAGGED": "warning",
}
REJECTION_REASONS = {
    "ABUSIVE_CONTENT": N_("Meta found abusive content."),
    "INCORRECT_CATEGORY": N_("The category does not match the content: try another category."),
    "INVALID_FORMAT": N_(
        "The format is not valid: check the variables, their samples and the formatting."
    ),
    "SCAM": N_("Meta considered it a possible scam."),
    "PROMOTIONAL": N_("Promotional content is not allowed in this category."),
    "TAG_CONTENT_MISMATCH": N_("The content does not match the category or language."),
}
QUALITY = {
    "GREEN": ("success", N_("High quality")),
    "YELLOW": ("warning", N_("Medium quality")),
    "RED": ("danger", N_("Low quality")),
}
CATEGORY_LABELS = {
    "MARKETING": N_("Marketing"),
    "UTILITY": N_("Utility"),
    "AUTHENTICATION": N_("Authentication"),
}
FILTERS = ("APPROVED", "PENDING", "REJECTED", "PAUSED", "DISABLED")


@dataclass(frozen=True, slots=True)
class Segment:
    text: str
    variable: bool


def segments(text: str) -> list[Segment]:
    """Text split into plain runs and {{variables}}, so the page can highlight the variables."""
    out: list[Segment] = []
    last = 0
    for match in PLACEHOLDER_RE.finditer(text):
        if match.start() > last:
            out.append(Segment(text[last : match.start()], False))
        out.append(Segment(match.group(0), True))
        last = match.end()
    if last < len(text):
        out.append(Segment(text[last:], False))
    return out


@dataclass(frozen=True, slots=True)
class TemplateCard:
    row: WhatsAppTemplate
    status_label: str
    badge: str
    reason: str | None
    quality: tuple[str, str] | None
    category: str
    header: list[Segment]
    header_media: str | None
    body: list[Segment]
    footer: str
    buttons: list[str]


def present(template: WhatsAppTemplate, t: Translator) -> TemplateCard:
    tp = parts(template.components)
    reason = None
    if template.status == "REJECTED":
        code = template.rejected_reason
        words = REJECTION_REASONS.get(code or "")
        reason = t.gettext(words) if words else t.gettext("Meta gave no reason.")
        if code:
            reason = f"{reason} ({code})"
    elif template.status_detail:
        reason = template.status_detail
    quality = QUALITY.get(template.quality_score or "")
    return TemplateCard(
        row=template,
        status_label=t.gettext(STATUS_LABELS.get(template.status, template.status.title())),
        badge=STATUS_BADGES.get(template.status, "neutral"),
        reason=reason,
        quality=(quality[0], t.gettext(quality[1])) if quality else None,
        category=t.gettext(CATEGORY_LABELS.get(template.category, template.category.title())),
        header=segments(tp.header_text) if tp.header_format == "TEXT" else [],
        header_media=(tp.header_format or "").lower() if tp.media_header else None,
        body=segments(tp.body),
        footer=tp.footer,
        buttons=[b.text or b.type for b in tp.buttons],
    )


def _examples(form: FormData, prefix: str) -> list[str] | dict[str, str]:
    """Sample inputs are named ``prefix.0`` (for {{1}}) ... or ``prefix.<name>``."""
    found = {
        key.removeprefix(prefix + "."): value
        for key, value in form.multi_items()
        if key.startswith(prefix + ".") and isinstance(value, str)
    }
    if found and all(k.isdigit() for k in found):
        size = max(int(k) for k in found) + 1
        return [found.get(str(i), "") for i in range(size)]
    return {k: v for k, v in found.items() if not k.isdigit()}


def _buttons(form: FormData) -> list[dict[str, str]]:
    rows: dict[int, dict[str, str]] = {}
    for key, value in form.multi_items():
        match = re.fullmatch(r"buttons\.(\d+)\.(type|text|url|url_example|phone_number)", key)
        if match and isinstance(value, str):
            rows.setdefault(int(match.group(1)), {})[match.group(2)] = value
    out = []
    for index in sorted(rows)[: rules.BUTTONS_MAX + 1]:
        row = rows[index]
        if row.get("type") in ("QUICK_REPLY", "URL", "PHONE_NUMBER"):
            out.append({k: v for k, v in row.items() if v or k == "type"})
    return out


def sample_keys(prefix: str, values: Mapping[str, str], errors: Mapping[str, str]) -> list[str]:
    """The sample fields to show again after a failed submit: typed ones and missing ones."""
    keys = [k for k in values if k.startswith(prefix + ".")]
    keys += [k for k in errors if k.startswith(prefix + ".") and k not in values]
    return sorted(keys, key=lambda k: (not k.split(".", 1)[1].isdigit(), k.split(".", 1)[1]))


def sample_var(key: str) -> str:
    """``body_examples.0`` -> ``{{1}}``; ``body_examples.first_name`` -> ``{{first_name}}``."""
    name = key.split(".", 1)[1]
    return "{{" + (str(int(name) + 1) if name.isdigit() else name) + "}}"


async def _sample_file(form: FormData, header_format: str) -> tuple[bytes, str] | None:
    """The header sample sent with the form, read up to one byte past the largest limit (so a
    file too big is said so without holding all of it)."""
    upload = form.get("header_media_file")
    if header_format not in samples.SAMPLE_TYPES or not isinstance(upload, UploadFile):
        return None
    if not upload.filename:
        return None
    content = await upload.read(samples.SAMPLE_TYPES[header_format][1] + 1)
    return content, upload.filename


def _form_values(form: FormData) -> dict[str, str]:
    return {k: v for k, v in form.multi_items() if isinstance(v, str)}


async def _library(
    session: SessionDep, viewer: PageUser, settings: Settings, storage: Storage
) -> list[tuple[MediaAsset, str]]:
    """Recent photos and videos of the media library, to pick a media header's sample."""
    rows, _ = await media_library.list_media(
        session, viewer.principal, PageParams(limit=LIBRARY_SIZE), None
    )
    return [
        (a, media_url(settings, storage, a.thumbnail_key or a.storage_key, ttl_seconds=3600))
        for a in rows
    ]


async def _page(
    request: Request,
    session: SessionDep,
    viewer: PageUser,
    channel_id: uuid.UUID,
    *,
    settings: Settings,
    storage: Storage,
    status: str | None = None,
    errors: Mapping[str, str] | None = None,
    values: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    t = request_translator(request)
    status = status.upper() if status and status.upper() in FILTERS else None
    found = await manage.listing(session, viewer.principal, channel_id, status)
    details = found.number.details or {}
    total = sum(found.counts.values())
    values = dict(values or {})
    button_rows = max(
        BUTTON_SLOTS,
        1
        + max((int(k.split(".")[1]) for k in values if re.match(r"buttons\.\d+\.", k)), default=-1),
    )
    context: dict[str, Any] = {
        "viewer": viewer,
        "number": found.number,
        "number_label": found.number.label,
        "display_phone": details.get("display_phone_number") or found.number.external_id,
        "cards": [present(row, t) for row in found.templates],
        "counts": found.counts,
        "total": total,
        "status": status,
        "filters": [
            (None, t.gettext("All"), total),
            *[(s, t.gettext(STATUS_LABELS[s]), found.counts.get(s, 0)) for s in FILTERS],
        ],
        "sync": found.sync,
        "synced_at": viewer.format_datetime(found.sync.synced_at)
        if found.sync and found.sync.synced_at
        else None,
        "errors": dict(errors or {}),
        "values": values,
        "form_open": bool(errors),
        "sample_keys": sample_keys,
        "sample_var": sample_var,
        "languages": sorted(rules.LANGUAGES.items(), key=lambda item: item[1]),
        "categories": [(c, t.gettext(CATEGORY_LABELS[c])) for c in rules.CATEGORIES],
        "button_rows": min(button_rows, rules.BUTTONS_MAX),
        "library": await _library(session, viewer, settings, storage),
        "limits": {
            "header": rules.HEADER_TEXT_MAX,
            "body": rules.BODY_TEXT_MAX,
            "footer": rules.FOOTER_TEXT_MAX,
            "button": rules.BUTTON_TEXT_MAX,
            "buttons": rules.BUTTONS_MAX,
        },
    }
    return render(request, "whatsapp/templates.html", context, status_code=status_code)


@router.get("/whatsapp/{channel_id}/templates", name="whatsapp.templates")
async def templates_page(
    request: Request,
    channel_id: uuid.UUID,
    session: SessionDep,
    viewer: PageUser,
    settings: SettingsDep,
    storage: StorageDep,
    status: str | None = None,
) -> Response:
    return await _page(
        request, session, viewer, channel_id, status=status, settings=settings, storage=storage
    )


@router.post(
    "/whatsapp/{channel_id}/templates",
    name="whatsapp.templates.create",
    dependencies=[CsrfProtected],
)
async def create_template(
    request: Request,
    channel_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    viewer: PageUser,
    storage: StorageDep,
) -> Response:
    t = request_translator(request)
    form = await request.form()
    raw: dict[str, Any] = {
        name: form.get(name, "")
        for name in (
            "name",
            "category",
            "language",
            "header_format",
            "header_text",
            "body",
            "footer",
        )
    }
    raw["header_format"] = raw["header_format"] or "NONE"
    raw["header_media_id"] = form.get("header_media_id") or None
    raw["header_example"] = _examples(form, "header_example")
    raw["body_examples"] = _examples(form, "body_examples")
    raw["buttons"] = _buttons(form)
    errors: dict[str, str]
    try:
        data = TemplateCreate.model_validate(raw)
    except ValidationError as exc:
        errors = validation_messages(exc.errors(), t)
    else:
        try:
            sample = await _sample_file(form, data.header_format)
            async with session.begin_nested():
                template = await manage.create_template(
                    session,
                    viewer.principal,
                    settings,
                    channel_id,
                    data,
                    storage=storage,
                    sample_file=sample,
                )
        except AppError as exc:
            errors = app_error_messages(exc, t)
        else:
            return redirect(
                request,
                url_path(request, "whatsapp.templates", channel_id=channel_id),
                toast=(
                    "success",
                    t.gettext(
                        "Template %(name)s was sent to Meta for review. Its status shows here "
                        "as soon as Meta decides.",
                        name=template.name,
                    ),
                ),
            )
    if not errors:
        errors = {FORM_ERROR: t.gettext("Some fields are not valid.")}
    return await _page(
        request,
        session,
        viewer,
        channel_id,
        errors=errors,
        values=_form_values(form),
        status_code=422,
        settings=settings,
        storage=storage,
    )


@router.post(
    "/whatsapp/{channel_id}/templates/sync",
    name="whatsapp.templates.sync",
    dependencies=[CsrfProtected],
)
async def sync_templates(
    request: Request,
    channel_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    viewer: PageUser,
) -> Response:
    t = request_translator(request)
    back = url_path(request, "whatsapp.templates", channel_id=channel_id)
    try:
        result = await manage.sync_templates(session, viewer.principal, settings, channel_id)
    except AppError as exc:
        if exc.status_code == 404:
            raise
        return redirect(request, back, toast=("error", t.gettext(exc.message)))
    return redirect(
        request,
        back,
        toast=(
            "success",
            t.ngettext(
                "Synced: %(num)d template on WhatsApp.",
                "Synced: %(num)d templates on WhatsApp.",
                result.total,
            ),
        ),
    )


@router.post(
    "/whatsapp/{channel_id}/templates/{template_id}/delete",
    name="whatsapp.templates.delete",
    dependencies=[CsrfProtected],
)
async def delete_template(
    request: Request,
    channel_id: uuid.UUID,
    template_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    viewer: PageUser,
) -> Response:
    t = request_translator(request)
    back = url_path(request, "whatsapp.templates", channel_id=channel_id)
    template = await manage.get_template(session, viewer.principal, channel_id, template_id)
    name = template.name
    try:
        await manage.delete_template(session, viewer.principal, settings, channel_id, template_id)
    except AppError as exc:
        if exc.status_code == 404:
            raise
        return redirect(request, back, toast=("error", t.gettext(exc.message)))
    return redirect(
        request, back, toast=("success", t.gettext("Template %(name)s was deleted.", name=name))
    )
