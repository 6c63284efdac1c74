"""Existing orders, bundle limits, shipping, category kinds and unknown stacks (reference §3.1,
§3.5, §4.3, §4.4)."""

from typing import Any

import pytest
from engine_factories import (
    amount_off,
    gift_card,
    item,
    only,
    order,
    percent_off,
    rules,
    run,
    target,
    tier,
    voucher,
)

from app.engine import (
    BundleItem,
    BundleRules,
    CalculationMode,
    Category,
    CategoryType,
    Discount,
    DiscountEffect,
    DiscountType,
    NoEffectRule,
    OrderItem,
    ProductsApplicationMode,
    Redeemable,
    RedeemableObject,
    RedeemableStatus,
    Rule,
    StackingRules,
    TargetObject,
    UnitSpec,
)
from app.engine.model import SHIPPING_PRODUCT_ID

E = DiscountEffect


def statuses(result: Any) -> list[str]:
    return [
        f"{r.id}:{r.status.value}" + (f":{r.reason.code}" if r.reason else "")
        for r in result.redeemables
    ]


def discounted(
    product: str, price: int, qty: int = 1, *, previous: int = 0, previous_qty: int = 0
) -> OrderItem:
    return OrderItem(
        quantity=qty,
        price=price,
        product_id=product,
        previous_discount_amount=previous,
        previous_discount_quantity=previous_qty,
    )


class TestExistingOrder:
    def test_reference_example_second_coupon_gets_what_is_left(self) -> None:
        # §4.4: order 10000 with 9200 already discounted; a new 1000 coupon applies 800.
        o = order(item("prod_a", 10000), previous_discount_amount=9200)
        result = run(o, voucher("SECOND", amount_off(1000)))
        calc = result.order
        assert (calc.discount_amount, calc.applied_discount_amount) == (10000, 800)
        assert (calc.total_discount_amount, calc.total_applied_discount_amount) == (10000, 800)
        assert calc.total_amount == 0
        assert result.redeemables[0].discount is not None
        assert result.redeemables[0].discount.applied_amount == 800

    def test_percent_base_is_what_is_left_in_discounted_mode(self) -> None:
        o = order(item("prod_a", 10000), previous_discount_amount=2000)
        assert run(o, voucher("P", percent_off(10))).order.applied_discount_amount == 800
        initial = StackingRules(discount_calculation_mode=CalculationMode.INITIAL_AMOUNT)
        assert (
            run(o, voucher("P", percent_off(10)), stacking=initial).order.applied_discount_amount
            == 1000
        )

    def test_item_discounts_accumulate_per_line(self) -> None:
        o = order(discounted("prod_a", 10000, previous=3000, previous_qty=1), item("prod_b", 5000))
        v = voucher("I", amount_off(8000, E.APPLY_TO_ITEMS), only(target("prod_a")))
        calc = run(o, v).order
        line = calc.items[0]
        assert (line.discount_amount, line.applied_discount_amount, line.subtotal_amount) == (
            10000,
            7000,
            0,
        )
        assert (line.discount_quantity, line.applied_discount_quantity) == (2, 1)
        assert (calc.items_discount_amount, calc.items_applied_discount_amount) == (10000, 7000)
        assert (calc.total_discount_amount, calc.total_amount) == (10000, 5000)

    def test_order_level_coupon_sees_earlier_item_discounts(self) -> None:
        o = order(discounted("prod_a", 10000, previous=4000), item("prod_b", 5000))
        calc = run(o, voucher("O", amount_off(20000))).order
        assert (calc.applied_discount_amount, calc.total_discount_amount, calc.total_amount) == (
            11000,
            15000,
            0,
        )
        assert calc.items[0].discount_amount == 4000 and calc.items[0].applied_discount_amount == 0

    def test_gift_card_pays_only_what_is_left(self) -> None:
        o = order(item("prod_a", 10000), previous_discount_amount=7000)
        result = run(o, gift_card(balance=5000))
        assert result.redeemables[0].gift is not None
        assert result.redeemables[0].gift.credits == 3000
        assert result.order.total_amount == 0

    def test_once_mode_leaves_lines_discounted_earlier(self) -> None:
        o = order(discounted("prod_a", 10000, previous=1000), item("prod_b", 5000))
        once = StackingRules(redeemables_products_application_mode=ProductsApplicationMode.ONCE)
        calc = run(o, voucher("I", percent_off(10, E.APPLY_TO_ITEMS)), stacking=once).order
        assert [i.applied_discount_amount for i in calc.items] == [0, 500]

    def test_fully_discounted_order_has_nothing_left(self) -> None:
        o = order(item("prod_a", 10000), previous_discount_amount=10000)
        skip = StackingRules(redeemables_no_effect_rule=NoEffectRule.SKIP)
        assert statuses(run(o, voucher("X", amount_off(100)), stacking=skip)) == [
            "X:SKIPPED:no_effect"
        ]


LAPTOP_BAG = BundleRules(
    items=(
        BundleItem(TargetObject.PRODUCT, "prod_laptop", 1),
        BundleItem(TargetObject.PRODUCT, "prod_bag", 1),
    ),
    limit=2,
)


def bundle_cart(laptops: int = 2, bags: int = 2, mice: int = 3) -> Any:
    return order(
        item("prod_laptop", 300000, laptops),
        item("prod_bag", 10000, bags),
        item("prod_mouse", 5000, mice),
    )


def mouse_deal(**target_kw: Any) -> Redeemable:
    applicable = only(target("prod_mouse", **target_kw)).applicable_to
    return voucher(
        "MOUSE",
        amount_off(2000, E.APPLY_TO_ITEMS_BY_QUANTITY),
        rules(bundle_rules=LAPTOP_BAG, applicable_to=applicable),
    )


class TestBundleLimits:
    def test_issue_reproducer_quantity_limit_times_bundles(self) -> None:
        # Laptop + Bag (limit 2); cart 2 laptops, 2 bags, 3 mice; 2000 per mouse, 1 mouse
        # per bundle: two bundles -> two mice -> 4000.
        result = run(bundle_cart(), mouse_deal(quantity_limit=1))
        assert result.redeemables[0].bundle is not None
        assert result.redeemables[0].bundle.quantity == 2
        assert [i.discount_amount for i in result.order.items] == [0, 0, 4000]
        assert result.order.items[2].discount_quantity == 2

    def test_one_bundle_keeps_the_limit(self) -> None:
        result = run(bundle_cart(laptops=1), mouse_deal(quantity_limit=1))
        assert [i.discount_amount for i in result.order.items] == [0, 0, 2000]

    def test_explicit_limit_replaces_the_one_unit_per_bundle_default(self) -> None:
        # quantityLimit 2 per bundle: 2 bundles -> up to 4 mice, the cart has 3.
        assert run(bundle_cart(), mouse_deal(quantity_limit=2)).order.items[2].discount_amount == (
            6000
        )
        # default without an explicit limit: one unit per bundle
        assert run(bundle_cart(), mouse_deal()).order.items[2].discount_amount == 4000

    def test_aggregated_quantity_and_amount_limits_multiplied(self) -> None:
        assert (
            run(bundle_cart(), mouse_deal(aggregated_quantity_limit=1))
            .order.items[2]
            .discount_amount
            == 4000
        )
        assert (
            run(bundle_cart(mice=5), mouse_deal(quantity_limit=5, amount_limit=3000))
            .order.items[2]
            .discount_amount
            == 6000
        )
        assert (
            run(bundle_cart(mice=5), mouse_deal(quantity_limit=5, aggregated_amount_limit=2500))
            .order.items[2]
            .discount_amount
            == 5000
        )

    def test_discount_aggregated_limit_multiplied_for_per_unit_effect(self) -> None:
        applicable = only(target("prod_mouse", quantity_limit=3)).applicable_to
        v = voucher(
            "M",
            amount_off(2000, E.APPLY_TO_ITEMS_BY_QUANTITY, aggregated_amount_limit=1500),
            rules(bundle_rules=LAPTOP_BAG, applicable_to=applicable),
        )
        assert run(bundle_cart(), v).order.items[2].discount_amount == 3000


def shipping_line(price: int, qty: int = 1) -> OrderItem:
    return OrderItem(quantity=qty, price=price, product_id=SHIPPING_PRODUCT_ID)


FREE_SHIPPING = Discount(  # the reference's "Free shipping" (§3.1)
    type=DiscountType.UNIT,
    effect=E.ADD_MISSING_ITEMS,
    units=(UnitSpec(1, SHIPPING_PRODUCT_ID),),
)


class TestShipping:
    @pytest.mark.parametrize("discount", [FREE_SHIPPING, Discount(type=DiscountType.SHIPPING)])
    def test_free_shipping_discounts_the_shipping_line(self, discount: Discount) -> None:
        o = order(item("prod_a", 10000), shipping_line(1500))
        result = run(o, voucher("SHIP", discount))
        calc = result.order
        assert [(i.product_id, i.discount_amount, i.discount_quantity) for i in calc.items] == [
            ("prod_a", 0, 0),
            (SHIPPING_PRODUCT_ID, 1500, 1),
        ]
        assert (calc.amount, calc.items_discount_amount, calc.total_amount) == (11500, 1500, 10000)
        d = result.redeemables[0].discount
        assert d is not None and (d.unit_off, d.unit_type, d.applied_amount) == (
            1,
            SHIPPING_PRODUCT_ID,
            1500,
        )

    def test_reference_promotion_free_shipping_over_100(self) -> None:
        # "Add products worth $100+ to get Free Shipping": UNIT prod_5h1pp1ng on a tier with
        # an order.amount rule; the shipping line counts toward the amount like any line.
        over_100 = rules(Rule("order.amount", {"$more_than_or_equal": [10000]}), id="val_100")
        promo = tier("promo_ship", FREE_SHIPPING, over_100)
        small = run(order(item("prod_a", 8000), shipping_line(1000)), promo)
        assert statuses(small) == ["promo_ship:INAPPLICABLE:order_rules_violated"]
        big = run(order(item("prod_a", 12000), shipping_line(999)), promo)
        assert big.order.items[1].discount_amount == 999 and big.order.total_amount == 12000

    def test_no_shipping_line_nothing_to_discount_and_nothing_added(self) -> None:
        o = order(item("prod_a", 10000))
        result = run(o, voucher("SHIP", Discount(type=DiscountType.SHIPPING)))
        assert len(result.order.items) == 1 and result.order.total_discount_amount == 0
        skip = StackingRules(redeemables_no_effect_rule=NoEffectRule.SKIP)
        assert statuses(
            run(o, voucher("SHIP", Discount(type=DiscountType.SHIPPING)), stacking=skip)
        ) == ["SHIP:SKIPPED:no_effect"]

    def test_one_unit_of_two_shipments(self) -> None:
        result = run(order(shipping_line(700, qty=2)), voucher("SHIP", FREE_SHIPPING))
        assert result.order.items[0].discount_amount == 700
        assert result.order.total_amount == 700

    def test_free_shipping_stacks_with_an_order_coupon(self) -> None:
        o = order(item("prod_a", 10000), shipping_line(1500))
        result = run(o, voucher("TEN", amount_off(1000)), voucher("SHIP", FREE_SHIPPING))
        assert [r.order.total_applied_discount_amount for r in result.redeemables] == [1000, 1500]
        assert result.order.total_amount == 9000

    def test_shipping_already_free_on_an_existing_order(self) -> None:
        o = order(
            item("prod_a", 10000),
            OrderItem(
                quantity=1,
                price=1500,
                product_id=SHIPPING_PRODUCT_ID,
                previous_discount_amount=1500,
            ),
        )
        result = run(o, voucher("SHIP", FREE_SHIPPING))
        assert result.order.items[1].applied_discount_amount == 0
        assert result.order.total_amount == 10000


KINDS = {"common": None, "joint": CategoryType.JOINT, "exclusive": CategoryType.EXCLUSIVE}


def kind_of(name: str, suffix: str) -> tuple[Category, ...]:
    return (Category(f"cat_{name}_{suffix}", 1, KINDS[name]),)


class TestCategoryKinds:
    # reference §4.3: Common+Common, Common+Always, Never+Always, Always+Always stack; Common +
    # Never do not (Never wins in any order); Never+Never subject to the exclusive limits.
    @pytest.mark.parametrize(
        ("first", "second", "expected"),
        [
            ("common", "common", ["A:APPLICABLE", "B:APPLICABLE"]),
            ("common", "joint", ["A:APPLICABLE", "B:APPLICABLE"]),
            ("joint", "common", ["A:APPLICABLE", "B:APPLICABLE"]),
            ("common", "exclusive", ["A:SKIPPED:exclusion_rules_not_met", "B:APPLICABLE"]),
            ("exclusive", "common", ["A:APPLICABLE", "B:SKIPPED:exclusion_rules_not_met"]),
            ("joint", "exclusive", ["A:APPLICABLE", "B:APPLICABLE"]),
            ("exclusive", "joint", ["A:APPLICABLE", "B:APPLICABLE"]),
            ("joint", "joint", ["A:APPLICABLE", "B:APPLICABLE"]),
            (
                "exclusive",
                "exclusive",
                ["A:APPLICABLE", "B:SKIPPED:applicable_exclusive_redeemables_limit_exceeded"],
            ),
        ],
    )
    def test_pairs(self, first: str, second: str, expected: list[str]) -> None:
        a = voucher("A", amount_off(100), categories=kind_of(first, "a"))
        b = voucher("B", amount_off(100), categories=kind_of(second, "b"))
        assert statuses(run(order(amount=10000), a, b)) == expected

    def test_exclusive_pair_within_a_raised_exclusive_limit(self) -> None:
        a = voucher("A", amount_off(100), categories=kind_of("exclusive", "a"))
        b = voucher("B", amount_off(100), categories=kind_of("exclusive", "b"))
        rs = StackingRules(
            applicable_redeemables_per_category_limit=30, applicable_exclusive_redeemables_limit=2
        )
        assert statuses(run(order(amount=10000), a, b, stacking=rs)) == [
            "A:APPLICABLE",
            "B:APPLICABLE",
        ]


class TestUnknownStack:
    def test_unknown_promotion_stack_is_not_found(self) -> None:
        ghost = Redeemable(RedeemableObject.PROMOTION_STACK, "stack_nope", found=False)
        result = run(order(amount=10000), ghost)
        assert result.valid is False
        assert statuses(result) == ["stack_nope:INAPPLICABLE:not_found"]
        reason = result.redeemables[0].reason
        assert (
            reason is not None
            and reason.details == "Cannot find promotion stack with id stack_nope"
        )
        assert result.redeemables[0].object is RedeemableObject.PROMOTION_STACK
        assert result.redeemables[0].status is RedeemableStatus.INAPPLICABLE
        assert result.order.total_discount_amount == 0
