"""The largest amount (2^53 - 1) and the helpers services use to hold every amount to it."""

from __future__ import annotations

import pytest
from engine_factories import item, order, run, voucher

from app.engine import Discount, DiscountEffect, DiscountType, UnitSpec, money
from app.engine.money import (
    MAX_AMOUNT,
    calculation_too_large,
    first_too_large,
    fits,
    line_amounts,
)


class TestFits:
    def test_the_limit_is_the_largest_exact_double_integer(self) -> None:
        assert MAX_AMOUNT == 9_007_199_254_740_991 == 2**53 - 1
        assert float(MAX_AMOUNT) == MAX_AMOUNT  # exact as a JSON / JavaScript number
        assert float(MAX_AMOUNT + 2) != MAX_AMOUNT + 2  # the first integer that is not

    @pytest.mark.parametrize(
        ("value", "expected"),
        [(0, True), (MAX_AMOUNT, True), (-MAX_AMOUNT, True), (MAX_AMOUNT + 1, False),
         (-MAX_AMOUNT - 1, False), (10**30, False), (2_147_483_648, True)],
    )
    def test_fits(self, value: int, expected: bool) -> None:
        assert fits(value) is expected

    def test_first_too_large_skips_none_and_names_the_first(self) -> None:
        assert first_too_large([("a", None), ("b", 5), ("c", MAX_AMOUNT)]) is None
        assert first_too_large([("a", 1), ("b", MAX_AMOUNT + 1), ("c", -2**60)]) == "b"
        assert first_too_large([]) is None

    def test_message(self) -> None:
        assert money.too_large_message("the balance") == (
            "the balance is beyond the largest amount, 9,007,199,254,740,991 minor units "
            "(2^53 - 1)"
        )


class TestLineAmounts:
    def test_within(self) -> None:
        assert line_amounts([(2, 2_000_000_000, None), (1, None, 7)], None) is None
        assert line_amounts([(1, MAX_AMOUNT, None)], MAX_AMOUNT) is None

    @pytest.mark.parametrize(
        ("lines", "amount", "where"),
        [
            ([(1, MAX_AMOUNT + 1, None)], None, (0, "price")),
            ([(1, 5, None), (1, None, MAX_AMOUNT + 1)], None, (1, "amount")),
            ([(2, 2**52, None)], None, (0, "")),  # price × quantity
            ([(1, 2**52, None), (1, 2**52, None)], None, (None, "items")),  # the sum
            ([(1, None, MAX_AMOUNT), (1, None, 1)], 10, (None, "items")),  # given amount
            ([(1, 5, None)], MAX_AMOUNT + 1, (None, "amount")),
            ([(3, None, 2**52)], None, None),  # a line's amount wins over price × quantity
        ],
    )
    def test_beyond(self, lines, amount, where) -> None:  # type: ignore[no-untyped-def]
        assert line_amounts(lines, amount) == where

    def test_a_line_wins_over_the_sum(self) -> None:
        assert line_amounts([(1, 2**52, None), (3, 2**52, None)], None) == (1, "")


class TestCalculation:
    def test_an_evaluated_order_near_the_limit_fits(self) -> None:
        result = run(order(item("prod_a", MAX_AMOUNT - 1000), item("prod_b", 1000)),
                     voucher("A", Discount(type=DiscountType.AMOUNT, amount_off=500)))
        assert result.order.amount == MAX_AMOUNT
        assert result.order.total_amount == MAX_AMOUNT - 500
        assert calculation_too_large(result.order) is None

    def test_free_units_beyond_the_limit_are_found(self) -> None:
        result = run(
            order(item("prod_big", 2**52), item("prod_b", 2**52 - 1)),
            voucher("U", Discount(type=DiscountType.UNIT, effect=DiscountEffect.ADD_NEW_ITEMS,
                                  units=(UnitSpec(1, "prod_big", price=2**52),))),
        )
        assert result.order.amount == 2**53 - 1 + 2**52
        assert calculation_too_large(result.order) == (0, "amount")

    def test_an_order_level_amount(self) -> None:
        result = run(order(item("prod_a", 10), amount=MAX_AMOUNT + 1),
                     voucher("A", Discount(type=DiscountType.AMOUNT, amount_off=500)))
        assert calculation_too_large(result.order) == (None, "amount")
