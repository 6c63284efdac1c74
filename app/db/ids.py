"""Prefixed, sortable ids (``prod_01J…``): primary keys and GraphQL global ids at once.

The part after the prefix is a ULID, so ids sort by creation time and keyset pagination
on the primary key gives "newest first" for free.
"""

from __future__ import annotations

from ulid import ULID

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


def prefix_of(value: str) -> str | None:
    head, sep, tail = value.partition("_")
    if not sep or head not in PREFIXES or len(tail) != 26:
        return None
    return head
