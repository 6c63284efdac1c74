"""A compiled redeemable is request-independent: one cached object serves many requests."""

from engine_factories import amount_off, order, request, rules, voucher

from app.engine import (
    Discount,
    DiscountEffect,
    DiscountType,
    RedeemableInput,
    RedeemableState,
    RedeemableStatus,
    Rule,
    UnitSpec,
    compile_redeemable,
    evaluate,
)


def test_one_compiled_object_many_requests() -> None:
    v = voucher(
        "V",
        amount_off(500),
        rules(Rule("redemption.count.per_customer", {"$less_than_or_equal": [2]})),
        redemption_quantity=10,
    )
    compiled = compile_redeemable(v)
    fresh = RedeemableInput(compiled, RedeemableState(redeemed_quantity=0))
    used_up = RedeemableInput(compiled, RedeemableState(redeemed_quantity=10))
    twice = RedeemableInput(
        compiled, RedeemableState(counters={"redemption.count.per_customer": 2})
    )
    first = evaluate(request(order(amount=1000), fresh))
    second = evaluate(request(order(amount=300), fresh))
    assert first.order.total_amount == 500
    assert second.order.total_amount == 0
    reason = evaluate(request(order(amount=1000), used_up)).redeemables[0].reason
    assert reason is not None and reason.code == "quantity_exceeded"
    reason = evaluate(request(order(amount=1000), twice)).redeemables[0].reason
    assert reason is not None and reason.code == "redemption_rules_violated"
    again = evaluate(request(order(amount=1000), fresh))
    assert again == first
    assert again.redeemables[0].status is RedeemableStatus.APPLICABLE


def test_unit_and_fixed_formulas_fall_back() -> None:
    unit = Discount(
        type=DiscountType.UNIT,
        effect=DiscountEffect.ADD_NEW_ITEMS,
        units=(UnitSpec(1, "prod_gift", price=300, unit_off_formula='ORDER_METADATA("n")'),),
    )
    with_meta = evaluate(request(order(amount=1000, metadata={"n": 3}), voucher("U", unit)))
    assert with_meta.order.items[0].quantity == 3
    without = evaluate(request(order(amount=1000), voucher("U", unit)))
    assert without.order.items[0].quantity == 1
    fixed = Discount(
        type=DiscountType.FIXED,
        fixed_amount=800,
        fixed_amount_formula="ORDER_AMOUNT / 2",
    )
    assert evaluate(request(order(amount=1000), voucher("F", fixed))).order.total_amount == 500
