"""Full-text search over messages, on an index on both databases.

- Text is folded in Python on write (``search_text``: lower case, accents removed, one character
  for one character), so search is accent-insensitive on both databases without ``unaccent``
  (an extension production databases may not allow), and highlight offsets in the folded text
  are offsets in the original text too.
- PostgreSQL: a generated ``search_vector`` column (``to_tsvector('english', search_text)``,
  stored, so no trigger keeps it in sync and nothing is re-parsed when rows are checked) with a
  GIN index, queried with ``websearch_to_tsquery`` (phrases in quotes, ``-exclusion``, ``or``).
- Results come newest first (as an inbox is read), which also keeps common words fast: the
  planner walks ``(workspace_id, sent_at)`` backwards until it has a page, and uses the GIN
  index for rare words (bench/inbox_bench.py).
- SQLite: an FTS5 table (porter stemmer, ``remove_diacritics``) kept in sync by triggers; the
  same web-search syntax is translated to an FTS5 query.
- English stemming on both: SQLite's FTS5 only ships the (English) porter stemmer, and the same
  query must find the same messages on both backends. A per-workspace language ('portuguese')
  would be the next step on PostgreSQL.

The objects are created by migrations 0003/0004 and left out of autogenerate by
:func:`include_object` (they are not in the models: SQLite has no tsvector).
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import literal_column, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from socialsell.inbox.models import Message

TS_CONFIG = "english"
# Objects of the search index that the models do not describe (see migration 0003).
_SEARCH_TABLE_PREFIX = "messages_fts"
_SEARCH_INDEXES = {"ix_messages_search", "ix_messages_search_vector"}
_SEARCH_COLUMNS = {"search_vector"}
START, STOP = "\x02", "\x03"  # highlight markers no message text contains


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Alembic hook: leave the dialect-specific search objects out of autogenerate."""
    if type_ == "table" and name and name.startswith(_SEARCH_TABLE_PREFIX):
        return False
    if type_ == "column" and name in _SEARCH_COLUMNS:
        return False
    return not (type_ == "index" and name in _SEARCH_INDEXES)


def _fold_char(char: str) -> str:
    decomposed = unicodedata.normalize("NFKD", char)
    base = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    if len(base) == 1:
        return base
    lower = char.lower()
    return lower if len(lower) == 1 else char


def fold(value: str | None) -> str:
    """Lower case without accents, keeping one character per character ("Café" -> "cafe")."""
    if not value:
        return ""
    return "".join(_fold_char(c) for c in value)


_TOKEN_RE = re.compile(r'(-?)"([^"]*)"|(-?)(\S+)')


@dataclass(frozen=True)
class ParsedQuery:
    include: list[str]  # words or phrases
    exclude: list[str]

    @property
    def empty(self) -> bool:
        return not self.include


def parse_query(query: str) -> ParsedQuery:
    include: list[str] = []
    exclude: list[str] = []
    for match in _TOKEN_RE.finditer(fold(query)):
        neg = match.group(1) or match.group(3)
        raw = match.group(2) if match.group(2) is not None else match.group(4)
        words = re.findall(r"\w+", raw or "")
        if not words or (match.group(4) is not None and raw == "or"):
            continue
        term = " ".join(words)
        (exclude if neg else include).append(term)
    return ParsedQuery(include, exclude)


def fts5_query(parsed: ParsedQuery) -> str:
    """The web-search syntax as an FTS5 expression: every term or phrase quoted (so no user
    text is read as FTS5 syntax), all required, exclusions with NOT."""
    positive = " AND ".join(f'"{term}"' for term in parsed.include)
    negative = "".join(f' NOT "{term}"' for term in parsed.exclude)
    return f"({positive}){negative}"


def websearch_text(parsed: ParsedQuery) -> str:
    parts = [f'"{t}"' if " " in t else t for t in parsed.include]
    parts += [f'-"{t}"' if " " in t else f"-{t}" for t in parsed.exclude]
    return " ".join(parts)


def tsvector_expr() -> Any:
    # The generated column of migration 0004 (PostgreSQL only, so not on the model).
    return literal_column("messages.search_vector")


@dataclass(frozen=True)
class Hit:
    message_id: uuid.UUID
    highlighted: str  # folded text with START/STOP markers


async def search_ids(
    session: AsyncSession, workspace_id: uuid.UUID, query: str, *, limit: int, offset: int
) -> Sequence[Hit]:
    """Matching messages of the workspace, newest first, with the folded text highlighted."""
    parsed = parse_query(query)
    if parsed.empty:
        return []
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        rows = (await session.execute(pg_statement(workspace_id, parsed, limit, offset))).all()
        return [Hit(row[0], row[1]) for row in rows]
    # SQLite FTS5, newest first like PostgreSQL.
    stmt_text = text(
        "SELECT m.id, highlight(messages_fts, 0, :start, :stop) "
        "FROM messages_fts JOIN messages AS m ON m.rowid = messages_fts.rowid "
        "WHERE messages_fts MATCH :q AND m.workspace_id = :ws "
        "ORDER BY m.sent_at DESC, m.id DESC LIMIT :limit OFFSET :offset"
    )
    result = await session.execute(
        stmt_text,
        {
            "start": START,
            "stop": STOP,
            "q": fts5_query(parsed),
            "ws": workspace_id.hex,
            "limit": limit,
            "offset": offset,
        },
    )
    return [Hit(uuid.UUID(str(row[0])), row[1]) for row in result.all()]


def pg_statement(workspace_id: uuid.UUID, parsed: ParsedQuery, limit: int, offset: int) -> Any:
    """The PostgreSQL search query: the same expression as the GIN index, so it is used."""
    from sqlalchemy import func

    config: Any = literal_column(f"'{TS_CONFIG}'::regconfig")
    tsquery = func.websearch_to_tsquery(config, websearch_text(parsed))
    vector = tsvector_expr()
    return (
        select(
            Message.id,
            func.ts_headline(
                config,
                Message.search_text,
                tsquery,
                f"HighlightAll=true, StartSel={START}, StopSel={STOP}",
            ),
        )
        .where(Message.workspace_id == workspace_id, vector.op("@@")(tsquery))
        .order_by(Message.sent_at.desc(), Message.id.desc())
        .limit(limit)
        .offset(offset)
    )


def snippet(original: str, highlighted: str, *, width: int = 160) -> str:
    """Map the markers of the folded, highlighted text onto the original text (folding keeps
    one character per character) and cut a window around the first match. Matches are wrapped
    in ``<mark>`` after HTML-escaping the text."""
    import html

    spans: list[tuple[int, int]] = []
    pos = 0
    start: int | None = None
    for char in highlighted:
        if char == START:
            start = pos
        elif char == STOP:
            if start is not None:
                spans.append((start, pos))
            start = None
        else:
            pos += 1
    if pos != len(original):  # the text changed under us; show it unhighlighted
        spans = []
    first = spans[0][0] if spans else 0
    lo = max(0, first - width // 3)
    hi = min(len(original), lo + width)
    out: list[str] = ["…" if lo > 0 else ""]
    cursor = lo
    for a, b in spans:
        if b <= lo or a >= hi:
            continue
        a, b = max(a, lo), min(b, hi)
        out.append(html.escape(original[cursor:a]))
        out.append(f"<mark>{html.escape(original[a:b])}</mark>")
        cursor = b
    out.append(html.escape(original[cursor:hi]))
    out.append("…" if hi < len(original) else "")
    return "".join(out)
