"""JSON API: the workspace's WhatsApp rate card and the monthly cost report."""

from __future__ import annotations

from fastapi import APIRouter

from socialsell.core.constants import API_PREFIX
from socialsell.core.deps import CurrentPrincipal, SessionDep
from socialsell.whatsapp.costs import service
from socialsell.whatsapp.costs.schemas import CostReport, RatesRead, RatesUpdate

router = APIRouter(prefix=f"{API_PREFIX}/whatsapp", tags=["whatsapp costs"])


@router.get("/costs", response_model=CostReport)
async def cost_report(
    principal: CurrentPrincipal, session: SessionDep, month: str | None = None
) -> CostReport:
    """What the month's WhatsApp messages cost (``month=YYYY-MM``, UTC; default this month),
    by category and by number, from the pricing Meta reported on each message and the
    workspace's rate card. Free service and free entry point messages are counted apart."""
    return await service.cost_report(session, principal, month)


@router.get("/rates", response_model=RatesRead)
async def read_rates(principal: CurrentPrincipal, session: SessionDep) -> RatesRead:
    return await service.get_rates(session, principal)


@router.put("/rates", response_model=RatesRead)
async def replace_rates(
    data: RatesUpdate, principal: CurrentPrincipal, session: SessionDep
) -> RatesRead:
    """Replace the rate card: per market (country calling code, "" for every other country)
    a currency and the price of one message of each category."""
    return await service.put_rates(session, principal, data)
