"""The workspace's WhatsApp rate card: what one billable message costs, per category and market.

Meta's rate card cannot be fetched through the API, so the seller types in the rates of the
markets they sell to. A market is a country calling code prefix of the customer's number ("55"
for Brazil, "1" for North America); the row with an empty prefix is the rate for every other
number. Rates are stored in millionths of the currency unit so sums are exact on every backend.
"""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from socialsell.db import Base, IdMixin, TimestampMixin


class WhatsAppRate(IdMixin, TimestampMixin, Base):
    __tablename__ = "whatsapp_rates"
    __table_args__ = (UniqueConstraint("workspace_id", "market"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    # Calling code prefix, digits only; "" = every market without a row of its own.
    market: Mapped[str] = mapped_column(String(8), default="")
    label: Mapped[str] = mapped_column(String(80), default="")
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    marketing_micros: Mapped[int] = mapped_column(default=0)
    utility_micros: Mapped[int] = mapped_column(default=0)
    authentication_micros: Mapped[int] = mapped_column(default=0)
    service_micros: Mapped[int] = mapped_column(default=0)
