"""Expected failures as data: every service raises `ServiceError` with stable codes and paths."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from app.engine import money as engine_money
from app.engine.error_codes import (
    BLANK,
    INVALID_METADATA,
    INVALID_QUANTITY,
    INVALID_SOURCE_ID,
    JSON_TOO_DEEP,
    METADATA_TOO_LARGE,
    NEGATIVE_AMOUNT,
    NOT_FOUND,
    REQUIRED,
    TOO_LONG,
    TOO_MANY_ITEMS,
)

MAX_METADATA_BYTES = 64 * 1024
# JSON values a client sends (metadata, conditions, filters, …) nest at most this deep, so no
# code that walks them (json.dumps, the database's JSON parser, rule evaluation) runs out of
# stack.
MAX_JSON_DEPTH = 32
MAX_ORDER_ITEMS = 500  # lines of an order: createOrder, validateStack, redeemStack, qualifications
SOURCE_ID_RE = re.compile(r"^[^\s](.{0,198}[^\s])?$")


def json_too_deep(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when objects/arrays in `value` nest more than `limit` levels (walked iteratively)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


@dataclass(frozen=True)
class UserError:
    code: str
    message: str
    field: list[str] | None = None


class ServiceError(Exception):
    def __init__(self, errors: list[UserError]) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors

    @classmethod
    def one(cls, code: str, message: str, field: list[str] | None = None) -> ServiceError:
        return cls([UserError(code, message, field)])


def not_found(kind: str, ref: str, field: list[str]) -> ServiceError:
    return ServiceError.one(NOT_FOUND, f"{kind} {ref!r} does not exist", field)


@dataclass
class Checks:
    """Collects every problem of an input, so one answer lists them all."""

    errors: list[UserError] = field(default_factory=list)

    def fail(self, code: str, message: str, path: list[str | int]) -> None:
        self.errors.append(UserError(code, message, [str(p) for p in path]))

    def raise_if_any(self) -> None:
        if self.errors:
            raise ServiceError(list(self.errors))

    def text(
        self, value: Any, path: list[str | int], *, max_length: int, required: bool = False
    ) -> None:
        if value is None:
            if required:
                self.fail(REQUIRED, "a value is required", path)
            return
        if not value.strip():
            self.fail(BLANK, "must not be blank", path)
        elif len(value) > max_length:
            self.fail(TOO_LONG, f"at most {max_length} characters", path)

    def source_id(self, value: str | None, path: list[str | int]) -> None:
        if value is not None and not SOURCE_ID_RE.match(value):
            self.fail(
                INVALID_SOURCE_ID,
                "source id must be 1-200 characters without leading or trailing spaces",
                path,
            )

    def money(self, value: int | None, path: list[str | int]) -> None:
        if value is None:
            return
        if value < 0:
            self.fail(NEGATIVE_AMOUNT, "must not be negative", path)
        else:
            self.fits(value, path)

    def fits(self, value: int | None, path: list[str | int], what: str = "this amount") -> bool:
        """Refuse an amount beyond ±2^53 − 1 (`amount_too_large`); True when it fits."""
        if value is None or engine_money.fits(value):
            return True
        self.fail(engine_money.AMOUNT_TOO_LARGE, engine_money.too_large_message(what), path)
        return False

    def positive(self, value: int | None, path: list[str | int], *, maximum: int) -> None:
        if value is None:
            return
        if value <= 0:
            self.fail(INVALID_QUANTITY, "must be greater than zero", path)
        elif value > maximum:
            self.fail(INVALID_QUANTITY, f"must be at most {maximum}", path)

    def metadata(self, value: Any, path: list[str | int]) -> None:
        if value is None:
            return
        if not isinstance(value, dict):
            self.fail(INVALID_METADATA, "metadata must be a JSON object", path)
            return
        if json_too_deep(value):
            self.fail(JSON_TOO_DEEP, f"JSON nests at most {MAX_JSON_DEPTH} levels", path)
            return
        if len(json.dumps(value, separators=(",", ":"))) > MAX_METADATA_BYTES:
            self.fail(
                METADATA_TOO_LARGE, f"metadata must be at most {MAX_METADATA_BYTES} bytes", path
            )

    def list_size(self, value: list[Any] | None, path: list[str | int], *, maximum: int) -> bool:
        if value is not None and len(value) > maximum:
            self.fail(TOO_MANY_ITEMS, f"at most {maximum} entries", path)
            return False
        return True
