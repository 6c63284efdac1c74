"""The running order while redeemables are applied, effects on it, and its snapshots."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.engine.model import Order, OrderCalculation, OrderItemCalculation


@dataclass(slots=True)
class Line:
    index: int
    price: int  # unit price used for ranking and per-unit math
    quantity: int
    amount: int
    initial_quantity: int
    price_given: int | None = None
    product_id: str | None = None
    sku_id: str | None = None
    source_id: str | None = None
    product_source_id: str | None = None
    collection_ids: frozenset[str] = frozenset()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    product_metadata: Mapping[str, Any] = field(default_factory=dict)
    discount: int = 0  # item discount applied in this request so far
    discount_quantity: int = 0
    added_quantity: int = 0
    added_amount: int = 0
    touched: bool = False  # discounted by an earlier redeemable (ONCE mode)
    previous_discount: int = 0  # taken off by earlier redemptions of an existing order
    previous_discount_quantity: int = 0

    @property
    def subtotal(self) -> int:
        return self.amount - self.previous_discount - self.discount

    def copy(self) -> Line:
        return Line(
            self.index,
            self.price,
            self.quantity,
            self.amount,
            self.initial_quantity,
            self.price_given,
            self.product_id,
            self.sku_id,
            self.source_id,
            self.product_source_id,
            self.collection_ids,
            self.metadata,
            self.product_metadata,
            self.discount,
            self.discount_quantity,
            self.added_quantity,
            self.added_amount,
            self.touched,
            self.previous_discount,
            self.previous_discount_quantity,
        )


@dataclass(slots=True)
class OrderState:
    """Lines are copy-on-write: `apply_effect` replaces a line before changing it, so a fork
    shares untouched lines (and their cached snapshots) with the state it came from."""

    lines: list[Line]
    amount: int
    initial_amount: int
    previous_discount: int = 0  # order-level discount of earlier redemptions
    order_discount: int = 0  # order-level discount applied in this request so far
    items_discount: int = 0  # Σ line discounts applied in this request so far
    previous_items_discount: int = 0  # Σ line discounts of earlier redemptions

    @classmethod
    def from_order(cls, order: Order) -> OrderState:
        lines: list[Line] = []
        for i, item in enumerate(order.items):
            qty = max(0, item.quantity)
            if item.amount is not None:
                amount = item.amount
                price = item.price if item.price is not None else (amount // qty if qty else 0)
            else:
                price = item.price or 0
                amount = price * qty
            amount = max(0, amount)
            previous = min(amount, max(0, item.previous_discount_amount))
            lines.append(
                Line(
                    index=i,
                    price=price,
                    quantity=qty,
                    amount=amount,
                    initial_quantity=qty,
                    price_given=item.price,
                    product_id=item.product_id,
                    sku_id=item.sku_id,
                    source_id=item.source_id,
                    product_source_id=item.product_source_id,
                    collection_ids=item.collection_ids,
                    metadata=item.metadata,
                    product_metadata=item.product_metadata,
                    # ONCE mode: a line an earlier redemption discounted is already taken.
                    touched=previous > 0,
                    previous_discount=previous,
                    previous_discount_quantity=max(0, item.previous_discount_quantity),
                )
            )
        amount = order.amount if order.amount is not None else sum(ln.amount for ln in lines)
        return cls(
            lines,
            max(0, amount),
            max(0, amount),
            max(0, order.previous_discount_amount),
            previous_items_discount=sum(ln.previous_discount for ln in lines),
        )

    @property
    def total(self) -> int:
        return max(
            0,
            self.amount
            - self.previous_discount
            - self.previous_items_discount
            - self.order_discount
            - self.items_discount,
        )

    def fork(self) -> OrderState:
        return OrderState(
            list(self.lines),
            self.amount,
            self.initial_amount,
            self.previous_discount,
            self.order_discount,
            self.items_discount,
            self.previous_items_discount,
        )


@dataclass(slots=True)
class Effect:
    """What one redeemable does to the order; computing it never mutates the state."""

    order_discount: int = 0
    item_discounts: dict[int, int] = field(default_factory=dict)
    item_quantities: dict[int, int] = field(default_factory=dict)
    added_units: dict[int, int] = field(default_factory=dict)
    new_lines: list[Line] = field(default_factory=list)

    @property
    def items_discount(self) -> int:
        return sum(self.item_discounts.values())

    @property
    def total(self) -> int:
        return self.order_discount + self.items_discount

    def added_amount(self, state: OrderState) -> int:
        existing = sum(state.lines[i].price * u for i, u in self.added_units.items())
        return existing + sum(ln.amount for ln in self.new_lines)

    @property
    def is_empty(self) -> bool:
        return self.total == 0 and not self.added_units and not self.new_lines

    def total_after(self, state: OrderState) -> int:
        return max(0, state.total + self.added_amount(state) - self.total)


def apply_effect(state: OrderState, effect: Effect) -> None:
    lines = state.lines
    existing = len(lines)
    for new in effect.new_lines:
        lines.append(new.copy())
        state.amount += new.amount
    touched = set(effect.added_units) | set(effect.item_discounts) | set(effect.item_quantities)
    for i in touched:
        if i < existing:
            lines[i] = lines[i].copy()
    for i, units in effect.added_units.items():
        line = lines[i]
        line.quantity += units
        line.amount += line.price * units
        line.added_quantity += units
        line.added_amount += line.price * units
        state.amount += line.price * units
    for i, amount in effect.item_discounts.items():
        line = lines[i]
        line.discount += amount
        state.items_discount += amount
        if amount > 0:
            line.touched = True
    for i, qty in effect.item_quantities.items():
        lines[i].discount_quantity += qty
    state.order_discount += effect.order_discount


SnapshotCache = dict[int, OrderItemCalculation]


def _item_calc(ln: Line, applied: int, applied_quantity: int = 0) -> OrderItemCalculation:
    discount = ln.previous_discount + ln.discount
    return OrderItemCalculation(
        index=ln.index,
        product_id=ln.product_id,
        sku_id=ln.sku_id,
        source_id=ln.source_id,
        quantity=ln.quantity,
        initial_quantity=ln.initial_quantity,
        price=ln.price_given if ln.price_given is not None else ln.price,
        amount=ln.amount,
        discount_amount=discount,
        applied_discount_amount=applied,
        subtotal_amount=ln.amount - discount,
        discount_quantity=ln.previous_discount_quantity + ln.discount_quantity,
        applied_quantity=ln.added_quantity,
        applied_quantity_amount=ln.added_amount,
        applied_discount_quantity=applied_quantity,
    )


def item_cache(state: OrderState) -> SnapshotCache:
    """Snapshots of lines with nothing applied, reusable while those line objects are shared."""
    return {id(ln): _item_calc(ln, 0) for ln in state.lines}


def snapshot(
    state: OrderState,
    order_applied: int,
    item_applied: Mapping[int, int],
    cache: SnapshotCache | None = None,
    item_quantities: Mapping[int, int] | None = None,
) -> OrderCalculation:
    """The order now; `*_applied` / `item_quantities`: the part of the redeemable (or request)
    being reported."""
    items: list[OrderItemCalculation] = []
    quantities = item_quantities or {}
    for ln in state.lines:
        applied = item_applied.get(ln.index, 0)
        applied_qty = quantities.get(ln.index, 0)
        cached = (
            cache.get(id(ln)) if cache is not None and not applied and not applied_qty else None
        )
        items.append(cached if cached is not None else _item_calc(ln, applied, applied_qty))
    discount = state.previous_discount + state.order_discount
    items_discount = state.previous_items_discount + state.items_discount
    items_applied = sum(item_applied.values())
    return OrderCalculation(
        amount=state.amount,
        initial_amount=state.initial_amount,
        discount_amount=discount,
        items_discount_amount=items_discount,
        total_discount_amount=discount + items_discount,
        total_amount=state.total,
        applied_discount_amount=order_applied,
        items_applied_discount_amount=items_applied,
        total_applied_discount_amount=order_applied + items_applied,
        items=tuple(items),
    )
