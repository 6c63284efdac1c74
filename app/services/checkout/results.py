"""Engine results as plain JSON: what validateStack answers, what a redemption stores in its
`details`, and what an idempotent replay answers again."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

_PLAIN = frozenset((str, int, bool, float, type(None)))
# One converter per class, chosen from the class alone (the first time it is met): the hot
# path of every validation turns a few hundred values per request.
_CONVERTERS: dict[type, Callable[[Any], Any]] = {}


def to_json(value: Any) -> Any:
    """Engine results as plain JSON (enums by value, Decimals as numbers)."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    convert = _CONVERTERS.get(kind)
    if convert is None:
        convert = _converter(kind, value)
    return convert(value)


def _same(value: Any) -> Any:
    return value


def _enum(value: enum.Enum) -> Any:
    return value.value


def _decimal(value: Decimal) -> float:
    return float(value)


def _sequence(value: Any) -> list[Any]:
    return [v if type(v) in _PLAIN else to_json(v) for v in value]


def _set(value: Any) -> list[Any]:
    return sorted(to_json(v) for v in value)


def _mapping(value: Any) -> dict[Any, Any]:
    return {k: v if type(v) in _PLAIN else to_json(v) for k, v in value.items()}


def _dataclass(kind: type) -> Callable[[Any], Any]:
    """`{"name": to_json(value.name), …}` for the class's fields, as one generated function
    (plain values are not passed to to_json at all)."""
    names = [f.name for f in dataclasses.fields(kind)]
    for name in names:
        if not name.isidentifier():  # pragma: no cover - dataclass fields are identifiers
            raise TypeError(f"unexpected field name {name!r}")
    items = ", ".join(
        f"{name!r}: x if type(x := v.{name}) in plain else convert(x)" for name in names
    )
    namespace: dict[str, Any] = {}
    exec(  # noqa: S102 - the source is built from the class's own field names only
        f"def convert_{kind.__name__}(v, plain=plain, convert=convert):\n"
        f"    return {{{items}}}\n",
        {"plain": _PLAIN, "convert": to_json}, namespace,
    )
    function: Callable[[Any], Any] = namespace[f"convert_{kind.__name__}"]
    return function


def _converter(kind: type, value: Any) -> Callable[[Any], Any]:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        convert = _dataclass(kind)
    elif issubclass(kind, enum.Enum):
        convert = _enum
    elif issubclass(kind, Decimal):
        convert = _decimal
    elif issubclass(kind, tuple | list):
        convert = _sequence
    elif issubclass(kind, frozenset | set):
        convert = _set
    elif issubclass(kind, dict | Mapping):
        convert = _mapping
    else:
        convert = _same
    _CONVERTERS[kind] = convert
    return convert
