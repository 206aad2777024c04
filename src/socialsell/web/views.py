"""The signed-in shell: the dashboard, and a designed empty state for each section that is not
built yet (it says what is coming; it is never an error page). The calendar lives in
publishing.views now."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request, Response

from socialsell.analytics import views as analytics_views
from socialsell.core.deps import SessionDep, SettingsDep
from socialsell.web.deps import PageUser
from socialsell.web.templating import render

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    icon: str
    headline: str
    text: str
    coming: tuple[str, ...]


@router.get("/", name="web.dashboard")
async def dashboard(
    request: Request, viewer: PageUser, session: SessionDep, settings: SettingsDep
) -> Response:
    # Built by analytics, which reads the numbers of every domain it summarises.
    return await analytics_views.dashboard(request, viewer, session, settings)


async def _section(request: Request, viewer: PageUser, section: Section) -> Response:
    return render(request, "web/coming_soon.html", {"viewer": viewer, "section": section})
