"""Small factories for engine tests: plain dataclasses with sensible defaults."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from app.engine import (
    ApplicableTo,
    Category,
    Customer,
    Discount,
    DiscountEffect,
    DiscountType,
    EvaluationRequest,
    Mode,
    Order,
    OrderItem,
    Redeemable,
    RedeemableInput,
    RedeemableKind,
    RedeemableObject,
    RedeemableState,
    Rule,
    StackingRules,
    StackValidation,
    Target,
    TargetObject,
    ValidationRule,
    evaluate,
)

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)  # a Sunday


def item(
    product: str = "prod_a",
    price: int = 1000,
    qty: int = 1,
    sku: str | None = None,
    collections: tuple[str, ...] = (),
    metadata: dict[str, Any] | None = None,
    amount: int | None = None,
) -> OrderItem:
    return OrderItem(
        quantity=qty,
        price=price,
        amount=amount,
        product_id=product,
        sku_id=sku,
        collection_ids=frozenset(collections),
        metadata=metadata or {},
    )


def order(*items: OrderItem, amount: int | None = None, **kw: Any) -> Order:
    return Order(items=tuple(items), amount=amount, **kw)


def amount_off(off: int, effect: DiscountEffect | None = None, **kw: Any) -> Discount:
    return Discount(type=DiscountType.AMOUNT, amount_off=off, effect=effect, **kw)


def percent_off(pct: str | int, effect: DiscountEffect | None = None, **kw: Any) -> Discount:
    return Discount(type=DiscountType.PERCENT, percent_off=Decimal(str(pct)), effect=effect, **kw)


def fixed(amount: int, effect: DiscountEffect | None = None, **kw: Any) -> Discount:
    return Discount(type=DiscountType.FIXED, fixed_amount=amount, effect=effect, **kw)


def target(ident: str, obj: TargetObject = TargetObject.PRODUCT, **kw: Any) -> Target:
    return Target(object=obj, id=ident, **kw)


def rules(
    *rs: Rule,
    logic: str | None = None,
    id: str = "val_1",
    message: str | None = None,
    applicable_to: ApplicableTo | None = None,
    **kw: Any,
) -> ValidationRule:
    return ValidationRule(
        id=id, rules=rs, logic=logic, error_message=message, applicable_to=applicable_to, **kw
    )


def only(*targets: Target, excluded: tuple[Target, ...] = (), all_: bool = False) -> ValidationRule:
    return rules(applicable_to=ApplicableTo(tuple(targets), excluded, all_), id="val_targets")


def voucher(
    id: str = "CODE",
    discount: Discount | None = None,
    *vrules: ValidationRule,
    categories: tuple[Category, ...] = (),
    **kw: Any,
) -> Redeemable:
    return Redeemable(
        object=RedeemableObject.VOUCHER,
        id=id,
        discount=discount,
        validation_rules=vrules,
        categories=categories,
        **kw,
    )


def tier(
    id: str, discount: Discount | None = None, *vrules: ValidationRule, **kw: Any
) -> Redeemable:
    return Redeemable(
        object=RedeemableObject.PROMOTION_TIER,
        id=id,
        kind=RedeemableKind.PROMOTION_TIER,
        discount=discount,
        validation_rules=vrules,
        **kw,
    )


def gift_card(
    id: str = "GIFT", balance: int = 10000, credits: int | None = None, **kw: Any
) -> RedeemableInput:
    return RedeemableInput(
        Redeemable(object=RedeemableObject.VOUCHER, id=id, kind=RedeemableKind.GIFT_VOUCHER, **kw),
        state=RedeemableState(gift_balance=balance),
        gift_credits=credits,
    )


def as_input(r: Redeemable | RedeemableInput) -> RedeemableInput:
    return r if isinstance(r, RedeemableInput) else RedeemableInput(r)


def request(
    o: Order,
    *rs: Redeemable | RedeemableInput,
    customer: Customer | None = None,
    stacking: StackingRules | None = None,
    mode: Mode = Mode.VALIDATE,
    now: datetime = NOW,
    tz: str = "UTC",
    **kw: Any,
) -> EvaluationRequest:
    return EvaluationRequest(
        order=o,
        redeemables=tuple(as_input(r) for r in rs),
        now=now,
        customer=customer,
        stacking_rules=stacking or StackingRules(applicable_redeemables_per_category_limit=30),
        timezone=tz,
        mode=mode,
        **kw,
    )


def run(o: Order, *rs: Redeemable | RedeemableInput, **kw: Any) -> StackValidation:
    return evaluate(request(o, *rs, **kw))


def item_discounts(result: StackValidation) -> list[int]:
    return [i.discount_amount for i in result.order.items]
