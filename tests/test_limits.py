"""Input limits that services enforce for every caller (the GraphQL scalar, the NATS inbound
consumer, direct service calls): JSON nesting, walked without recursion."""

from __future__ import annotations

from typing import Any

from app.services.customers import check_customer
from app.services.errors import MAX_JSON_DEPTH, Checks, json_too_deep


def nested(depth: int, leaf: Any = 1) -> Any:
    value = leaf
    for n in range(depth):
        value = {"k": value} if n % 2 else [value]
    return value


def test_json_depth_boundary_and_very_deep_values() -> None:
    assert not json_too_deep(nested(MAX_JSON_DEPTH))
    assert json_too_deep(nested(MAX_JSON_DEPTH + 1))
    assert json_too_deep(nested(100_000))  # no RecursionError
    assert not json_too_deep({"wide": list(range(10_000)), "flat": "x"})
    assert not json_too_deep("scalar") and not json_too_deep(None)


def test_services_refuse_deep_metadata_and_addresses_with_the_path() -> None:
    checks = Checks()
    check_customer(checks, {"metadata": {"m": nested(40)}, "address": {"a": nested(40)}},
                   ["customer"])
    assert [(e.code, e.field) for e in checks.errors] == [
        ("json_too_deep", ["customer", "address"]),
        ("json_too_deep", ["customer", "metadata"]),
    ]
