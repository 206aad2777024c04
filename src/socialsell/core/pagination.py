"""Keyset (cursor) pagination: stable under inserts, and as fast on page 100 as on page 1.

A listing orders by one column plus the primary key as tie-breaker; the cursor is the last
row's pair, opaque to clients (URL-safe base64 of JSON)."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from socialsell.core.errors import FieldError, ValidationFailed

T = TypeVar("T")
M = TypeVar("M")
DEFAULT_LIMIT = 25
MAX_LIMIT = 100


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


class PageParams(BaseModel):
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(max_length=500, description="`next_cursor` of the previous page.")
    ] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor)


def _encode(value: Any, row_id: uuid.UUID) -> str:
    if isinstance(value, datetime):
        payload = {"t": value.isoformat(), "id": str(row_id)}
    else:
        payload = {"v": value, "id": str(row_id)}
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[Any, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded))
        value = datetime.fromisoformat(payload["t"]) if "t" in payload else payload["v"]
        return value, uuid.UUID(payload["id"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ValidationFailed(
            "The cursor is not valid.", errors=[FieldError("cursor", "Not a cursor of this list.")]
        ) from exc


async def paginate(
    session: AsyncSession,
    stmt: Select[M],
    *,
    order_by: InstrumentedAttribute[Any],
    id_column: InstrumentedAttribute[uuid.UUID],
    params: PageParams,
    descending: bool = False,
) -> tuple[Sequence[M], str | None]:
    """Run ``stmt`` for one page; returns the rows and the cursor of the next page."""
    if params.cursor:
        value, last_id = _decode(params.cursor)
        if descending:
            stmt = stmt.where(or_(order_by < value, and_(order_by == value, id_column < last_id)))
        else:
            stmt = stmt.where(or_(order_by > value, and_(order_by == value, id_column > last_id)))
    ordering = (order_by.desc(), id_column.desc()) if descending else (order_by, id_column)
    rows = (await session.scalars(stmt.order_by(*ordering).limit(params.limit + 1))).all()
    if len(rows) <= params.limit:
        return rows, None
    rows = rows[: params.limit]
    last = rows[-1]
    return rows, _encode(getattr(last, order_by.key), getattr(last, id_column.key))
