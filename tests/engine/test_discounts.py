"""Every discount type and effect, with exact minor-unit results (reference §3)."""

from decimal import Decimal

from engine_factories import (
    amount_off,
    fixed,
    item,
    item_discounts,
    only,
    order,
    percent_off,
    run,
    target,
    voucher,
)

from app.engine import (
    CalculationMode,
    Discount,
    DiscountEffect,
    DiscountType,
    RedeemableStatus,
    SortingRule,
    StackingRules,
    UnitSpec,
)
from app.engine.model import SHIPPING_PRODUCT_ID

E = DiscountEffect
CART = order(item("prod_a", 2000), item("prod_b", 4500), item("prod_c", 6000))


class TestApplyToOrder:
    def test_amount_off_order(self) -> None:
        # PYSDK: AMOUNT 1000 coupon on order.amount 20000 -> total 19000.
        result = run(order(amount=20000), voucher("C1", amount_off(1000)))
        assert result.valid
        assert result.order.total_amount == 19000
        assert result.order.discount_amount == 1000
        assert result.redeemables[0].discount is not None
        assert result.redeemables[0].discount.type is DiscountType.AMOUNT
        assert result.redeemables[0].discount.amount_off == 1000

    def test_order_amount_wins_over_items(self) -> None:
        # guides/discount-effects "Apply to order": amount 20050, items sum less; 10% -> 2005.
        o = order(item("prod_a", 5000, 2), amount=20050)
        result = run(o, voucher("P10", percent_off(10)))
        assert result.order.amount == 20050
        assert result.order.discount_amount == 2005
        assert result.order.total_amount == 18045

    def test_existing_order_only_remaining_total_is_applied(self) -> None:
        # Order 10000 with 9200 already discounted; a 1000 coupon applies 800.
        o = order(amount=10000, previous_discount_amount=9200)
        result = run(o, voucher("C1", amount_off(1000)))
        assert result.order.discount_amount == 10000
        assert result.order.applied_discount_amount == 800
        assert result.order.total_applied_discount_amount == 800
        assert result.order.total_amount == 0

    def test_percent_amount_limit_caps_the_order(self) -> None:
        result = run(CART, voucher("P50", percent_off(50, amount_limit=5000)))
        assert result.order.discount_amount == 5000

    def test_percent_half_up(self) -> None:
        result = run(order(amount=1005), voucher("P10", percent_off(10)))
        assert result.order.discount_amount == 101  # 100.5 -> 101

    def test_fixed_order_new_price(self) -> None:
        assert run(CART, voucher("F", fixed(10000))).order.total_amount == 10000
        result = run(CART, voucher("F", fixed(20000)))
        assert result.order.discount_amount == 0
        assert result.order.total_amount == 12500

    def test_amount_never_below_zero(self) -> None:
        result = run(order(amount=500), voucher("C1", amount_off(1000)))
        assert result.order.discount_amount == 500
        assert result.order.total_amount == 0


class TestApplyToItems:
    def test_amount_each_line(self) -> None:
        result = run(CART, voucher("A", amount_off(1000, E.APPLY_TO_ITEMS)))
        assert item_discounts(result) == [1000, 1000, 1000]
        assert result.order.items_discount_amount == 3000
        assert result.order.discount_amount == 0
        assert result.order.total_discount_amount == 3000
        assert result.order.total_amount == 9500
        assert [i.subtotal_amount for i in result.order.items] == [1000, 3500, 5000]

    def test_amount_each_line_capped_by_line(self) -> None:
        o = order(item("prod_a", 300), item("prod_b", 4500))
        result = run(o, voucher("A", amount_off(1000, E.APPLY_TO_ITEMS)))
        assert item_discounts(result) == [300, 1000]

    def test_aggregated_amount_limit_split_exactly(self) -> None:
        d = amount_off(1000, E.APPLY_TO_ITEMS, aggregated_amount_limit=2500)
        result = run(CART, voucher("A", d))
        assert item_discounts(result) == [834, 833, 833]
        assert result.order.items_discount_amount == 2500

    def test_by_quantity(self) -> None:
        o = order(item("prod_a", 500, 3), item("prod_b", 200, 2))
        result = run(o, voucher("Q", amount_off(300, E.APPLY_TO_ITEMS_BY_QUANTITY)))
        assert item_discounts(result) == [900, 400]
        assert [i.discount_quantity for i in result.order.items] == [3, 2]

    def test_proportionally_reference_split(self) -> None:
        # Documented split 1.6 / 3.6 / 4.8 USD of a 10 USD discount.
        result = run(CART, voucher("P", amount_off(1000, E.APPLY_TO_ITEMS_PROPORTIONALLY)))
        assert item_discounts(result) == [160, 360, 480]

    def test_proportionally_largest_remainder(self) -> None:
        o = order(item("prod_a", 1000), item("prod_b", 1000), item("prod_c", 1000))
        result = run(o, voucher("P", amount_off(1000, E.APPLY_TO_ITEMS_PROPORTIONALLY)))
        assert item_discounts(result) == [334, 333, 333]

    def test_proportionally_by_quantity(self) -> None:
        o = order(item("prod_a", 1000, 1), item("prod_b", 1000, 2), item("prod_c", 1000, 3))
        d = amount_off(1000, E.APPLY_TO_ITEMS_PROPORTIONALLY_BY_QUANTITY)
        result = run(o, voucher("P", d))
        assert item_discounts(result) == [167, 333, 500]

    def test_proportionally_by_quantity_moves_excess_off_a_full_line(self) -> None:
        o = order(item("prod_a", 100, 5), item("prod_b", 5000, 5))
        d = amount_off(2000, E.APPLY_TO_ITEMS_PROPORTIONALLY_BY_QUANTITY)
        result = run(o, voucher("P", d))
        assert item_discounts(result) == [500, 1500]

    def test_percent_items_half_up_per_line(self) -> None:
        o = order(item("prod_a", 2005), item("prod_b", 1003))
        result = run(o, voucher("P", percent_off(15, E.APPLY_TO_ITEMS)))
        assert item_discounts(result) == [301, 150]  # 300.75 -> 301, 150.45 -> 150

    def test_percent_items_amount_limit_per_line_and_aggregated(self) -> None:
        d = percent_off(50, E.APPLY_TO_ITEMS, amount_limit=2000)
        assert item_discounts(run(CART, voucher("P", d))) == [1000, 2000, 2000]
        d = percent_off(50, E.APPLY_TO_ITEMS, amount_limit=2000, aggregated_amount_limit=4000)
        assert item_discounts(run(CART, voucher("P", d))) == [800, 1600, 1600]

    def test_fixed_items_new_unit_price(self) -> None:
        o = order(item("prod_a", 2000, 2), item("prod_b", 1000, 1))
        result = run(o, voucher("F", fixed(1500, E.APPLY_TO_ITEMS)))
        assert item_discounts(result) == [1000, 0]  # cheaper item gets 0

    def test_fixed_items_target_price_wins(self) -> None:
        o = order(item("prod_a", 2000, 2), item("prod_b", 3000, 1))
        v = voucher("F", fixed(1500, E.APPLY_TO_ITEMS), only(target("prod_a", price=1200)))
        assert item_discounts(run(o, v)) == [1600, 0]

    def test_default_effect_is_items_when_targets_exist(self) -> None:
        v = voucher("A", amount_off(500), only(target("prod_b")))
        result = run(CART, v)
        assert item_discounts(result) == [0, 500, 0]
        assert result.redeemables[0].discount is not None
        assert result.redeemables[0].discount.effect is E.APPLY_TO_ITEMS

    def test_initial_amount_mode_uses_original_line_amount(self) -> None:
        o = order(item("prod_a", 10000))
        first = voucher("A", amount_off(5000, E.APPLY_TO_ITEMS))
        second = voucher("P", percent_off(10, E.APPLY_TO_ITEMS))
        discounted = run(o, first, second)
        assert item_discounts(discounted) == [5500]
        initial = run(
            o,
            first,
            second,
            stacking=StackingRules(
                applicable_redeemables_per_category_limit=30,
                discount_calculation_mode=CalculationMode.INITIAL_AMOUNT,
            ),
        )
        assert item_discounts(initial) == [6000]


class TestUnitEffects:
    def test_add_missing_when_already_in_cart(self) -> None:
        # 1 free T-shirt, cart already has 1 -> nothing added, that unit discounted.
        o = order(item("prod_tshirt", 2500, 1))
        d = Discount(
            type=DiscountType.UNIT,
            effect=E.ADD_MISSING_ITEMS,
            units=(UnitSpec(1, "prod_tshirt", price=2500),),
        )
        result = run(o, voucher("U", d))
        line = result.order.items[0]
        assert (line.quantity, line.initial_quantity, line.discount_amount) == (1, 1, 2500)
        assert line.discount_quantity == 1
        assert result.order.amount == 2500
        assert result.order.total_amount == 0

    def test_add_missing_adds_shortfall(self) -> None:
        o = order(item("prod_tshirt", 2500, 1))
        d = Discount(
            type=DiscountType.UNIT,
            effect=E.ADD_MISSING_ITEMS,
            units=(UnitSpec(3, "prod_tshirt", price=2500),),
        )
        line = run(o, voucher("U", d)).order.items[0]
        assert (line.quantity, line.initial_quantity, line.applied_quantity) == (3, 1, 2)
        assert (line.amount, line.discount_amount, line.discount_quantity) == (7500, 7500, 3)

    def test_add_new_items_always_adds(self) -> None:
        o = order(item("prod_a", 1000, 1), item("prod_mug", 800, 1))
        d = Discount(
            type=DiscountType.UNIT,
            effect=E.ADD_NEW_ITEMS,
            units=(UnitSpec(1, "prod_mug", price=800),),
        )
        result = run(o, voucher("U", d))
        assert result.order.initial_amount == 1800
        assert result.order.amount == 2600
        assert result.order.items[1].quantity == 2
        assert result.order.items[1].discount_amount == 800
        assert result.order.total_amount == 1800

    def test_add_new_items_new_line(self) -> None:
        o = order(item("prod_a", 1000, 1))
        d = Discount(
            type=DiscountType.UNIT,
            effect=E.ADD_NEW_ITEMS,
            units=(UnitSpec(2, "prod_gift", price=300),),
        )
        result = run(o, voucher("U", d))
        new = result.order.items[1]
        assert (new.index, new.product_id, new.quantity, new.initial_quantity) == (
            1,
            "prod_gift",
            2,
            0,
        )
        assert (new.amount, new.discount_amount, new.subtotal_amount) == (600, 600, 0)
        assert result.order.total_amount == 1000

    def test_add_many_items_reference_example(self) -> None:
        # ADD_MANY_ITEMS: initial 6000, amount 9100, items_discount 6000, total 3100.
        o = order(item("prod_a", 2900, 1), item("prod_b", 3100, 1))
        d = Discount(
            type=DiscountType.UNIT,
            effect=E.ADD_MANY_ITEMS,
            units=(
                UnitSpec(1, "prod_a", price=2900, effect=E.ADD_MISSING_ITEMS),
                UnitSpec(1, "prod_b", price=3100, effect=E.ADD_NEW_ITEMS),
            ),
        )
        result = run(o, voucher("U", d))
        assert result.order.initial_amount == 6000
        assert result.order.amount == 9100
        assert result.order.items_discount_amount == 6000
        assert result.order.total_amount == 3100

    def test_free_shipping(self) -> None:
        o = order(item("prod_a", 1000), item(SHIPPING_PRODUCT_ID, 500))
        result = run(o, voucher("S", Discount(type=DiscountType.SHIPPING)))
        assert item_discounts(result) == [0, 500]
        assert result.order.total_amount == 1000


class TestRunningOrder:
    def test_cumulative_snapshots_and_applied_parts(self) -> None:
        # discount_amount grows 100 -> 40080 -> 48080 across three redeemables.
        o = order(amount=100000)
        result = run(
            o,
            voucher("A", amount_off(100)),
            voucher("B", amount_off(39980)),
            voucher("C", amount_off(8000)),
        )
        running = [r.order.discount_amount for r in result.redeemables]
        applied = [r.order.applied_discount_amount for r in result.redeemables]
        assert running == [100, 40080, 48080]
        assert applied == [100, 39980, 8000]
        assert result.order.applied_discount_amount == 48080
        assert result.order.total_amount == 51920

    def test_item_applied_vs_cumulative(self) -> None:
        o = order(item("prod_a", 10000))
        result = run(
            o,
            voucher("A", amount_off(1000, E.APPLY_TO_ITEMS)),
            voucher("B", amount_off(500, E.APPLY_TO_ITEMS)),
        )
        second = result.redeemables[1].order.items[0]
        assert (second.discount_amount, second.applied_discount_amount) == (1500, 500)
        assert result.redeemables[1].order.items_applied_discount_amount == 500
        assert result.order.items[0].applied_discount_amount == 1500
        assert result.redeemables[0].status is RedeemableStatus.APPLICABLE

    def test_category_hierarchy_sorting_changes_base(self) -> None:
        from app.engine import Category

        o = order(amount=10000)
        pct = voucher("P", percent_off(10), categories=(Category("cat_b", hierarchy=2),))
        amt = voucher("A", amount_off(5000), categories=(Category("cat_a", hierarchy=1),))
        rs = StackingRules(redeemables_sorting_rule=SortingRule.CATEGORY_HIERARCHY)
        result = run(o, pct, amt, stacking=rs)
        assert [r.id for r in result.redeemables] == ["A", "P"]
        assert result.order.discount_amount == 5500
        assert run(o, pct, amt).order.discount_amount == 6000
        assert Decimal(10) == result.redeemables[1].discount.percent_off  # type: ignore[union-attr]
