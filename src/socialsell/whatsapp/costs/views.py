"""The WhatsApp costs page: the month's report (totals, by category, by number) with a month
picker, and the rate card form. Same services as the API."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from babel.numbers import format_currency, format_decimal
from fastapi import APIRouter, Request, Response
from pydantic import ValidationError

from socialsell.core.deps import CsrfProtected, SessionDep
from socialsell.core.errors import AppError
from socialsell.web.deps import PageUser
from socialsell.web.forms import FORM_ERROR, app_error_messages, validation_messages
from socialsell.web.templating import redirect, render, request_translator, url_path
from socialsell.whatsapp.costs import service
from socialsell.whatsapp.costs.schemas import CATEGORIES, Money, RatesUpdate

router = APIRouter(include_in_schema=False)

BLANK_ROWS = 2
RATE_FIELDS = ("market", "label", "currency", *CATEGORIES)


def N_(message: str) -> str:  # gettext's no-op marker: extracted, translated at render time
    return message


CATEGORY_LABELS = {
    "marketing": N_("Marketing"),
    "utility": N_("Utility"),
    "authentication": N_("Authentication"),
    "service": N_("Service"),
    "other": N_("Other"),
}


def _money(items: list[Money], language: str) -> str:
    if not items:
        return "—"
    return " + ".join(
        format_currency(
            m.amount, m.currency, locale=language, format="¤#,##0.00##", currency_digits=False
        )
        for m in items
    )


def _rate_rows(form: Mapping[str, str]) -> tuple[list[dict[str, str]], list[int]]:
    """The posted rows (``rates.N.field``) that are not left blank, and their form indexes."""
    rows: dict[int, dict[str, str]] = {}
    for key, value in form.items():
        match = re.fullmatch(r"rates\.(\d+)\.(\w+)", key)
        if match and match.group(2) in RATE_FIELDS:
            rows.setdefault(int(match.group(1)), {})[match.group(2)] = value.strip()
    kept: list[dict[str, str]] = []
    indexes: list[int] = []
    for index in sorted(rows):
        row = rows[index]
        default_row = row.get("default") == "1" or index == 0
        if not default_row and not any(row.get(k) for k in ("market", "label", *CATEGORIES)):
            continue
        kept.append(
            {
                k: (v.replace(",", ".") if k in CATEGORIES else v)
                or ("0" if k in CATEGORIES else v)
                for k, v in row.items()
            }
        )
        indexes.append(index)
    return kept, indexes


async def _page(
    request: Request,
    session: SessionDep,
    viewer: PageUser,
    month: str | None,
    *,
    errors: Mapping[str, str] | None = None,
    values: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    t = request_translator(request)
    language = viewer.preferences.language
    report_errors: dict[str, str] = {}
    try:
        report = await service.cost_report(session, viewer.principal, month)
    except AppError as exc:
        report_errors = app_error_messages(exc, t)
        report = await service.cost_report(session, viewer.principal, None)
    rates = (await service.get_rates(session, viewer.principal)).rates
    if values:
        rows = []
        indexes = sorted(
            {int(m.group(1)) for k in values if (m := re.fullmatch(r"rates\.(\d+)\.\w+", k))}
        )
        for index in indexes:
            rows.append({f: values.get(f"rates.{index}.{f}", "") for f in RATE_FIELDS})
    else:
        rows = [
            {
                f: rate_text(getattr(r, f)) if f in CATEGORIES else str(getattr(r, f))
                for f in RATE_FIELDS
            }
            for r in sorted(rates, key=lambda r: (r.market != "", r.market))
        ]
        if not rows or rows[0]["market"] != "":
            rows.insert(0, {f: "" for f in RATE_FIELDS} | {"currency": "USD"})
        rows += [{f: "" for f in RATE_FIELDS} | {"currency": rows[0]["currency"]}] * BLANK_ROWS
    context: dict[str, Any] = {
        "viewer": viewer,
        "report": report,
        "month_errors": report_errors,
        "total": _money(report.total, language),
        "categories": [
            {
                "name": t.gettext(CATEGORY_LABELS.get(c.category, c.category)),
                "billable": format_decimal(c.billable, locale=language),
                "free": format_decimal(c.free, locale=language),
                "cost": _money(c.cost, language),
            }
            for c in report.by_category
        ],
        "numbers": [
            {
                "label": n.label,
                "billable": format_decimal(n.billable, locale=language),
                "free_service": format_decimal(n.free_customer_service, locale=language),
                "free_entry": format_decimal(n.free_entry_point, locale=language),
                "cost": _money(n.cost, language),
            }
            for n in report.by_number
        ],
        "rows": rows,
        "category_fields": [(c, t.gettext(CATEGORY_LABELS[c])) for c in CATEGORIES],
        "errors": dict(errors or {}),
        "values": dict(values or {}),
        "has_rates": bool(rates),
    }
    return render(request, "whatsapp/costs.html", context, status_code=status_code)


@router.get("/whatsapp/costs", name="whatsapp.costs")
async def costs_page(
    request: Request, session: SessionDep, viewer: PageUser, month: str | None = None
) -> Response:
    return await _page(request, session, viewer, month)


@router.post("/whatsapp/costs/rates", name="whatsapp.rates", dependencies=[CsrfProtected])
async def save_rates(request: Request, session: SessionDep, viewer: PageUser) -> Response:
    t = request_translator(request)
    form = {k: v for k, v in (await request.form()).multi_items() if isinstance(v, str)}
    month = form.get("month") or None
    rows, indexes = _rate_rows(form)
    errors: dict[str, str] = {}
    try:
        data = RatesUpdate.model_validate({"rates": rows})
        async with session.begin_nested():
            await service.put_rates(session, viewer.principal, data)
    except ValidationError as exc:
        errors = _row_errors(validation_messages_by_loc(exc, t), indexes)
    except AppError as exc:
        errors = _row_errors(app_error_messages(exc, t), indexes)
    else:
        back = url_path(request, "whatsapp.costs")
        if month:
            back += f"?month={month}"
        return redirect(request, back, toast=("success", t.gettext("Rates saved.")))
    if not errors:
        errors = {FORM_ERROR: t.gettext("Some rates are not valid.")}
    return await _page(request, session, viewer, month, errors=errors, values=form, status_code=422)


def validation_messages_by_loc(exc: ValidationError, t: Any) -> dict[str, str]:
    """Pydantic's errors keyed by their full location (``rates.1.currency``)."""
    out: dict[str, str] = {}
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()))
        if loc not in out:
            out[loc] = next(iter(validation_messages([{**err, "loc": ("x",)}], t).values()))
    return out


def _row_errors(errors: Mapping[str, str], indexes: list[int]) -> dict[str, str]:
    """``rates.<position in the list>.field`` -> ``rates.<form row>.field``."""
    out: dict[str, str] = {}
    for key, message in errors.items():
        match = re.fullmatch(r"rates\.(\d+)\.(\w+)", key)
        if match and int(match.group(1)) < len(indexes):
            out[f"rates.{indexes[int(match.group(1))]}.{match.group(2)}"] = message
        else:
            out[key] = message
    return out


def rate_text(value: Decimal) -> str:
    """A rate as a form field shows it: no exponent, no trailing zeros."""
    return format(value.normalize(), "f")
