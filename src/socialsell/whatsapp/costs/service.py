"""What WhatsApp messages cost: the workspace's rate card, and the monthly report built from
the pricing Meta reported on each message's status (``pricing_category``, ``pricing_type``,
``pricing_billable``, ``priced_at``). Services only flush.

A message is billable when Meta priced it ``regular``; ``free_customer_service`` (inside the
24-hour window) and ``free_entry_point`` (72 hours after an ad or Page button) are counted apart.
Without a ``type`` (older payloads) Meta's ``billable`` flag decides. The cost of a billable
message is the rate of its category for the market of the customer's number: the longest
calling-code prefix the rate card has, else its row for every other country. Months are cut in
UTC, as Meta's pricing analytics are.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from socialsell.accounts.service import Principal
from socialsell.channels.models import Channel, Platform
from socialsell.core.errors import FieldError, ValidationFailed
from socialsell.db import utcnow
from socialsell.inbox.models import Contact, Conversation, Message
from socialsell.whatsapp.costs.models import WhatsAppRate
from socialsell.whatsapp.costs.schemas import (
    CATEGORIES,
    CategoryLine,
    CostReport,
    Money,
    NumberLine,
    RateRow,
    RatesRead,
    RatesUpdate,
)

MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
MICROS = Decimal(1_000_000)
# Meta's category names that bill as one of ours (newer and older pricing models).
CATEGORY_ALIASES = {
    "authentication_international": "authentication",
    "marketing_lite": "marketing",
    "service": "service",
    "marketing": "marketing",
    "utility": "utility",
    "authentication": "authentication",
}


# --- rate card -----------------------------------------------------------------------------------


def _row(rate: WhatsAppRate) -> RateRow:
    return RateRow(
        market=rate.market,
        label=rate.label,
        currency=rate.currency,
        marketing=Decimal(rate.marketing_micros) / MICROS,
        utility=Decimal(rate.utility_micros) / MICROS,
        authentication=Decimal(rate.authentication_micros) / MICROS,
        service=Decimal(rate.service_micros) / MICROS,
    )


async def _rates(session: AsyncSession, workspace_id: uuid.UUID) -> list[WhatsAppRate]:
    rows = await session.scalars(
        select(WhatsAppRate)
        .where(WhatsAppRate.workspace_id == workspace_id)
        .order_by(WhatsAppRate.market)
    )
    return list(rows.all())


async def get_rates(session: AsyncSession, principal: Principal) -> RatesRead:
    return RatesRead(rates=[_row(r) for r in await _rates(session, principal.workspace_id)])


async def put_rates(session: AsyncSession, principal: Principal, data: RatesUpdate) -> RatesRead:
    """Replace the rate card. Each market appears once."""
    seen: dict[str, int] = {}
    errors: list[FieldError] = []
    for index, row in enumerate(data.rates):
        if row.market in seen:
            errors.append(
                FieldError(
                    f"rates.{index}.market",
                    "This country code already has a row."
                    if row.market
                    else "Only one row can be for every other country.",
                )
            )
        seen[row.market] = index
    if errors:
        raise ValidationFailed(errors=errors)
    await session.execute(
        delete(WhatsAppRate).where(WhatsAppRate.workspace_id == principal.workspace_id)
    )
    for row in data.rates:
        session.add(
            WhatsAppRate(
                workspace_id=principal.workspace_id,
                market=row.market,
                label=row.label,
                currency=row.currency,
                marketing_micros=int(row.marketing * MICROS),
                utility_micros=int(row.utility * MICROS),
                authentication_micros=int(row.authentication * MICROS),
                service_micros=int(row.service * MICROS),
            )
        )
    await session.flush()
    return await get_rates(session, principal)


# --- report --------------------------------------------------------------------------------------


def month_range(month: str | None) -> tuple[str, datetime, datetime]:
    """``YYYY-MM`` (default: this month, UTC) and its first instant and the next month's."""
    if not month:
        now = utcnow()
        month = f"{now.year:04d}-{now.month:02d}"
    match = MONTH_RE.match(month)
    if not match:
        message = "Give the month as YYYY-MM, like 2026-11."
        raise ValidationFailed(message, errors=[FieldError("month", message)])
    year, number = int(match.group(1)), int(match.group(2))
    start = datetime(year, number, 1, tzinfo=UTC)
    end = datetime(year + (number == 12), number % 12 + 1, 1, tzinfo=UTC)
    return month, start, end


def kind_of(pricing_type: str | None, billable: bool | None, category: str | None) -> str:
    """billable, free_customer_service, free_entry_point or free_other."""
    value = (pricing_type or "").lower()
    if value == "regular":
        return "billable"
    if value in ("free_customer_service", "free_entry_point"):
        return value
    if (category or "").lower() == "referral_conversion":
        return "free_entry_point"  # the older model's name for the same free window
    if billable is True:
        return "billable"
    return "free_other"


def category_of(category: str | None) -> str:
    return CATEGORY_ALIASES.get((category or "").lower(), "other")


def _rate_for(rates: list[WhatsAppRate], phone: str) -> WhatsAppRate | None:
    digits = "".join(c for c in phone if c.isdigit())
    best: WhatsAppRate | None = None
    for rate in rates:
        if digits.startswith(rate.market) and (best is None or len(rate.market) > len(best.market)):
            best = rate
    return best


def _micros(rate: WhatsAppRate, category: str) -> int | None:
    value = {
        "marketing": rate.marketing_micros,
        "utility": rate.utility_micros,
        "authentication": rate.authentication_micros,
        "service": rate.service_micros,
    }.get(category)
    return value


@dataclass
class _Tally:
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    billable: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    free: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    cost: dict[str, dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )

    def money(self, category: str | None = None) -> list[Money]:
        totals: dict[str, int] = defaultdict(int)
        for cat, by_currency in self.cost.items():
            if category is None or cat == category:
                for currency, micros in by_currency.items():
                    totals[currency] += micros
        return [Money(currency=c, amount=Decimal(m) / MICROS) for c, m in sorted(totals.items())]

    def categories(self) -> list[CategoryLine]:
        names = [c for c in (*CATEGORIES, "other") if self.billable[c] or self.free[c]]
        return [
            CategoryLine(
                category=c, billable=self.billable[c], free=self.free[c], cost=self.money(c)
            )
            for c in names
        ]


async def cost_report(session: AsyncSession, principal: Principal, month: str | None) -> CostReport:
    month, start, end = month_range(month)
    rates = await _rates(session, principal.workspace_id)
    rows = await session.execute(
        select(
            Message.channel_id,
            Message.pricing_category,
            Message.pricing_type,
            Message.pricing_billable,
            Contact.external_id,
            func.count(),
        )
        .join(Conversation, Conversation.id == Message.conversation_id)
        .join(Contact, Contact.id == Conversation.contact_id)
        .where(
            Message.workspace_id == principal.workspace_id,
            Message.priced_at.is_not(None),
            Message.priced_at >= start,
            Message.priced_at < end,
        )
        .group_by(
            Message.channel_id,
            Message.pricing_category,
            Message.pricing_type,
            Message.pricing_billable,
            Contact.external_id,
        )
    )
    overall = _Tally()
    per_number: dict[uuid.UUID, _Tally] = defaultdict(_Tally)
    without_rate = 0
    for channel_id, category_raw, pricing_type, billable, phone, count in rows.all():
        kind = kind_of(pricing_type, billable, category_raw)
        category = category_of(category_raw)
        for tally in (overall, per_number[channel_id]):
            tally.counts[kind] += count
            if kind == "billable":
                tally.billable[category] += count
            else:
                tally.free[category] += count
        if kind != "billable":
            continue
        rate = _rate_for(rates, phone or "")
        micros = _micros(rate, category) if rate is not None else None
        if rate is None or micros is None:
            without_rate += count
            continue
        for tally in (overall, per_number[channel_id]):
            tally.cost[category][rate.currency] += micros * count

    numbers = await session.scalars(
        select(Channel).where(
            Channel.workspace_id == principal.workspace_id, Channel.platform == Platform.whatsapp
        )
    )
    labels = {c.id: c.label for c in numbers.all()}
    by_number = [
        NumberLine(
            channel_id=channel_id,
            label=labels.get(channel_id, ""),
            billable=tally.counts["billable"],
            free_customer_service=tally.counts["free_customer_service"],
            free_entry_point=tally.counts["free_entry_point"],
            free_other=tally.counts["free_other"],
            by_category=tally.categories(),
            cost=tally.money(),
        )
        for channel_id, tally in sorted(
            per_number.items(), key=lambda item: labels.get(item[0], "")
        )
    ]
    last_day = date.fromordinal(end.date().toordinal() - 1)
    return CostReport(
        month=month,
        start=start.date(),
        end=last_day,
        messages=sum(overall.counts.values()),
        billable=overall.counts["billable"],
        free_customer_service=overall.counts["free_customer_service"],
        free_entry_point=overall.counts["free_entry_point"],
        free_other=overall.counts["free_other"],
        without_rate=without_rate,
        by_category=overall.categories(),
        by_number=by_number,
        total=overall.money(),
    )
