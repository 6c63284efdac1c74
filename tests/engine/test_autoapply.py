"""Automatic promotions added to a sent stack (engine.evaluate_auto)."""

from typing import Any

from engine_factories import amount_off, order, percent_off, request, rules, tier, voucher

from app.engine import (
    ApplicationMode,
    Category,
    CategoryType,
    Rule,
    SortingRule,
    StackingRules,
    evaluate_auto,
)

ORDER = order(amount=10000)
FAIL = rules(Rule("order.amount", {"$more_than": [999999]}))


def sr(**kw: Any) -> StackingRules:
    kw.setdefault("applicable_redeemables_per_category_limit", 30)
    return StackingRules(**kw)


def shown(result: Any) -> list[str]:
    return [f"{r.id}:{r.status.value}" + (":auto" if r.auto_applied else "")
            for r in result.redeemables]


def auto(*rs: Any, sent: int, **kw: Any) -> Any:
    return evaluate_auto(request(ORDER, *rs, **kw), sent)


class TestKept:
    def test_applicable_candidates_follow_the_sent_ones(self) -> None:
        result = auto(voucher("C", amount_off(1000)), tier("T1", percent_off(10)),
                      tier("T2", amount_off(300)), sent=1)
        assert shown(result) == ["C:APPLICABLE", "T1:APPLICABLE:auto", "T2:APPLICABLE:auto"]
        # 10000 - 1000 = 9000; 10 % of it = 900; then 300
        assert result.order.total_discount_amount == 2200
        assert result.order.total_amount == 7800
        assert result.valid

    def test_nothing_sent(self) -> None:
        result = auto(tier("T1", amount_off(250)), sent=0)
        assert shown(result) == ["T1:APPLICABLE:auto"]
        assert result.order.total_amount == 9750

    def test_nothing_sent_nothing_kept_is_an_empty_valid_answer(self) -> None:
        result = auto(tier("T1", amount_off(250), FAIL), sent=0)
        assert (result.valid, result.redeemables) == (True, ())
        assert (result.order.amount, result.order.total_amount) == (10000, 10000)


class TestDropped:
    def test_a_candidate_that_fails_in_the_stack_is_dropped_not_the_rest(self) -> None:
        # ALL mode: a failing candidate would skip everything after it; it alone goes.
        result = auto(voucher("C", amount_off(100)), tier("BAD", amount_off(1), FAIL),
                      tier("T2", amount_off(300)), sent=1,
                      stacking=sr(redeemables_application_mode=ApplicationMode.ALL))
        assert shown(result) == ["C:APPLICABLE", "T2:APPLICABLE:auto"]
        assert result.order.total_discount_amount == 400

    def test_applicable_limit_keeps_the_best_first(self) -> None:
        result = auto(voucher("C", amount_off(100)), tier("T1", amount_off(700)),
                      tier("T2", amount_off(500)), tier("T3", amount_off(300)), sent=1,
                      stacking=sr(applicable_redeemables_limit=2))
        assert shown(result) == ["C:APPLICABLE", "T1:APPLICABLE:auto"]
        assert result.order.total_discount_amount == 800

    def test_redeemables_limit_counts_the_sent_ones(self) -> None:
        result = auto(voucher("C", amount_off(100)), tier("T1", amount_off(700)),
                      tier("T2", amount_off(500)), sent=1, stacking=sr(redeemables_limit=2))
        assert shown(result) == ["C:APPLICABLE", "T1:APPLICABLE:auto"]

    def test_an_exclusive_candidate_never_displaces_a_sent_redeemable(self) -> None:
        never = tier("N", amount_off(5000),
                     categories=(Category("cat_x", 1, CategoryType.EXCLUSIVE),))
        result = auto(voucher("C", amount_off(100)), never, tier("T", amount_off(200)), sent=1)
        assert shown(result) == ["C:APPLICABLE", "T:APPLICABLE:auto"]
        assert result.order.total_discount_amount == 300

    def test_an_exclusive_candidate_alone_wins_over_common_candidates(self) -> None:
        never = tier("N", amount_off(5000),
                     categories=(Category("cat_x", 1, CategoryType.EXCLUSIVE),))
        result = auto(never, tier("T", amount_off(200)), sent=0)
        assert shown(result) == ["N:APPLICABLE:auto"]
        assert result.order.total_amount == 5000

    def test_a_candidate_sorted_ahead_may_not_take_a_sent_ones_place(self) -> None:
        # Category hierarchy sorts the candidate first; with one applicable slot the sent
        # coupon would lose it, so the candidate is not added.
        first = tier("T", amount_off(900), categories=(Category("cat_a", 1),))
        sent = voucher("C", amount_off(100), categories=(Category("cat_b", 5),))
        result = auto(sent, first, sent=1, stacking=sr(
            applicable_redeemables_limit=1,
            redeemables_sorting_rule=SortingRule.CATEGORY_HIERARCHY))
        assert shown(result) == ["C:APPLICABLE"]
        assert result.order.total_discount_amount == 100

    def test_a_failing_sent_redeemable_is_answered_as_without_candidates(self) -> None:
        result = auto(voucher("C", amount_off(100), FAIL), tier("T", amount_off(200)), sent=1,
                      stacking=sr(redeemables_application_mode=ApplicationMode.ALL))
        assert shown(result) == ["C:INAPPLICABLE"]
        assert not result.valid

    def test_a_dropped_candidate_makes_room_for_the_next(self) -> None:
        result = auto(voucher("C", amount_off(100)), tier("F1", amount_off(900), FAIL),
                      tier("F2", amount_off(800), FAIL), tier("T3", amount_off(700)),
                      tier("T4", amount_off(600)), tier("T5", amount_off(500)), sent=1,
                      stacking=sr(applicable_redeemables_limit=3))
        assert shown(result) == ["C:APPLICABLE", "T3:APPLICABLE:auto", "T4:APPLICABLE:auto"]
        assert result.order.total_discount_amount == 1400
