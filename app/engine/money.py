"""Integer money helpers: half-up percent rounding and exact largest-remainder splits."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

_ONE = Decimal(1)
_HUNDRED = Decimal(100)


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
