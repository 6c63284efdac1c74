"""Integer money helpers: half-up percent rounding, exact largest-remainder splits, and the
one limit every amount is held to.

Amounts and points are integers of minor units. The API carries them as JSON numbers, which
every JSON and JavaScript client reads exactly only up to 2^53 − 1, so that is the largest
amount anything is allowed to hold: order lines and totals, prices, discounts, balances,
ledger entries and the counters redemptions add up. Services check a value with `fits` (or
the first one of many with `first_too_large`) BEFORE they write it, and refuse it with
`AMOUNT_TOO_LARGE`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import TypeVar

from app.engine.error_codes import AMOUNT_TOO_LARGE as AMOUNT_TOO_LARGE  # re-exported
from app.engine.model import OrderCalculation

K = TypeVar("K")

MAX_AMOUNT = 2**53 - 1
"""The largest amount (and the smallest is its negative): 9,007,199,254,740,991."""


_ONE = Decimal(1)
_HUNDRED = Decimal(100)


def fits(value: int) -> bool:
    """Whether `value` is within ±MAX_AMOUNT (exact in every JSON and JavaScript client)."""
    return -MAX_AMOUNT <= value <= MAX_AMOUNT


def first_too_large(values: Iterable[tuple[K, int | None]]) -> K | None:
    """The key of the first value beyond ±MAX_AMOUNT (None values are skipped), else None."""
    for key, value in values:
        if value is not None and not fits(value):
            return key
    return None


def too_large_message(what: str) -> str:
    return f"{what} is beyond the largest amount, {MAX_AMOUNT:,} minor units (2^53 - 1)"


def line_amounts(
    items: Sequence[tuple[int, int | None, int | None]], amount: int | None
) -> tuple[int | None, str] | None:
    """Where an order's lines (quantity, unit price, amount) or its amount pass MAX_AMOUNT.

    A line without an amount counts price × quantity; the lines' sum must fit too, as must
    the order amount. Returns (line index, field) for a line or (None, field) for the order:
    the field is "price", "amount" or, for price × quantity, "" (the line as a whole); for
    the order "amount" or "items" (the sum of the lines)."""
    total = 0
    for index, (quantity, price, line_amount) in enumerate(items):
        if price is not None and not fits(price):
            return index, "price"
        if line_amount is not None:
            if not fits(line_amount):
                return index, "amount"
            total += line_amount
        elif price is not None:
            if not fits(price * quantity):
                return index, ""
            total += price * quantity
    if amount is not None and not fits(amount):
        return None, "amount"
    if not fits(total):
        return None, "items"
    return None


_ORDER_FIELDS = (
    "amount", "initial_amount", "discount_amount", "items_discount_amount",
    "total_discount_amount", "total_amount", "applied_discount_amount",
    "items_applied_discount_amount", "total_applied_discount_amount",
)
_ITEM_FIELDS = (
    "price", "amount", "discount_amount", "applied_discount_amount", "subtotal_amount",
    "applied_quantity_amount",
)


def calculation_too_large(calc: OrderCalculation) -> tuple[int | None, str] | None:
    """The first amount of an order calculation beyond ±MAX_AMOUNT: (item index, field name)
    for a line, (None, field name) for the order; None when everything fits."""
    values = [
        calc.amount, calc.initial_amount, calc.discount_amount, calc.items_discount_amount,
        calc.total_discount_amount, calc.total_amount, calc.applied_discount_amount,
        calc.items_applied_discount_amount, calc.total_applied_discount_amount,
    ]
    for i in calc.items:  # attributes read directly: this runs on every evaluation
        values += (i.amount, i.discount_amount, i.applied_discount_amount, i.subtotal_amount,
                   i.applied_quantity_amount, i.price or 0)
    if min(values) >= -MAX_AMOUNT and max(values) <= MAX_AMOUNT:
        return None
    for item in calc.items:
        name = first_too_large((f, getattr(item, f)) for f in _ITEM_FIELDS)
        if name is not None:
            return item.index, name
    name = first_too_large((f, getattr(calc, f)) for f in _ORDER_FIELDS)
    return (None, name) if name is not None else None


def round_half_up(value: Decimal) -> int:
    return int(value.quantize(_ONE, rounding=ROUND_HALF_UP))


def floor_decimal(value: Decimal) -> int:
    return int(value.quantize(_ONE, rounding=ROUND_FLOOR))


def percent_of(amount: int, percent: Decimal) -> int:
    """`percent`% of `amount`, rounded half-up to the minor unit, never above `amount`."""
    if amount <= 0 or percent <= 0:
        return 0
    return min(amount, round_half_up(Decimal(amount) * percent / _HUNDRED))


def split_largest_remainder(total: int, weights: Sequence[int]) -> list[int]:
    """Split `total` by `weights` so the parts sum exactly to `total`.

    Floors first, then hands the leftover units to the largest fractional remainders
    (ties: lower index first). All-zero weights split evenly.
    """
    n = len(weights)
    if n == 0 or total == 0:
        return [0] * n
    if total < 0:
        raise ValueError("total must not be negative")
    ws = list(weights) if sum(weights) > 0 else [1] * n
    whole = sum(ws)
    parts = [total * w // whole for w in ws]
    leftover = total - sum(parts)
    order = sorted(range(n), key=lambda i: (-(total * ws[i] % whole), i))
    for i in order[:leftover]:
        parts[i] += 1
    return parts


def split_capped(total: int, weights: Sequence[int], caps: Sequence[int]) -> list[int]:
    """Split `total` by `weights` with no part above its cap; excess moves to the others.

    The result sums to min(total, Σ caps).
    """
    n = len(weights)
    parts = [0] * n
    remaining = min(total, sum(max(0, c) for c in caps))
    open_idx = [i for i in range(n) if caps[i] > 0]
    while remaining > 0 and open_idx:
        shares = split_largest_remainder(remaining, [weights[i] for i in open_idx])
        still_open: list[int] = []
        for i, share in zip(open_idx, shares, strict=True):
            room = caps[i] - parts[i]
            give = min(room, share)
            parts[i] += give
            remaining -= give
            if parts[i] < caps[i]:
                still_open.append(i)
        if len(still_open) == len(open_idx) and remaining > 0:
            # No cap was hit yet leftovers remain: cannot happen, guard against a loop.
            break
        open_idx = still_open
    return parts


def cap_parts(parts: Sequence[int], cap: int | None) -> list[int]:
    """Scale `parts` down so they sum to at most `cap`, keeping proportions (largest remainder)."""
    total = sum(parts)
    if cap is None or total <= cap:
        return list(parts)
    return split_capped(max(0, cap), parts, parts)
