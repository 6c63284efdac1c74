"""Gift credits, pay-with-points, bundles and dynamic formulas (reference §3.5, §3.6, §7)."""

from decimal import Decimal

import pytest
from engine_factories import (
    amount_off,
    gift_card,
    item,
    item_discounts,
    only,
    order,
    percent_off,
    rules,
    run,
    target,
    voucher,
)

from app.engine import (
    BundleItem,
    BundleRules,
    Customer,
    Discount,
    DiscountEffect,
    DiscountType,
    PayWithPoints,
    Redeemable,
    RedeemableInput,
    RedeemableKind,
    RedeemableObject,
    RedeemableState,
    TargetObject,
    UnitSpec,
)
from app.engine.compile import CompileError, compile_redeemable
from app.engine.formulas import FormulaContext, MissingOperand, compile_formula

E = DiscountEffect


def loyalty(
    points: int | None, balance: int = 1000, holder: str | None = "cust_1"
) -> RedeemableInput:
    card = Redeemable(RedeemableObject.VOUCHER, "LOYAL", kind=RedeemableKind.LOYALTY_CARD)
    reward = PayWithPoints("rew_1", points_ratio=100, exchange_ratio=Decimal(20), points=points)
    return RedeemableInput(
        card, RedeemableState(loyalty_balance=balance, holder_id=holder), reward=reward
    )


CUST = Customer(id="cust_1")


class TestGiftCards:
    def test_partial_use(self) -> None:
        # Qualification example: 2500 credits on an 11500 cart.
        result = run(order(amount=11500), gift_card(balance=5000, credits=2500))
        gift = result.redeemables[0].gift
        assert gift is not None and (gift.credits, gift.balance) == (2500, 5000)
        assert result.order.discount_amount == 2500
        assert result.order.total_amount == 9000

    def test_never_beyond_remaining_total(self) -> None:
        result = run(
            order(amount=1500),
            voucher("C", amount_off(1000)),
            gift_card(balance=5000, credits=2000),
        )
        assert result.redeemables[1].gift is not None
        assert result.redeemables[1].gift.credits == 500
        assert result.order.total_amount == 0

    def test_default_credits_is_balance_capped(self) -> None:
        result = run(order(amount=1500), gift_card(balance=1000))
        assert result.order.discount_amount == 1000

    def test_credits_above_balance(self) -> None:
        reason = run(order(amount=1500), gift_card(balance=100, credits=200)).redeemables[0].reason
        assert reason is not None and reason.code == "gift_amount_exceeded"

    def test_item_restricted_card(self) -> None:
        o = order(item("prod_a", 1000), item("prod_b", 3000))
        card = gift_card(
            balance=10000,
            credits=2000,
            gift_effect=E.APPLY_TO_ITEMS,
            validation_rules=(only(target("prod_b")),),
        )
        assert item_discounts(run(o, card)) == [0, 2000]
        none = gift_card(
            balance=10000,
            credits=2000,
            gift_effect=E.APPLY_TO_ITEMS,
            validation_rules=(only(target("prod_zzz")),),
        )
        reason = run(o, none).redeemables[0].reason
        assert reason is not None and reason.code == "missing_order_items_amount"


class TestPayWithPoints:
    def test_reference_ratio(self) -> None:
        # points_ratio 100, exchange_ratio 20: 200 points -> 4000 minor units.
        result = run(order(amount=10000), loyalty(200), customer=CUST)
        card = result.redeemables[0].loyalty_card
        assert card is not None and (card.points, card.amount, card.balance) == (200, 4000, 1000)
        assert result.order.discount_amount == 4000

    def test_capped_by_remaining_total_spends_only_needed_points(self) -> None:
        result = run(order(amount=3000), loyalty(200), customer=CUST)
        card = result.redeemables[0].loyalty_card
        assert card is not None and (card.points, card.amount) == (150, 3000)
        assert result.order.total_amount == 0

    def test_errors(self) -> None:
        reason = run(order(amount=3000), loyalty(2000), customer=CUST).redeemables[0].reason
        assert reason is not None and reason.code == "loyalty_card_points_exceeded"
        reason = (
            run(order(amount=3000), loyalty(10), customer=Customer(id="cust_2"))
            .redeemables[0]
            .reason
        )
        assert reason is not None and reason.code == "invalid_customer"
        card = Redeemable(RedeemableObject.VOUCHER, "LOYAL", kind=RedeemableKind.LOYALTY_CARD)
        reason = run(order(amount=3000), RedeemableInput(card)).redeemables[0].reason
        assert reason is not None and reason.code == "missing_reward"

    def test_gift_then_points_in_sequence(self) -> None:
        result = run(
            order(amount=5000), gift_card(balance=3000, credits=3000), loyalty(200), customer=CUST
        )
        assert [r.order.applied_discount_amount for r in result.redeemables] == [3000, 2000]
        assert result.order.total_amount == 0


BUNDLE = BundleRules(
    items=(
        BundleItem(TargetObject.PRODUCT, "prod_a", 2),
        BundleItem(TargetObject.PRODUCT, "prod_b", 1),
    ),
    limit=2,
)


class TestBundles:
    def test_complete_bundles_multiply_amount(self) -> None:
        o = order(item("prod_a", 1000, 5), item("prod_b", 2000, 3))
        v = voucher("B", amount_off(500), rules(bundle_rules=BUNDLE))
        result = run(o, v)
        bundle = result.redeemables[0].bundle
        assert bundle is not None and (bundle.quantity, bundle.limit, bundle.missing) == (2, 2, ())
        assert result.order.discount_amount == 1000  # 2 bundles (limit 2) x 500

    def test_missing_items(self) -> None:
        o = order(item("prod_a", 1000, 1))
        result = run(o, voucher("B", amount_off(500), rules(bundle_rules=BUNDLE)))
        r = result.redeemables[0]
        assert r.reason is not None and r.reason.code == "order_rules_violated"
        assert r.bundle is not None
        assert [(m.id, m.quantity) for m in r.bundle.missing] == [("prod_a", 1), ("prod_b", 1)]

    def test_per_unit_effect_multiplies_units_not_value(self) -> None:
        o = order(item("prod_a", 1000, 4), item("prod_b", 2000, 2))
        v = voucher(
            "B",
            amount_off(300, E.APPLY_TO_ITEMS_BY_QUANTITY),
            rules(bundle_rules=BUNDLE, applicable_to=only(target("prod_b")).applicable_to),
        )
        assert item_discounts(run(o, v)) == [0, 600]  # 2 bundles -> 2 units x 300

    def test_unit_effect_multiplied(self) -> None:
        o = order(item("prod_a", 1000, 4), item("prod_b", 2000, 2))
        d = Discount(
            type=DiscountType.UNIT,
            effect=E.ADD_NEW_ITEMS,
            units=(UnitSpec(1, "prod_gift", price=100),),
        )
        result = run(o, voucher("B", d, rules(bundle_rules=BUNDLE)))
        assert result.order.items[2].quantity == 2
        assert result.order.items[2].discount_amount == 200

    def test_percent_limit_multiplied(self) -> None:
        o = order(item("prod_a", 10000, 4), item("prod_b", 20000, 2))
        v = voucher("B", percent_off(50, amount_limit=1000), rules(bundle_rules=BUNDLE))
        assert run(o, v).order.discount_amount == 2000


class TestFormulas:
    def test_evaluator(self) -> None:
        ctx = FormulaContext({"ORDER_AMOUNT": 12345}, {"rate": "2.5"}, {"tier": 3}, {}, {})
        assert compile_formula("ORDER_AMOUNT * 10 / 100").evaluate(ctx) == Decimal("1234.5")
        assert (
            compile_formula('MIN(ORDER_AMOUNT, 1000) + CUSTOMER_METADATA("tier")').evaluate(ctx)
            == 1003
        )
        assert compile_formula("ROUND(2.5) + FLOOR(1.9) + CEIL(1.1) - -1").evaluate(ctx) == 7
        assert compile_formula('MAX(1, ORDER_METADATA("rate") * 2)').evaluate(ctx) == 5
        with pytest.raises(MissingOperand):
            compile_formula('ORDER_METADATA("nope") + 1').evaluate(ctx)

    @pytest.mark.parametrize(
        "bad", ["__import__('os')", "1 +", "FOO(1)", "ORDER_METADATA(x)", "1 ; 2"]
    )
    def test_rejects_malformed(self, bad: str) -> None:
        with pytest.raises(CompileError):
            compile_redeemable(
                voucher(
                    "V", Discount(type=DiscountType.AMOUNT, amount_off=1, amount_off_formula=bad)
                )
            )

    def test_formula_value_and_fallback(self) -> None:
        d = Discount(
            type=DiscountType.AMOUNT,
            amount_off=100,
            amount_off_formula='ORDER_METADATA("bonus") * 2',
        )
        result = run(order(amount=10000, metadata={"bonus": 750}), voucher("F", d))
        assert result.order.discount_amount == 1500
        assert result.redeemables[0].discount is not None
        assert result.redeemables[0].discount.is_dynamic
        result = run(order(amount=10000), voucher("F", d))
        assert result.order.discount_amount == 100
        assert result.redeemables[0].discount is not None
        assert not result.redeemables[0].discount.is_dynamic

    def test_percent_formula_from_redeemable_metadata(self) -> None:
        d = Discount(
            type=DiscountType.PERCENT,
            percent_off=Decimal(5),
            percent_off_formula='REDEEMABLE_METADATA("pct")',
        )
        v = voucher("F", d, metadata={"pct": 12.5})
        assert run(order(amount=10000), v).order.discount_amount == 1250
