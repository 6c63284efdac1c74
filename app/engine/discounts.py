"""Discount effects (reference §3.1, §3.3): compute an `Effect` on the running order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from app.engine.model import (
    SHIPPING_PRODUCT_ID,
    CalculationMode,
    Discount,
    DiscountEffect,
    DiscountType,
    UnitSpec,
)
from app.engine.money import cap_parts, percent_of, split_capped
from app.engine.state import Effect, Line, OrderState
from app.engine.targets import Pick

_ITEM_EFFECTS = {
    DiscountEffect.APPLY_TO_ITEMS,
    DiscountEffect.APPLY_TO_ITEMS_PROPORTIONALLY,
    DiscountEffect.APPLY_TO_ITEMS_PROPORTIONALLY_BY_QUANTITY,
    DiscountEffect.APPLY_TO_ITEMS_BY_QUANTITY,
}


@dataclass(frozen=True, slots=True)
class ResolvedDiscount:
    """A discount with formulas evaluated and bundle multiplication done."""

    type: DiscountType
    effect: DiscountEffect
    amount_off: int = 0
    percent_off: Decimal = Decimal(0)
    amount_limit: int | None = None
    aggregated_amount_limit: int | None = None
    fixed_amount: int | None = None
    units: tuple[UnitSpec, ...] = ()
    unit_cap: int | None = None  # bundle: max discounted units for per-unit effects
    limit_scale: int = 1  # bundle: complete bundles the targets' explicit limits are scaled by
    is_dynamic: bool = False
    item_indices: tuple[int, ...] = field(default=())


def default_effect(discount: Discount, has_targets: bool) -> DiscountEffect:
    if discount.effect is not None:
        return discount.effect
    if discount.type in (DiscountType.UNIT, DiscountType.SHIPPING):
        return DiscountEffect.ADD_MISSING_ITEMS
    return DiscountEffect.APPLY_TO_ITEMS if has_targets else DiscountEffect.APPLY_TO_ORDER


def is_item_effect(effect: DiscountEffect) -> bool:
    return effect in _ITEM_EFFECTS


def line_base(line: Line, units: int, mode: CalculationMode) -> int:
    """The amount a per-line discount is computed on (the original amount in INITIAL mode)."""
    full = units >= line.quantity
    if mode is CalculationMode.INITIAL_AMOUNT:
        base = line.amount if full else line.price * units
    else:
        base = line.subtotal if full else line.subtotal * units // max(1, line.quantity)
    return max(0, base)


def order_effect(d: ResolvedDiscount, state: OrderState, mode: CalculationMode) -> Effect:
    remaining = state.total
    base = remaining if mode is CalculationMode.DISCOUNTED_AMOUNT else state.amount
    if d.type is DiscountType.AMOUNT:
        value = d.amount_off
    elif d.type is DiscountType.PERCENT:
        value = percent_of(base, d.percent_off)
        if d.amount_limit is not None:
            value = min(value, d.amount_limit)
    elif d.type is DiscountType.FIXED:
        value = max(0, base - (d.fixed_amount or 0))
    else:
        value = 0
    return Effect(order_discount=max(0, min(value, remaining)))


def items_effect(
    d: ResolvedDiscount, state: OrderState, picks: Sequence[Pick], mode: CalculationMode
) -> Effect:
    picks = _cap_units(picks, d.unit_cap)
    if not picks:
        return Effect()
    rooms = [p.line.subtotal for p in picks]
    bases = [line_base(p.line, p.units, mode) for p in picks]
    caps = [min(b, room) for b, room in zip(bases, rooms, strict=True)]
    effect = d.effect
    if d.type is DiscountType.PERCENT:
        parts = [percent_of(b, d.percent_off) for b in bases]
        if d.amount_limit is not None:
            parts = [min(x, d.amount_limit) for x in parts]
    elif d.type is DiscountType.FIXED:
        parts = []
        for p in picks:
            new_price = (
                p.target.price if p.target and p.target.price is not None else d.fixed_amount
            )
            parts.append(max(0, p.line.price - (new_price or 0)) * p.units)
    elif effect is DiscountEffect.APPLY_TO_ITEMS_BY_QUANTITY:
        parts = [min(d.amount_off, p.line.price) * p.units for p in picks]
    elif effect is DiscountEffect.APPLY_TO_ITEMS_PROPORTIONALLY:
        parts = split_capped(d.amount_off, bases, caps)
    elif effect is DiscountEffect.APPLY_TO_ITEMS_PROPORTIONALLY_BY_QUANTITY:
        parts = split_capped(d.amount_off, [p.units for p in picks], caps)
    else:  # AMOUNT APPLY_TO_ITEMS: the full amount off each matched line
        parts = [min(d.amount_off, b) for b in bases]
    parts = [min(x, room) for x, room in zip(parts, rooms, strict=True)]
    parts = _apply_target_caps(picks, parts, d.limit_scale)
    parts = cap_parts(parts, d.aggregated_amount_limit)
    parts = cap_parts(parts, state.total)
    return Effect(
        item_discounts={p.line.index: x for p, x in zip(picks, parts, strict=True) if x > 0},
        item_quantities={p.line.index: p.units for p, x in zip(picks, parts, strict=True) if x > 0},
    )


def _cap_units(picks: Sequence[Pick], cap: int | None) -> list[Pick]:
    if cap is None:
        return list(picks)
    out: list[Pick] = []
    left = cap
    for p in picks:
        if left <= 0:
            break
        units = min(p.units, left)
        left -= units
        out.append(Pick(p.line, units, p.target))
    return out


def _apply_target_caps(picks: Sequence[Pick], parts: list[int], scale: int = 1) -> list[int]:
    """Per-line `amount_limit` and per-target `aggregated_amount_limit` (× `scale`, the
    complete bundles); the lowest wins."""
    capped = list(parts)
    groups: dict[int, list[int]] = {}
    for i, p in enumerate(picks):
        if p.target is None:
            continue
        if p.target.amount_limit is not None:
            capped[i] = min(capped[i], p.target.amount_limit * scale)
        if p.target.aggregated_amount_limit is not None:
            groups.setdefault(id(p.target), []).append(i)
    for idxs in groups.values():
        limit = picks[idxs[0]].target.aggregated_amount_limit  # type: ignore[union-attr]
        limit = limit * scale if limit is not None else None
        for i, value in zip(idxs, cap_parts([capped[i] for i in idxs], limit), strict=True):
            capped[i] = value
    return capped


def unit_effect(d: ResolvedDiscount, state: OrderState) -> Effect:
    """ADD_MISSING_ITEMS / ADD_NEW_ITEMS / ADD_MANY_ITEMS (and SHIPPING).

    Units of the built-in shipping product are never added: the order's shipping line (priced
    with the shipping cost) gets up to `unit_off` of its units discounted; an order without
    one has no shipping to discount."""
    effect = Effect()
    specs = d.units or (UnitSpec(1, SHIPPING_PRODUCT_ID),)
    working: dict[int, Line] = {}
    next_index = len(state.lines)
    for spec in specs:
        spec_effect = spec.effect
        if (
            d.effect in (DiscountEffect.ADD_MISSING_ITEMS, DiscountEffect.ADD_NEW_ITEMS)
            and len(specs) == 1
        ):
            spec_effect = d.effect
        line = _find_line(state, effect, spec)
        present = 0
        if line is not None:
            present = line.quantity + effect.added_units.get(line.index, 0)
        if spec.sku_id is None and spec.unit_type == SHIPPING_PRODUCT_ID:
            if line is not None:
                _discount_units(effect, line, min(spec.unit_off, present), line.subtotal)
            continue
        add = (
            spec.unit_off
            if spec_effect is DiscountEffect.ADD_NEW_ITEMS
            else max(0, spec.unit_off - present)
        )
        if line is None:
            line = Line(
                index=next_index,
                price=spec.price,
                quantity=0,
                amount=0,
                initial_quantity=0,
                price_given=spec.price,
                product_id=spec.unit_type,
                sku_id=spec.sku_id,
            )
            next_index += 1
            effect.new_lines.append(line)
            working[line.index] = line
        if add:
            if line.index in working:
                line.quantity += add
                line.amount += line.price * add
                line.added_quantity += add
                line.added_amount += line.price * add
            else:
                effect.added_units[line.index] = effect.added_units.get(line.index, 0) + add
        room = line.subtotal + (0 if line.index in working else line.price * add)
        _discount_units(effect, line, spec.unit_off, room)
    # An order amount given below the items' sum still bounds what can be discounted.
    limit = state.total + effect.added_amount(state)
    if effect.items_discount > limit:
        keys = list(effect.item_discounts)
        capped = cap_parts([effect.item_discounts[k] for k in keys], limit)
        effect.item_discounts = dict(zip(keys, capped, strict=True))
    return effect


def _discount_units(effect: Effect, line: Line, units: int, room: int) -> None:
    """Discount `units` units of `line` at its price, within `room` less what this effect
    already took off the line."""
    already = effect.item_discounts.get(line.index, 0)
    value = max(0, min(units * line.price, room - already))
    if value:
        effect.item_discounts[line.index] = already + value
        effect.item_quantities[line.index] = effect.item_quantities.get(line.index, 0) + units


def _find_line(state: OrderState, effect: Effect, spec: UnitSpec) -> Line | None:
    for line in [*state.lines, *effect.new_lines]:
        if spec.sku_id is not None:
            if line.sku_id == spec.sku_id:
                return line
        elif spec.unit_type is not None and line.product_id == spec.unit_type:
            return line
    return None


def gift_items_effect(credits: int, state: OrderState, picks: Sequence[Pick]) -> Effect:
    rooms = [p.line.subtotal for p in picks]
    parts = split_capped(min(credits, state.total), rooms, rooms)
    return Effect(
        item_discounts={p.line.index: x for p, x in zip(picks, parts, strict=True) if x > 0}
    )
