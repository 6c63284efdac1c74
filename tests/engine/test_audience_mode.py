"""AUDIENCE mode (qualification's AUDIENCE_ONLY): only customer rules decide."""

from __future__ import annotations

from app.engine import Customer, Mode, RedeemableStatus, Rule
from tests.engine.engine_factories import amount_off, item, order, rules, run, voucher

BIG_CART = Rule("order.amount", {"$more_than": [100_000]})
VIP = Rule("customer.metadata", {"$is": ["gold"]}, property="tier")


def test_cart_rules_are_treated_as_met_but_customer_rules_decide() -> None:
    promo = voucher("VIP", amount_off(500), rules(BIG_CART, VIP, logic="1 and 2"))
    gold = Customer(id="cust_1", metadata={"tier": "gold"})
    silver = Customer(id="cust_2", metadata={"tier": "silver"})
    small = order(item(price=1000))

    audience_gold = run(small, promo, customer=gold, mode=Mode.AUDIENCE)
    assert audience_gold.redeemables[0].status is RedeemableStatus.APPLICABLE

    audience_silver = run(small, promo, customer=silver, mode=Mode.AUDIENCE)
    assert audience_silver.redeemables[0].status is RedeemableStatus.INAPPLICABLE
    assert audience_silver.redeemables[0].reason.code == "customer_rules_violated"  # type: ignore[union-attr]

    qualify_gold = run(small, promo, customer=gold, mode=Mode.QUALIFY)
    assert qualify_gold.redeemables[0].status is RedeemableStatus.INAPPLICABLE
    assert qualify_gold.redeemables[0].reason.code == "order_rules_violated"  # type: ignore[union-attr]


def test_audience_without_customer_misses_customer_rules() -> None:
    promo = voucher("VIP", amount_off(500), rules(VIP))
    result = run(order(item()), promo, mode=Mode.AUDIENCE)
    assert result.redeemables[0].status is RedeemableStatus.INAPPLICABLE
    assert result.redeemables[0].reason.code == "missing_customer"  # type: ignore[union-attr]
