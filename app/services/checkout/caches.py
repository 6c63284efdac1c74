"""The per-process caches of checkout, per project and keyed by a version the request reads.

Validation (and the read-only pre-check of a redemption) does not re-read a project's
campaigns, tiers, stacks, rules, categories, stacking rules and AUTO_UPDATE collections on
every request: they are kept per process, per project, keyed by `projects.catalog_version`,
which app/db/versioning.py bumps in the same transaction as any change to them. One indexed
read of that version per request tells whether the entry still holds. What moves with every
redemption (voucher counters and balances, reservations, redemption counts, campaign
totals) is always read live. Spending transactions (lock=True) read and lock the vouchers,
tiers and campaigns they spend fresh, then read the version, and take only rules,
categories, stacking rules and compiled definitions of that version from the cache.

Order lines are resolved through a second cache of the same shape, keyed by
`projects.products_version`: products, SKUs and collection memberships as lines name them."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from app import engine
from app.db.campaigns import Campaign
from app.db.catalog import Product, Sku
from app.db.categories import Category
from app.db.rules import ValidationRule

CACHE_PROJECTS = 256
CACHE_VOUCHERS = 20_000  # compiled voucher definitions per project (LRU)
CACHE_ROWS = 100_000  # cached rows (tiers, stacks, campaigns, categories) per project entry


@dataclass
class Definitions:
    """One project's definitions at one catalog version; filled lazily, batch by batch.

    `rows` and `defs` are kept per row source of the kind registry (see `kinds`): the rows of
    sources whose rows are definitions (tiers, stacks), by id with None for ids that do not
    exist, and the engine definitions compiled from any source's rows, by row id."""

    version: int
    stacking_raw: dict[str, Any] | None = None
    stacking: engine.StackingRules | None = None
    autos: list[tuple[str, dict[str, Any]]] | None = None
    campaigns: dict[str, Campaign | None] = field(default_factory=dict)
    categories: dict[str, Category | None] = field(default_factory=dict)
    rules: dict[str, list[ValidationRule]] = field(default_factory=dict)  # campaign/tier id
    rows: dict[engine.RedeemableObject, dict[str, Any]] = field(default_factory=dict)
    defs: dict[engine.RedeemableObject, OrderedDict[str, engine.Redeemable]] = field(
        default_factory=dict)

    def rows_of(self, source: engine.RedeemableObject) -> dict[str, Any]:
        return self.rows.setdefault(source, {})

    def defs_of(self, source: engine.RedeemableObject) -> OrderedDict[str, engine.Redeemable]:
        return self.defs.setdefault(source, OrderedDict())

    def oversized(self) -> bool:
        return sum(len(rows) for rows in self.rows.values()) + len(self.campaigns) + len(
            self.categories) > CACHE_ROWS


def remember(defs: OrderedDict[str, engine.Redeemable], key: str, value: engine.Redeemable,
             limit: int | None) -> None:
    """Keep a compiled definition; with a `limit`, the least recently used go beyond it."""
    defs[key] = value
    if limit is not None:
        defs.move_to_end(key)
        while len(defs) > limit:
            defs.popitem(last=False)


@dataclass
class CachedLines:
    """One project's products, SKUs and collection memberships at one products version, as
    order lines name them (by id or source id); None where nothing has that id."""

    version: int
    products: dict[str, Product | None] = field(default_factory=dict)
    skus: dict[str, Sku | None] = field(default_factory=dict)
    products_by_source: dict[str, Product | None] = field(default_factory=dict)
    skus_by_source: dict[str, Sku | None] = field(default_factory=dict)
    collections: dict[str, frozenset[str]] = field(default_factory=dict)  # product/SKU id

    def oversized(self) -> bool:
        return len(self.products) + len(self.skus) + len(self.products_by_source) + len(
            self.skus_by_source) + len(self.collections) > CACHE_ROWS


E = TypeVar("E", Definitions, CachedLines)


class VersionedCache(Generic[E]):  # noqa: UP046 - Python 3.11
    """Per project, the entry of the newest version seen (LRU over projects)."""

    def __init__(self, make: type[E], capacity: int = CACHE_PROJECTS) -> None:
        self._make = make
        self._entries: OrderedDict[str, E] = OrderedDict()
        self._lock = threading.Lock()
        self._capacity = capacity
        self.misses = 0  # entries (re)started: tests count them

    def entry(self, project_id: str, version: int) -> E:
        """The shared entry for this version; a private one for a reader that saw an older
        version than the cache already holds (it must not replace the newer entry)."""
        with self._lock:
            current = self._entries.get(project_id)
            if current is not None and current.version == version and not current.oversized():
                self._entries.move_to_end(project_id)
                return current
            if current is not None and current.version > version:
                return self._make(version)
            self.misses += 1
            fresh = self._entries[project_id] = self._make(version)
            self._entries.move_to_end(project_id)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)
            return fresh

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


CACHE = VersionedCache(Definitions)
LINES = VersionedCache(CachedLines)
