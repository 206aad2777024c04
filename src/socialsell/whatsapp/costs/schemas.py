"""The rate card and the monthly cost report, as the API and the forms take and give them."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

CATEGORIES = ("marketing", "utility", "authentication", "service")
# Meta's prices go to the tenth of a cent and below (0.0008 USD); six places are enough.
Rate = Annotated[Decimal, Field(ge=0, le=1000, max_digits=12, decimal_places=6)]


class RateRow(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # Country calling code of the customer's number ("55"); "" = every other country.
    market: str = Field(default="", max_length=4, pattern=r"^[0-9]{0,4}$")
    label: str = Field(default="", max_length=80)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    marketing: Rate = Decimal(0)
    utility: Rate = Decimal(0)
    authentication: Rate = Decimal(0)
    service: Rate = Decimal(0)

    @field_validator("currency", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value


class RatesUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rates: list[RateRow] = Field(max_length=300)


class RatesRead(BaseModel):
    rates: list[RateRow]


class Money(BaseModel):
    currency: str
    amount: Decimal


class CategoryLine(BaseModel):
    category: str
    billable: int
    free: int
    cost: list[Money]


class NumberLine(BaseModel):
    channel_id: uuid.UUID
    label: str
    billable: int
    free_customer_service: int
    free_entry_point: int
    free_other: int
    by_category: list[CategoryLine]
    cost: list[Money]


class CostReport(BaseModel):
    month: str
    start: date
    end: date
    messages: int
    billable: int
    free_customer_service: int
    free_entry_point: int
    free_other: int
    # Billable messages of a market and category the rate card has no rate for.
    without_rate: int
    by_category: list[CategoryLine]
    by_number: list[NumberLine]
    total: list[Money]
