"""Walking cursor-paged listings."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

from socialsell.meta.models import Page

T = TypeVar("T")


async def iterate_pages(
    fetch: Callable[[str | None], Awaitable[Page[T]]], *, max_pages: int | None = None
) -> AsyncIterator[T]:
    """Yield every item of a listing, following ``next_cursor`` page by page.

    ``fetch`` gets the ``after`` cursor (None for the first page), e.g.
    ``lambda after: account.list_media(after=after)``. ``max_pages`` bounds the calls, since each
    page costs rate-limit budget. A cursor Meta repeats ends the walk instead of looping.
    """
    cursor: str | None = None
    seen: set[str] = set()
    pages = 0
    while max_pages is None or pages < max_pages:
        page = await fetch(cursor)
        pages += 1
        for item in page.data:
            yield item
        cursor = page.next_cursor
        if cursor is None or cursor in seen or not page.data:
            return
        seen.add(cursor)
