"""Bundles (reference §3.5): complete-bundle count with limit and what is missing."""

from __future__ import annotations

from collections.abc import Sequence

from app.engine.model import BundleItem, BundleMissing, BundleResult, BundleRules, TargetObject
from app.engine.state import Line

# Rule matching precedence for bundles: SKU, then product, then collection.
_PRECEDENCE = {TargetObject.SKU: 0, TargetObject.PRODUCT: 1, TargetObject.PRODUCTS_COLLECTION: 2}


def _matches(item: BundleItem, line: Line) -> bool:
    if item.object is TargetObject.SKU:
        return line.sku_id == item.id
    if item.object is TargetObject.PRODUCT:
        return line.product_id == item.id
    return item.id in line.collection_ids


def evaluate_bundle(rules: BundleRules, lines: Sequence[Line]) -> BundleResult:
    """Each line's units count toward the first bundle item it matches by precedence."""
    order = sorted(range(len(rules.items)), key=lambda i: _PRECEDENCE[rules.items[i].object])
    found = [0] * len(rules.items)
    for line in lines:
        for i in order:
            if line.quantity > 0 and _matches(rules.items[i], line):
                found[i] += line.quantity
                break
    limit = max(1, min(100, rules.limit))
    complete = min(
        (found[i] // max(1, item.quantity) for i, item in enumerate(rules.items)), default=0
    )
    missing = tuple(
        BundleMissing(item.object, item.id, item.quantity - found[i])
        for i, item in enumerate(rules.items)
        if found[i] < item.quantity
    )
    return BundleResult(quantity=min(complete, limit), limit=limit, missing=missing)
