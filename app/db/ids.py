"""Prefixed, sortable ids (``prod_01J…``): primary keys and GraphQL global ids at once.

The part after the prefix is a ULID, so ids sort by creation time and keyset pagination
on the primary key gives "newest first" for free.
"""

from __future__ import annotations

import os
import time

from ulid import ULID

_BASE32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's, as in ULIDs
_PAIRS = [a + b for a in _BASE32 for b in _BASE32]  # 10 bits -> 2 characters

PREFIXES = {
    "proj": "Project",
    "key": "ApiKey",
    "prod": "Product",
    "sku": "Sku",
    "pcol": "ProductCollection",
    "cat": "Category",
    "cust": "Customer",
    "ord": "Order",
    "oi": "OrderItem",
    "camp": "Campaign",
    "v": "Voucher",
    "promo": "PromotionTier",
    "stack": "PromotionStack",
    "val": "ValidationRule",
    "asgm": "ValidationRuleAssignment",
    "r": "Redemption",
    "rr": "RedemptionRollback",
    "vtx": "VoucherTransaction",
    "pub": "Publication",
    "ssn": "Session",
    "aa": "AsyncAction",
    "evt": "Event",
    "whe": "WebhookEndpoint",
    "whd": "WebhookDelivery",
    "wha": "WebhookAttempt",
    "skd": "SinkDelivery",
}


def new_id(prefix: str) -> str:
    if prefix not in PREFIXES:
        raise ValueError(f"unknown id prefix {prefix!r}")
    return f"{prefix}_{ULID()}"


def new_ids(prefix: str, n: int) -> list[str]:
    """`n` ids as `new_id` makes them, for bulk inserts: this millisecond's ULID time, and for
    each id its own 80 bits from the OS's CSPRNG (ids of vouchers are capabilities: their
    QR/barcode URLs need no key, so a neighbour's id must not be guessable from one's own).
    About 2 µs each instead of 5.6 µs: the time part is encoded once, the random part by
    table lookup."""
    if prefix not in PREFIXES:
        raise ValueError(f"unknown id prefix {prefix!r}")
    head = f"{prefix}_{str(ULID.from_int((time.time_ns() // 1_000_000) << 80))[:10]}"
    raw, pairs = os.urandom(10 * n), _PAIRS
    out = []
    for start in range(0, 10 * n, 10):
        x = int.from_bytes(raw[start:start + 10])
        out.append(head + pairs[x >> 70] + pairs[x >> 60 & 1023] + pairs[x >> 50 & 1023]
                   + pairs[x >> 40 & 1023] + pairs[x >> 30 & 1023] + pairs[x >> 20 & 1023]
                   + pairs[x >> 10 & 1023] + pairs[x & 1023])
    return out


def prefix_of(value: str) -> str | None:
    head, sep, tail = value.partition("_")
    if not sep or head not in PREFIXES or len(tail) != 26:
        return None
    return head
