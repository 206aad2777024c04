"""Turn the state's dataclasses into JSON-friendly data and back, for the optional state file.

Only the shapes the state uses are supported: dataclasses, ``list[X]``, ``dict[str, X]``,
``X | None`` and JSON scalars (``Any`` passes through unchanged).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, TypeVar, Union

T = TypeVar("T")


def to_jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [to_jsonable(v) for v in value]
    return value


def from_jsonable(tp: Any, data: Any) -> Any:
    if data is None or tp is Any:
        return data
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return from_jsonable(args[0], data) if len(args) == 1 else data
    if origin in (list, set, tuple):
        (item,) = typing.get_args(tp)[:1] or (Any,)
        items = [from_jsonable(item, v) for v in data]
        return origin(items) if origin is not tuple else tuple(items)
    if origin is dict:
        _, val = typing.get_args(tp) or (str, Any)
        return {k: from_jsonable(val, v) for k, v in data.items()}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        kwargs = {
            f.name: from_jsonable(hints.get(f.name, Any), data[f.name])
            for f in dataclasses.fields(tp)
            if f.name in data and f.init
        }
        return tp(**kwargs)
    return data


def load_into(cls: type[T], data: Any) -> T:
    result: T = from_jsonable(cls, data)
    return result
