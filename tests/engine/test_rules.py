"""Validation rules: operators, logic, rule names, messages (reference §2.7)."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from engine_factories import NOW, amount_off, item, order, rules, run, voucher

from app.engine import (
    Customer,
    Mode,
    RedeemableInput,
    RedeemableState,
    RedeemableStatus,
    Rule,
    TargetObject,
)
from app.engine.compile import CompileError, compile_redeemable
from app.engine.rules import (
    MAX_LOGIC_DEPTH,
    RuleCompileError,
    condition_problems,
    parse_logic,
)

CUSTOMER = Customer(
    id="cust_1",
    metadata={
        "age": "9",
        "vip": True,
        "city": "Berlin",
        "tags": ["a", "b", "c"],
        "birthday": "2026-11-20",
        "joined": "2026-11-01T10:00:00Z",
        "renewal": "2026-11-25T10:00:00Z",
    },
    segment_ids=frozenset({"seg_vip"}),
    loyalty_tier_ids=frozenset({"ltr_gold"}),
)
CART = order(
    item("prod_a", 1000, 2, collections=("col_x",), metadata={"color": "red"}),
    item("prod_b", 3000, 1, metadata={"color": "blue"}),
    metadata={"channel": "web", "count": 100},
)


def verdict(rule: Rule, o: Any = CART, customer: Customer | None = CUSTOMER, **kw: Any) -> bool:
    v = voucher("V", amount_off(100), rules(rule))
    result = run(o, v, customer=customer, **kw)
    return result.redeemables[0].status is RedeemableStatus.APPLICABLE


def meta(prop: str, **cond: Any) -> Rule:
    return Rule("customer.metadata", {f"${k}": v for k, v in cond.items()}, property=prop)


class TestOperators:
    @pytest.mark.parametrize(
        ("prop", "op", "values", "expected"),
        [
            ("age", "is", ["9"], True),
            ("age", "is", [9], True),
            ("age", "is_not", [9], False),
            ("city", "in", ["Paris", "Berlin"], True),
            ("city", "not_in", ["Paris", "Berlin"], False),
            # numbers compare as numbers: "9" < 100 (a string compare would say otherwise)
            ("age", "less_than", [100], True),
            ("age", "less_than_or_equal", [9], True),
            ("age", "more_than", [10], False),
            ("age", "more_than_or_equal", [9], True),
            ("age", "greater_than_or_equal", [10], False),
            ("city", "starts_with", ["Ber"], True),
            ("city", "ends_with", ["lin"], True),
            ("city", "contains", ["rli"], True),
            ("tags", "contains", ["b"], True),
            ("tags", "count", [3], True),
            ("tags", "count_more", [3], False),
            ("tags", "count_less", [4], True),
            ("city", "has_value", [], True),
            ("missing", "is_unknown", [], True),
            ("missing", "has_value", [], False),
            ("vip", "is", [True], True),
            # dates compare as dates
            ("birthday", "before", ["2026-11-21"], True),
            ("birthday", "after", ["2026-11-21T00:00:00+00:00"], False),
            ("joined", "more_than_ago", [20], True),
            ("joined", "less_than_ago", [20], False),
            ("birthday", "is_days_ago", [2], True),
            ("renewal", "is_days_in_future", [3], True),
            ("renewal", "more_than_future", [2], True),
            ("missing", "more_than", [1], False),
        ],
    )
    def test_condition(self, prop: str, op: str, values: list[Any], expected: bool) -> None:
        assert verdict(meta(prop, **{op: values})) is expected

    def test_several_operators_all_hold(self) -> None:
        assert verdict(meta("age", more_than=[5], less_than=[10]))
        assert not verdict(meta("age", more_than=[5], less_than=[8]))

    def test_time_operators_use_request_time(self) -> None:
        # NOW is Sunday 2026-11-22 12:00 UTC.
        assert verdict(Rule("redemption.metadata", {"$dow": [0]}, property="x"))
        assert not verdict(Rule("redemption.metadata", {"$dow": [1, 2]}, property="x"))
        assert verdict(
            Rule("redemption.metadata", {"$timeframe_daily_hours": ["11:00;13:00;0"]}, property="x")
        )
        assert not verdict(
            Rule("redemption.metadata", {"$timeframe_daily_hours": ["13:00;14:00;0"]}, property="x")
        )
        assert verdict(
            Rule(
                "redemption.metadata",
                {"$timeframe_absolute": ["2026-11-22T00:00:00Z;2026-11-23T00:00:00Z"]},
                property="x",
            )
        )
        assert verdict(
            Rule(
                "redemption.metadata",
                {"$timeframe": ["2026-11-01T11:00:00Z;P1D;PT2H"]},
                property="x",
            )
        )
        assert not verdict(
            Rule(
                "redemption.metadata",
                {"$timeframe": ["2026-11-01T13:00:00Z;P1D;PT2H"]},
                property="x",
            )
        )

    def test_unknown_operator_is_a_compile_error(self) -> None:
        with pytest.raises(CompileError):
            compile_redeemable(voucher("V", None, rules(meta("age", bogus=[1]))))


class TestLogic:
    def test_parse_shapes(self) -> None:
        assert parse_logic("1 and (2 or 3)", "123") == (
            "and",
            [("rule", "1"), ("or", [("rule", "2"), ("rule", "3")])],
        )
        assert parse_logic("1 OR 2 and 3", "123") == (
            "or",
            [("rule", "1"), ("and", [("rule", "2"), ("rule", "3")])],
        )

    @pytest.mark.parametrize("bad", ["1 and", "(1 or 2", "1 2", "__import__('os')", "4", ""])
    def test_rejects_malformed(self, bad: str) -> None:
        with pytest.raises(RuleCompileError):
            parse_logic(bad, "123")

    def test_nesting_is_bounded_not_recursed(self) -> None:
        deepest = "(" * MAX_LOGIC_DEPTH + "1" + ")" * MAX_LOGIC_DEPTH
        assert parse_logic(deepest, "1") == ("rule", "1")
        for depth in (MAX_LOGIC_DEPTH + 1, 5000):
            with pytest.raises(RuleCompileError, match="at most 32 levels"):
                parse_logic("(" * depth + "1" + ")" * depth, "1")

    def test_long_flat_expressions_parse(self) -> None:
        ast = parse_logic(" or ".join(["1"] * 5000), "1")
        assert ast[0] == "or" and len(ast[1]) == 5000

    @pytest.mark.parametrize(
        ("logic", "expected"),
        [("1 and 2", False), ("1 or 2", True), ("(1 and 2) or 3", True), ("2 and (1 or 3)", False)],
    )
    def test_evaluates(self, logic: str, expected: bool) -> None:
        yes, no = meta("age", is_=[9]), meta("age", is_=[1])
        yes = Rule("customer.metadata", {"$is": [9]}, property="age")
        no = Rule("customer.metadata", {"$is": [1]}, property="age")
        v = voucher("V", amount_off(100), rules(yes, no, yes, logic=logic))
        result = run(CART, v, customer=CUSTOMER)
        assert (result.redeemables[0].status is RedeemableStatus.APPLICABLE) is expected


class TestRuleNames:
    def test_customer_segment_and_tier(self) -> None:
        assert verdict(Rule("customer.segment", {"$is": ["seg_vip"]}))
        assert not verdict(Rule("customer.segment", {"$in": ["seg_other"]}))
        assert verdict(Rule("customer.segment", {"$is_not": ["seg_other"]}))
        assert verdict(Rule("customer.loyalty.tier", {"$in": ["ltr_gold", "ltr_silver"]}))

    def test_order_amounts(self) -> None:
        assert verdict(Rule("order.amount", {"$more_than_or_equal": [5000]}))
        assert not verdict(Rule("order.amount", {"$more_than": [5000]}))
        assert verdict(Rule("order.initial_amount", {"$is": [5000]}))
        assert verdict(Rule("order.total_amount", {"$is": [4900]}))  # after this 100 off
        assert verdict(Rule("order.items.count", {"$is": [2]}))
        assert verdict(Rule("order.metadata", {"$is": ["web"]}, property="channel"))
        assert verdict(Rule("order.metadata", {"$more_than": ["99"]}, property="count"))

    def test_order_amount_sees_the_running_total(self) -> None:
        first = voucher("A", amount_off(1000))
        second = voucher(
            "B", amount_off(100), rules(Rule("order.amount", {"$more_than_or_equal": [5000]}))
        )
        initial = voucher(
            "C",
            amount_off(100),
            rules(Rule("order.initial_amount", {"$more_than_or_equal": [5000]})),
        )
        result = run(CART, first, second, initial)
        assert [r.status.value for r in result.redeemables] == [
            "APPLICABLE",
            "INAPPLICABLE",
            "SKIPPED",
        ]

    def test_items_price_and_metadata_any_each(self) -> None:
        assert verdict(Rule("order.items.price_any", {"$more_than": [2000]}))
        assert not verdict(Rule("order.items.price_each", {"$more_than": [2000]}))
        assert verdict(Rule("order.items.metadata_any", {"$is": ["red"]}, property="color"))
        assert not verdict(Rule("order.items.metadata_each", {"$is": ["red"]}, property="color"))

    def test_items_any_every_none_with_sub_rules(self) -> None:
        ref = {"id": "prod_a", "object": "product"}
        qty3 = Rule("order.items.quantity", {"$more_than_or_equal": [3]})
        qty2 = Rule("order.items.quantity", {"$is": [2]})
        agg = Rule("order.items.aggregated_amount", {"$is": [2000]})
        price = Rule("order.items.price", {"$less_than": [1500]})
        md = Rule("order.items.metadata", {"$is": ["red"]}, property="color")
        assert verdict(Rule("order.items.any", {"$is": [ref]}, rules=(qty2, agg, price, md)))
        assert not verdict(Rule("order.items.any", {"$is": [ref]}, rules=(qty3,)))
        assert verdict(Rule("order.items.any", {"$is": [ref]}, rules=(qty3, agg), logic="1 or 2"))
        assert not verdict(Rule("order.items.every", {"$is": [ref]}))
        assert verdict(Rule("order.items.every", {"$is": ["prod_a", "prod_b"]}))
        assert verdict(Rule("order.items.none", {"$is": ["prod_zzz"]}))
        assert not verdict(Rule("order.items.none", {"$is": [ref]}))
        coll = {"id": "col_x", "object": TargetObject.PRODUCTS_COLLECTION.value}
        assert verdict(Rule("order.items.any", {"$from": [coll]}))
        aggq = Rule("order.items.aggregated_quantity", {"$more_than_or_equal": [3]})
        assert verdict(Rule("order.items.any", {"$is": ["prod_a", "prod_b"]}, rules=(aggq,)))

    def test_cheapest_and_most_expensive(self) -> None:
        assert verdict(Rule("order.items.cheapest", {"$is": ["prod_a"]}))
        assert verdict(
            Rule(
                "order.items.most_expensive",
                {"$is": ["prod_b"]},
                rules=(Rule("order.items.price", {"$is": [3000]}),),
            )
        )
        assert not verdict(Rule("order.items.most_expensive", {"$is": ["prod_a"]}))

    def test_redemption_metadata_and_holder(self) -> None:
        rule = Rule("redemption.metadata", {"$is": ["pos"]}, property="channel")
        v = voucher("V", amount_off(100), rules(rule))
        assert run(CART, v, redemption_metadata={"channel": "pos"}).valid
        assert not run(CART, v, redemption_metadata={"channel": "web"}).valid
        holder = voucher(
            "H", amount_off(100), rules(Rule("publication.redeemable_by_linked_customer", {}))
        )
        mine = RedeemableInput(holder, RedeemableState(holder_id="cust_1"))
        theirs = RedeemableInput(holder, RedeemableState(holder_id="cust_2"))
        assert run(CART, mine, customer=CUSTOMER).valid
        reason = run(CART, theirs, customer=CUSTOMER).redeemables[0].reason
        assert reason is not None and reason.code == "customer_rules_violated"

    def test_counters_count_this_redemption(self) -> None:
        rule = Rule("redemption.count.per_customer", {"$less_than_or_equal": [1]})
        v = voucher("V", amount_off(100), rules(rule))
        first = RedeemableInput(v, RedeemableState(counters={}))
        second = RedeemableInput(v, RedeemableState(counters={"redemption.count.per_customer": 1}))
        assert run(CART, first, customer=CUSTOMER).valid
        reason = run(CART, second, customer=CUSTOMER).redeemables[0].reason
        assert reason is not None and reason.code == "redemption_rules_violated"
        # qualification ignores per-customer and budget counters
        assert run(CART, second, customer=CUSTOMER, mode=Mode.QUALIFY).valid

    def test_campaign_budget_amount_discounted(self) -> None:
        rule = Rule("campaign.orders.amount_discounted", {"$less_than_or_equal": [10000]})
        v = voucher("V", amount_off(500), rules(rule))
        ok = RedeemableInput(
            v, RedeemableState(counters={"campaign.orders.amount_discounted": 9500})
        )
        over = RedeemableInput(
            v, RedeemableState(counters={"campaign.orders.amount_discounted": 9501})
        )
        assert run(CART, ok).valid
        assert not run(CART, over).valid
        assert run(CART, over, mode=Mode.QUALIFY).valid

    def test_unsupported_rule_fails_closed(self) -> None:
        assert not verdict(Rule("redemption.api_key", {"$is": ["k"]}))


class TestReasons:
    def test_failing_rule_message_wins(self) -> None:
        r1 = Rule("customer.segment", {"$is": ["seg_vip"]})
        r2 = Rule("order.amount", {"$more_than": [99999]}, error_message="Spend more")
        v = voucher("V", amount_off(100), rules(r1, r2, id="val_9", message="Set message"))
        reason = run(CART, v, customer=CUSTOMER).redeemables[0].reason
        assert reason is not None
        assert (reason.code, reason.message, reason.validation_rule_id, reason.rule_path) == (
            "order_rules_violated",
            "Spend more",
            "val_9",
            "2",
        )

    def test_rule_set_message_then_standard(self) -> None:
        r1 = Rule("customer.segment", {"$is": ["seg_none"]})
        v = voucher("V", amount_off(100), rules(r1, message="CUSTOMER NOT IN SEGMENT"))
        reason = run(CART, v, customer=CUSTOMER).redeemables[0].reason
        assert reason is not None
        assert (reason.code, reason.message) == (
            "customer_rules_violated",
            "CUSTOMER NOT IN SEGMENT",
        )
        v = voucher("V", amount_off(100), rules(r1))
        reason = run(CART, v, customer=CUSTOMER).redeemables[0].reason
        assert reason is not None
        assert reason.message == "customer does not match validation rules"

    def test_nested_rule_path(self) -> None:
        inner = Rule("order.amount", {"$more_than": [99999]}, error_message="inner")
        outer = Rule("order.items.count", {"$more_than": [0]}, rules=(inner,))
        v = voucher("V", amount_off(100), rules(outer))
        reason = run(CART, v).redeemables[0].reason
        assert reason is not None
        assert (reason.rule_path, reason.message) == ("1.1", "inner")

    def test_missing_customer(self) -> None:
        v = voucher("V", amount_off(100), rules(Rule("customer.segment", {"$is": ["seg_vip"]})))
        reason = run(CART, v, customer=None).redeemables[0].reason
        assert reason is not None and reason.code == "missing_customer"


def test_now_is_aware() -> None:
    assert NOW.tzinfo is UTC and NOW + timedelta(0) == datetime(2026, 11, 22, 12, tzinfo=UTC)


class TestLegacyAndGiftRules:
    def test_legacy_product_rules(self) -> None:
        qty = Rule("product.quantity", {"$more_than_or_equal": [2]})
        assert verdict(Rule("product.id", {"$is": ["prod_a"]}, rules=(qty,)))
        assert not verdict(Rule("product.id", {"$is": ["prod_b"]}, rules=(qty,)))
        assert not verdict(Rule("sku.id", {"$is": ["sku_x"]}))

    def test_redemption_gift_amount(self) -> None:
        from engine_factories import gift_card

        rule = Rule("redemption.gift.amount", {"$less_than_or_equal": [2000]})
        card = gift_card(balance=5000, credits=2500, validation_rules=(rules(rule),))
        reason = run(order(amount=10000), card).redeemables[0].reason
        assert reason is not None and reason.code == "redemption_rules_violated"
        card = gift_card(balance=5000, credits=2000, validation_rules=(rules(rule),))
        assert run(order(amount=10000), card).valid
        default = gift_card(balance=1500, validation_rules=(rules(rule),))
        assert run(order(amount=10000), default).valid


def test_not_contain() -> None:
    assert verdict(meta("city", not_contain=["xyz"]))
    assert not verdict(meta("city", not_contain=["erl"]))


JAN, FEB, HOURS = "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z", "$timeframe_daily_hours"


class TestConditionProblems:
    """What saving a rule refuses: operands that could never match the property."""

    @pytest.mark.parametrize(
        ("name", "conditions"),
        [
            ("order.amount", {"$more_than": [5000]}),
            ("order.amount", {"$more_than": ["5000"], "$less_than": [9000.5]}),
            ("order.amount", {"$is": [1, 2], "$has_value": []}),
            ("order.items.count", {"$in": [1, 2, 3]}),
            ("customer.segment", {"$in": ["seg_a", {"id": "seg_b"}]}),
            ("customer.metadata", {"$more_than": ["2026-01-01"], "$is": ["x", 1, True]}),
            ("customer.metadata", {"$count_more": [2], "$more_than_ago": [30]}),
            ("order.metadata", {"$timeframe": ["2026-01-01T18:00:00Z;P1D;PT2H"]}),
            ("order.metadata", {"$timeframe_absolute": [f"{JAN};{FEB}"]}),
            ("order.metadata", {"$timeframe_daily_hours": ["18:00;20:30;1,2"], "$dow": [0, 6]}),
            ("order.items.any", {"$is": ["prod_a", {"object": "sku", "source_id": "s"}]}),
            ("product.id", {"$in": [{"id": "prod_a"}]}),
        ],
    )
    def test_accepts(self, name: str, conditions: dict[str, Any]) -> None:
        assert condition_problems(name, conditions) == []

    @pytest.mark.parametrize(
        ("name", "conditions", "operator"),
        [
            ("order.amount", {"$more_than": ["abc"]}, "$more_than"),
            ("order.amount", {"$more_than": []}, "$more_than"),
            ("order.amount", {"$more_than": [1, 2]}, "$more_than"),
            ("order.amount", {"$is": [float("nan")]}, "$is"),
            ("order.amount", {"$is": []}, "$is"),
            ("order.amount", {"$contains": ["5"]}, "$contains"),
            ("order.amount", {"$count": [1]}, "$count"),
            ("order.amount", {"$is_days_ago": [1]}, "$is_days_ago"),
            ("redemption.count.per_customer", {"$less_than": [True]}, "$less_than"),
            ("order.items.quantity", {"$is": ["two"]}, "$is"),
            ("customer.segment", {"$more_than": [1]}, "$more_than"),
            ("customer.metadata", {"$more_than": ["cheap"]}, "$more_than"),
            ("customer.metadata", {"$is": [{"a": {"b": 1}}]}, "$is"),
            ("customer.metadata", {"$count": [-1]}, "$count"),
            ("customer.metadata", {"$starts_with": [""]}, "$starts_with"),
            ("order.metadata", {"$timeframe": ["2026-01-01;P1D"]}, "$timeframe"),
            ("order.metadata", {"$timeframe": ["2026-01-01T00:00:00Z;1 day;PT1H"]}, "$timeframe"),
            ("order.metadata", {"$timeframe_absolute": [f"{FEB};{JAN}"]}, "$timeframe_absolute"),
            ("order.metadata", {HOURS: ["25:00;26:00"]}, HOURS),
            ("order.metadata", {HOURS: ["18:00;20:00;9"]}, HOURS),
            ("order.metadata", {"$dow": [7]}, "$dow"),
            ("order.metadata", {"$bogus": [1]}, "$bogus"),
            ("order.items.any", {"$more_than": [1]}, "$more_than"),
            ("order.items.any", {"$is": [{"object": "shelf", "id": "x"}]}, "$is"),
            ("order.items.any", {"$is": [{"object": "product"}]}, "$is"),
            ("order.items.any", {"$is": []}, "$is"),
        ],
    )
    def test_refuses(self, name: str, conditions: dict[str, Any], operator: str) -> None:
        problems = condition_problems(name, conditions)
        assert [op for op, _ in problems] == [operator]
        assert all(message for _, message in problems)
