"""Stacking rules (reference §4.3, §4.5, §13)."""

from typing import Any

import pytest
from engine_factories import (
    amount_off,
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
    ApplicationMode,
    Category,
    CategoryType,
    DiscountEffect,
    NoEffectRule,
    Redeemable,
    RedeemableObject,
    RedeemableStatus,
    RequestError,
    Rule,
    StackingRules,
)

ORDER = order(amount=10000)
FAIL = rules(Rule("order.amount", {"$more_than": [999999]}))


def statuses(result: Any) -> list[str]:
    return [
        f"{r.id}:{r.status.value}" + (f":{r.reason.code}" if r.reason else "")
        for r in result.redeemables
    ]


def sr(**kw: Any) -> StackingRules:
    kw.setdefault("applicable_redeemables_per_category_limit", 30)
    return StackingRules(**kw)


def cat(ident: str, kind: CategoryType | None = None, hierarchy: int = 1) -> tuple[Category, ...]:
    return (Category(ident, hierarchy, kind),)


class TestRequestErrors:
    def test_too_many(self) -> None:
        vs = [voucher(f"V{i}", amount_off(1)) for i in range(3)]
        with pytest.raises(RequestError) as err:
            run(ORDER, *vs, stacking=sr(redeemables_limit=2))
        assert err.value.code == "too_many_redeemables"

    def test_duplicates(self) -> None:
        with pytest.raises(RequestError) as err:
            run(ORDER, voucher("V", amount_off(1)), voucher("V", amount_off(1)))
        assert err.value.code == "duplicated_redeemables"

    def test_promotion_stack_alone(self) -> None:
        stack = Redeemable(
            RedeemableObject.PROMOTION_STACK, "stack_1", tiers=(tier("promo_1", amount_off(100)),)
        )
        with pytest.raises(RequestError) as err:
            run(ORDER, stack, voucher("V", amount_off(1)))
        assert err.value.code == "invalid_redeemables"

    def test_promotion_stack_expands_into_its_tiers(self) -> None:
        stack = Redeemable(
            RedeemableObject.PROMOTION_STACK,
            "stack_1",
            tiers=(tier("promo_1", amount_off(1000)), tier("promo_2", percent_off(10))),
        )
        result = run(ORDER, stack)
        assert statuses(result) == ["promo_1:APPLICABLE", "promo_2:APPLICABLE"]
        assert result.order.discount_amount == 1900


class TestLimits:
    def test_applicable_limit(self) -> None:
        vs = [voucher(f"V{i}", amount_off(100)) for i in range(3)]
        result = run(ORDER, *vs, stacking=sr(applicable_redeemables_limit=2))
        assert statuses(result)[2] == "V2:SKIPPED:applicable_redeemables_limit_exceeded"
        assert result.valid
        assert result.order.discount_amount == 200

    def test_per_category_limit_and_override(self) -> None:
        a = voucher("A", amount_off(100), categories=cat("cat_1"))
        b = voucher("B", amount_off(100), categories=cat("cat_1"))
        result = run(ORDER, a, b, stacking=StackingRules())
        assert statuses(result) == [
            "A:APPLICABLE",
            "B:SKIPPED:applicable_redeemables_per_category_limit_exceeded",
        ]
        result = run(
            ORDER, a, b, stacking=StackingRules(applicable_redeemables_category_limits={"cat_1": 2})
        )
        assert statuses(result) == ["A:APPLICABLE", "B:APPLICABLE"]


class TestExclusivity:
    def test_never_stackable_beats_common_regardless_of_order(self) -> None:
        common = voucher("C", amount_off(100))
        never = voucher("N", amount_off(500), categories=cat("cat_x", CategoryType.EXCLUSIVE))
        result = run(ORDER, common, never)
        assert statuses(result) == ["C:SKIPPED:exclusion_rules_not_met", "N:APPLICABLE"]
        assert result.order.discount_amount == 500
        result = run(ORDER, never, common)
        assert statuses(result) == ["N:APPLICABLE", "C:SKIPPED:exclusion_rules_not_met"]

    def test_exclusive_categories_from_stacking_rules(self) -> None:
        common = voucher("C", amount_off(100))
        never = voucher("N", amount_off(500), categories=cat("cat_x"))
        result = run(ORDER, common, never, stacking=sr(exclusive_categories=frozenset({"cat_x"})))
        assert statuses(result) == ["C:SKIPPED:exclusion_rules_not_met", "N:APPLICABLE"]

    def test_never_plus_never_subject_to_exclusive_limits(self) -> None:
        n1 = voucher("N1", amount_off(100), categories=cat("cat_x", CategoryType.EXCLUSIVE))
        n2 = voucher("N2", amount_off(100), categories=cat("cat_y", CategoryType.EXCLUSIVE))
        assert statuses(run(ORDER, n1, n2)) == [
            "N1:APPLICABLE",
            "N2:SKIPPED:applicable_exclusive_redeemables_limit_exceeded",
        ]
        assert statuses(
            run(ORDER, n1, n2, stacking=sr(applicable_exclusive_redeemables_limit=2))
        ) == [
            "N1:APPLICABLE",
            "N2:APPLICABLE",
        ]
        n3 = voucher("N3", amount_off(100), categories=cat("cat_x", CategoryType.EXCLUSIVE))
        assert statuses(
            run(ORDER, n1, n3, stacking=sr(applicable_exclusive_redeemables_limit=2))
        ) == [
            "N1:APPLICABLE",
            "N3:SKIPPED:applicable_exclusive_redeemables_per_category_limit_exceeded",
        ]

    def test_always_stackable_joins_everything(self) -> None:
        never = voucher("N", amount_off(100), categories=cat("cat_x", CategoryType.EXCLUSIVE))
        always = voucher("A", amount_off(100), categories=cat("cat_j", CategoryType.JOINT))
        common = voucher("C", amount_off(100))
        assert statuses(run(ORDER, never, always)) == ["N:APPLICABLE", "A:APPLICABLE"]
        assert statuses(run(ORDER, common, always)) == ["C:APPLICABLE", "A:APPLICABLE"]
        assert statuses(run(ORDER, always, common, never)) == [
            "A:APPLICABLE",
            "C:SKIPPED:exclusion_rules_not_met",
            "N:APPLICABLE",
        ]


class TestApplicationMode:
    def test_all_mode_voids_the_request(self) -> None:
        result = run(
            ORDER,
            voucher("A", amount_off(100)),
            voucher("B", amount_off(100), FAIL),
            voucher("C", amount_off(100)),
        )
        assert statuses(result) == [
            "A:APPLICABLE",
            "B:INAPPLICABLE:order_rules_violated",
            "C:SKIPPED:preceding_validation_failed",
        ]
        assert not result.valid
        assert result.order.total_discount_amount == 0
        assert result.order.total_amount == 10000

    def test_partial_mode_applies_the_valid_ones(self) -> None:
        result = run(
            ORDER,
            voucher("A", amount_off(100)),
            voucher("B", amount_off(100), FAIL),
            voucher("C", amount_off(100)),
            stacking=sr(redeemables_application_mode=ApplicationMode.PARTIAL),
        )
        assert statuses(result) == [
            "A:APPLICABLE",
            "B:INAPPLICABLE:order_rules_violated",
            "C:APPLICABLE",
        ]
        assert not result.valid
        assert result.order.discount_amount == 200
        assert [r.id for r in result.inapplicable_redeemables] == ["B"]


class TestNoEffect:
    def test_skip_and_redeem_anyway(self) -> None:
        o = order(item("prod_a", 1000))
        useless = voucher(
            "U",
            amount_off(100, DiscountEffect.APPLY_TO_ITEMS),
            only(target("prod_zzz")),
            categories=cat("cat_n"),
        )
        assert statuses(run(o, useless)) == ["U:APPLICABLE"]
        assert statuses(
            run(o, useless, stacking=sr(redeemables_no_effect_rule=NoEffectRule.SKIP))
        ) == ["U:SKIPPED:no_effect"]
        assert statuses(
            run(o, useless, stacking=sr(no_effect_skip_categories=frozenset({"cat_n"})))
        ) == ["U:SKIPPED:no_effect"]
        assert statuses(
            run(
                o,
                useless,
                stacking=sr(
                    redeemables_no_effect_rule=NoEffectRule.SKIP,
                    no_effect_redeem_anyway_categories=frozenset({"cat_n"}),
                ),
            )
        ) == ["U:APPLICABLE"]
        assert run(o, useless).redeemables[0].status is RedeemableStatus.APPLICABLE


class TestExclusivityAgainstLimits:
    def test_never_stackable_wins_even_when_commons_used_the_limit(self) -> None:
        common = voucher("C", amount_off(100))
        never = voucher("N", amount_off(500), categories=cat("cat_x", CategoryType.EXCLUSIVE))
        result = run(ORDER, common, never, stacking=sr(applicable_redeemables_limit=1))
        assert statuses(result) == ["C:SKIPPED:exclusion_rules_not_met", "N:APPLICABLE"]

    def test_common_stays_when_the_never_stackable_has_no_effect_and_is_skipped(self) -> None:
        o = order(item("prod_a", 1000))
        common = voucher("C", amount_off(100))
        never = voucher(
            "N",
            amount_off(500, DiscountEffect.APPLY_TO_ITEMS),
            only(target("prod_zzz")),
            categories=cat("cat_x", CategoryType.EXCLUSIVE),
        )
        result = run(o, common, never, stacking=sr(redeemables_no_effect_rule=NoEffectRule.SKIP))
        assert statuses(result) == ["C:APPLICABLE", "N:SKIPPED:no_effect"]

    def test_hierarchy_sorting_ties_keep_request_order(self) -> None:
        from app.engine import SortingRule

        a = voucher("A", amount_off(1), categories=cat("cat_a", hierarchy=2))
        b = voucher("B", amount_off(1), categories=cat("cat_b", hierarchy=1))
        c = voucher("C", amount_off(1), categories=cat("cat_c", hierarchy=2))
        d = voucher("D", amount_off(1))
        rs = sr(redeemables_sorting_rule=SortingRule.CATEGORY_HIERARCHY)
        assert [r.id for r in run(ORDER, d, a, b, c, stacking=rs).redeemables] == [
            "B",
            "A",
            "C",
            "D",
        ]
