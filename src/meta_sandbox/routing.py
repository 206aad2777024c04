"""Kind-aware routes: how one host serves Instagram and WhatsApp paths that look alike.

On Meta, ``POST /{id}/messages`` is the Instagram send API when ``id`` is an Instagram account and
the WhatsApp send API when it is a phone number id; ``GET /{id}`` reads whatever object ``id`` is.
The sandbox keeps every id in one space (``state.new_id()``) and records each id's kind with
``state.register_object(id, kind)``. A router built with ``route_class=kind_route("ig_")`` only
*matches* a request when the first path parameter is an id of a kind starting with ``ig_`` (or
``me`` when ``allow_me``); otherwise Starlette keeps looking, so the WhatsApp router (ideally built
with ``kind_route("wa")``) gets its own ids whatever the inclusion order, and unknown ids fall
through to the catch-all that answers Meta's "Unsupported get request" error.
"""

from __future__ import annotations

from typing import Any

from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Scope


class KindRoute(APIRoute):
    kind_prefixes: tuple[str, ...] = ()
    allow_me: bool = False

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is Match.NONE:
            return match, child
        params: dict[str, Any] = child.get("path_params", {})
        if not params:
            return match, child
        first = str(next(iter(params.values())))
        if first == "me" and self.allow_me:
            return match, child
        state = scope["app"].state.sandbox
        kind = state.kind_of(first)
        if kind is None or not kind.startswith(self.kind_prefixes):
            return Match.NONE, {}
        return match, child


def kind_route(*prefixes: str, allow_me: bool = False) -> type[APIRoute]:
    """A route class matching only ids whose registered kind starts with one of ``prefixes``."""
    return type(
        "KindRoute_" + "_".join(prefixes),
        (KindRoute,),
        {"kind_prefixes": tuple(prefixes), "allow_me": allow_me},
    )
