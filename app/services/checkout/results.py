"""Engine results as plain JSON: what validateStack answers, what a redemption stores in its
`details`, and what an idempotent replay answers again."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

_FIELDS: dict[type, tuple[str, ...]] = {}
_PLAIN = (str, int, bool, float, type(None))


def to_json(value: Any) -> Any:
    """Engine results as plain JSON (enums by value, Decimals as numbers). Hot path of every
    validation: field names are cached per class."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    names = _FIELDS.get(kind)
    if names is None and dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = _FIELDS[kind] = tuple(f.name for f in dataclasses.fields(value))
    if names is not None:
        return {name: to_json(getattr(value, name)) for name in names}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, tuple | list):
        return [to_json(v) for v in value]
    if isinstance(value, frozenset | set):
        return sorted(to_json(v) for v in value)
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, Mapping):
        return {k: to_json(v) for k, v in value.items()}
    return value
