"""Compare a payload's shape (keys and value types) with a JSON example from fixtures/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def assert_shape(actual: Any, expected: Any, path: str = "$", *, exact: bool = False) -> None:
    """Every key of ``expected`` is in ``actual`` with a value of the same kind; lists are
    checked item by item against the example's first item. ``exact`` also forbids extra keys."""
    assert _kind(actual) == _kind(expected), f"{path}: {_kind(actual)} != {_kind(expected)}"
    if isinstance(expected, dict):
        missing = set(expected) - set(actual)
        assert not missing, f"{path}: missing {sorted(missing)}"
        if exact:
            extra = set(actual) - set(expected)
            assert not extra, f"{path}: unexpected {sorted(extra)}"
        for key, value in expected.items():
            assert_shape(actual[key], value, f"{path}.{key}", exact=exact)
    elif isinstance(expected, list) and expected:
        assert actual, f"{path}: empty list"
        for i, item in enumerate(actual):
            assert_shape(item, expected[0], f"{path}[{i}]", exact=exact)


def assert_matches_fixture(actual: Any, name: str, *, exact: bool = False) -> None:
    assert_shape(actual, fixture(name), exact=exact)
