"""Targets (included / excluded / included_all) and application rules (reference §3.2, §3.4)."""

from engine_factories import (
    amount_off,
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
    ApplicationRule,
    DiscountEffect,
    ProductsApplicationMode,
    StackingRules,
    TargetObject,
    TargetUnit,
)

E = DiscountEffect
R = ApplicationRule
# T-shirt $20 x3, Poster $15 x5, Mug $10 x2
CART = order(
    item("prod_tshirt", 2000, 3, collections=("col_x",)),
    item("prod_poster", 1500, 5, collections=("col_x",)),
    item("prod_mug", 1000, 2),
)


def half_off(*targets: object, **kw: object) -> list[int]:
    v = voucher("P", percent_off(50, E.APPLY_TO_ITEMS), only(*targets, **kw))  # type: ignore[arg-type]
    return item_discounts(run(CART, v))


def per_unit(amount: int, *targets: object) -> list[int]:
    v = voucher("Q", amount_off(amount, E.APPLY_TO_ITEMS_BY_QUANTITY), only(*targets))  # type: ignore[arg-type]
    return item_discounts(run(CART, v))


def col(**kw: object) -> object:
    return target("col_x", TargetObject.PRODUCTS_COLLECTION, **kw)


def everything(**kw: object) -> tuple[object, ...]:
    return (
        target("prod_tshirt", **kw),
        target("prod_poster", **kw),
        target("prod_mug", **kw),
    )


class TestMatching:
    def test_product_target(self) -> None:
        assert half_off(target("prod_poster")) == [0, 3750, 0]

    def test_collection_target(self) -> None:
        assert half_off(col()) == [3000, 3750, 0]

    def test_excluded_wins_over_included(self) -> None:
        assert half_off(col(), excluded=(target("prod_poster"),)) == [3000, 0, 0]

    def test_included_all_minus_excluded(self) -> None:
        assert half_off(excluded=(target("prod_mug"),), all_=True) == [3000, 3750, 0]

    def test_sku_target_and_product_covers_skus(self) -> None:
        o = order(item("prod_a", 1000, sku="sku_red"), item("prod_a", 1000, sku="sku_blue"))
        sku_only = voucher(
            "P", percent_off(10, E.APPLY_TO_ITEMS), only(target("sku_red", TargetObject.SKU))
        )
        assert item_discounts(run(o, sku_only)) == [100, 0]
        product = voucher("P", percent_off(10, E.APPLY_TO_ITEMS), only(target("prod_a")))
        assert item_discounts(run(o, product)) == [100, 100]


class TestApplicationRules:
    def test_to_most_expensive_ranks_by_unit_price(self) -> None:
        # T-shirt $20x3 ranks above Poster $15x5 although the poster line is larger.
        one = (target("col_x", TargetObject.PRODUCTS_COLLECTION, effect=R.APPLY_TO_MOST_EXPENSIVE),)
        assert half_off(*one) == [3000, 0, 0]

    def test_to_cheapest_item_and_unit(self) -> None:
        ts = [t for t in everything(effect=R.APPLY_TO_CHEAPEST)]
        assert half_off(*ts) == [3000, 3750, 1000]  # one line per target group
        rule = target("prod_mug", effect=R.APPLY_TO_CHEAPEST, target=TargetUnit.UNIT)
        assert half_off(rule) == [0, 0, 500]

    def test_to_cheapest_across_a_collection(self) -> None:
        rule = col(effect=R.APPLY_TO_CHEAPEST)
        assert half_off(rule) == [0, 3750, 0]

    def test_from_cheapest_units_skip_and_repeat(self) -> None:
        # Units ascending: mug, mug, poster x5, t-shirt x3 (n = 1..10); skip 1, every 2nd:
        # n = 2, 4, 6, 8, 10 -> 1 mug, 2 posters, 2 t-shirts.
        from app.engine import ApplicableTo, ValidationRule

        t = target(
            "all", effect=R.APPLY_FROM_CHEAPEST, target=TargetUnit.UNIT, skip_initially=1, repeat=2
        )
        ts = (
            target(
                "col_x",
                TargetObject.PRODUCTS_COLLECTION,
                effect=R.APPLY_FROM_CHEAPEST,
                target=TargetUnit.UNIT,
                skip_initially=1,
                repeat=2,
            ),
        )
        o = order(
            item("prod_tshirt", 2000, 3, collections=("col_x",)),
            item("prod_poster", 1500, 5, collections=("col_x",)),
            item("prod_mug", 1000, 2, collections=("col_x",)),
        )
        v = voucher(
            "Q",
            amount_off(100, E.APPLY_TO_ITEMS_BY_QUANTITY),
            ValidationRule("val", applicable_to=ApplicableTo(ts)),
        )
        assert item_discounts(run(o, v)) == [200, 200, 100]
        assert t.repeat == 2

    def test_from_most_expensive_items_repeat(self) -> None:
        rule = col(effect=R.APPLY_FROM_MOST_EXPENSIVE, repeat=2)
        assert half_off(rule) == [3000, 0, 0]
        rule = col(effect=R.APPLY_FROM_MOST_EXPENSIVE, skip_initially=1)
        assert half_off(rule) == [0, 3750, 0]

    def test_quantity_limit_per_line(self) -> None:
        assert per_unit(100, *everything(quantity_limit=2)) == [200, 200, 200]

    def test_aggregated_quantity_limit_across_lines(self) -> None:
        rule = col(quantity_limit=2, aggregated_quantity_limit=3)
        assert per_unit(100, rule) == [200, 100, 0]

    def test_target_amount_limits_lowest_wins(self) -> None:
        assert half_off(*everything(amount_limit=2000)) == [2000, 2000, 1000]
        rule = col(amount_limit=2000, aggregated_amount_limit=3000)
        assert half_off(rule) == [1500, 1500, 0]

    def test_quantity_limit_reduces_percent_base(self) -> None:
        rule = target("prod_poster", quantity_limit=2)
        assert half_off(rule) == [0, 1500, 0]


class TestProductsApplicationMode:
    def test_once_skips_items_already_discounted(self) -> None:
        first = voucher("A", amount_off(500, E.APPLY_TO_ITEMS), only(target("prod_tshirt")))
        second = voucher("B", percent_off(10, E.APPLY_TO_ITEMS))
        stack = run(CART, first, second)
        assert item_discounts(stack) == [500 + 550, 750, 200]
        once = run(
            CART,
            first,
            second,
            stacking=StackingRules(
                applicable_redeemables_per_category_limit=30,
                redeemables_products_application_mode=ProductsApplicationMode.ONCE,
            ),
        )
        assert item_discounts(once) == [500, 750, 200]
