"""Remaining worked examples and decisions from the reference (§4, §5, §8.3, §13)."""

from engine_factories import (
    amount_off,
    item,
    order,
    percent_off,
    rules,
    run,
    tier,
    voucher,
)

from app.engine import (
    Category,
    DiscountEffect,
    Mode,
    Redeemable,
    RedeemableObject,
    RedeemableStatus,
    Rule,
    StackingRules,
)


def hot_promotion() -> tuple[Redeemable, Redeemable]:
    # Sandbox "Hot Promotion": $10 off orders >= $40, $20 off orders >= $80.
    t1 = tier(
        "promo_10",
        amount_off(1000),
        rules(Rule("order.amount", {"$more_than_or_equal": [4000]}), id="val_40"),
    )
    t2 = tier(
        "promo_20",
        amount_off(2000),
        rules(Rule("order.amount", {"$more_than_or_equal": [8000]}), id="val_80"),
    )
    return t1, t2


class TestQualification:
    def test_hot_promotion_tiers(self) -> None:
        t1, t2 = hot_promotion()
        result = run(order(item("prod_a", 5000)), t1, t2, mode=Mode.QUALIFY)
        assert [r.status for r in result.redeemables] == [
            RedeemableStatus.APPLICABLE,
            RedeemableStatus.INAPPLICABLE,
        ]
        assert result.redeemables[0].order.total_amount == 4000
        assert result.redeemables[1].reason is not None
        assert result.redeemables[1].reason.code == "order_rules_violated"
        assert result.redeemables[1].reason.validation_rule_id == "val_80"
        # each candidate is judged alone: the top-level order is the input order
        assert result.order.total_amount == 5000
        both = run(order(item("prod_a", 9000)), t1, t2, mode=Mode.QUALIFY)
        assert [r.order.total_applied_discount_amount for r in both.redeemables] == [1000, 2000]

    def test_qualification_does_not_check_request_limits(self) -> None:
        vs = [voucher(f"V{i}", amount_off(1)) for i in range(40)]
        result = run(order(amount=100), *vs, mode=Mode.QUALIFY)
        assert len(result.redeemables) == 40

    def test_promotion_stack_candidate(self) -> None:
        t1, t2 = hot_promotion()
        stack = Redeemable(RedeemableObject.PROMOTION_STACK, "stack_1", tiers=(t1, t2))
        result = run(order(amount=9000), stack, mode=Mode.QUALIFY)
        assert result.redeemables[0].status is RedeemableStatus.APPLICABLE
        assert result.redeemables[0].order.discount_amount == 3000


class TestReasons:
    def test_unknown_code(self) -> None:
        result = run(order(amount=100), voucher("NOPE", found=False))
        reason = result.redeemables[0].reason
        assert not result.valid
        assert reason is not None
        assert (reason.code, reason.message, reason.details) == (
            "not_found",
            "Resource not found",
            "Cannot find voucher with id NOPE",
        )
        assert len(result.inapplicable_redeemables) == len(result.redeemables)

    def test_disabled_tier_message(self) -> None:
        reason = (
            run(order(amount=100), tier("promo_1", amount_off(1), active=False))
            .redeemables[0]
            .reason
        )
        assert reason is not None
        assert reason.details == "Promotion Tier with id: promo_1 is disabled."


class TestCalculationModePerCategory:
    def test_initial_amount_category(self) -> None:
        first = voucher("A", amount_off(5000, DiscountEffect.APPLY_TO_ORDER))
        second = voucher("P", percent_off(10), categories=(Category("cat_init"),))
        rs = StackingRules(initial_amount_mode_categories=frozenset({"cat_init"}))
        result = run(order(amount=10000), first, second, stacking=rs)
        assert [r.order.applied_discount_amount for r in result.redeemables] == [5000, 1000]
        assert run(order(amount=10000), first, second).order.discount_amount == 5500
