"""Invariants checked with hypothesis: caps, exact splits, non-negative totals, determinism,
and qualification independence."""

from decimal import Decimal

from engine_factories import NOW, gift_card, only, request, target, voucher
from hypothesis import given, settings
from hypothesis import strategies as st

from app.engine import (
    ApplicationMode,
    ApplicationRule,
    CalculationMode,
    Discount,
    DiscountEffect,
    DiscountType,
    Mode,
    Order,
    OrderItem,
    ProductsApplicationMode,
    Redeemable,
    RedeemableInput,
    RedeemableStatus,
    StackingRules,
    TargetUnit,
    UnitSpec,
    compile_redeemable,
    evaluate,
)
from app.engine.money import split_capped, split_largest_remainder

SETTINGS = settings(max_examples=200, deadline=None)
PRODUCTS = ["prod_a", "prod_b", "prod_c", "prod_d"]
E = DiscountEffect

items_st = st.lists(
    st.builds(
        OrderItem,
        quantity=st.integers(1, 5),
        price=st.integers(0, 10000),
        product_id=st.sampled_from(PRODUCTS),
    ),
    min_size=1,
    max_size=6,
)
orders_st = st.builds(
    lambda items, override: Order(items=tuple(items), amount=override),
    items_st,
    st.one_of(st.none(), st.integers(0, 50000)),
)

discount_st = st.one_of(
    st.builds(
        lambda off, eff, agg: Discount(
            DiscountType.AMOUNT, eff, amount_off=off, aggregated_amount_limit=agg
        ),
        st.integers(0, 20000),
        st.sampled_from(
            [
                E.APPLY_TO_ORDER,
                E.APPLY_TO_ITEMS,
                E.APPLY_TO_ITEMS_PROPORTIONALLY,
                E.APPLY_TO_ITEMS_PROPORTIONALLY_BY_QUANTITY,
                E.APPLY_TO_ITEMS_BY_QUANTITY,
            ]
        ),
        st.one_of(st.none(), st.integers(0, 5000)),
    ),
    st.builds(
        lambda pct, eff, lim: Discount(
            DiscountType.PERCENT, eff, percent_off=Decimal(pct), amount_limit=lim
        ),
        st.integers(0, 100),
        st.sampled_from([E.APPLY_TO_ORDER, E.APPLY_TO_ITEMS]),
        st.one_of(st.none(), st.integers(0, 5000)),
    ),
    st.builds(
        lambda amt, eff: Discount(DiscountType.FIXED, eff, fixed_amount=amt),
        st.integers(0, 20000),
        st.sampled_from([E.APPLY_TO_ORDER, E.APPLY_TO_ITEMS]),
    ),
    st.builds(
        lambda n, eff, product: Discount(
            DiscountType.UNIT, eff, units=(UnitSpec(n, product, price=700),)
        ),
        st.integers(1, 3),
        st.sampled_from([E.ADD_MISSING_ITEMS, E.ADD_NEW_ITEMS]),
        st.sampled_from(PRODUCTS),
    ),
)
target_st = st.builds(
    lambda p, rule, unit, q, skip, rep: target(
        p, effect=rule, target=unit, quantity_limit=q, skip_initially=skip, repeat=rep
    ),
    st.sampled_from(PRODUCTS),
    st.sampled_from(list(ApplicationRule)),
    st.sampled_from(list(TargetUnit)),
    st.one_of(st.none(), st.integers(1, 3)),
    st.integers(0, 2),
    st.integers(1, 3),
)


@st.composite
def redeemables_st(draw: st.DrawFn, n: int = 4) -> list[Redeemable]:
    count = draw(st.integers(1, n))
    out = []
    for i in range(count):
        d = draw(discount_st)
        targets = draw(st.lists(target_st, max_size=2))
        vrules = (only(*targets),) if targets else ()
        out.append(voucher(f"V{i}", d, *vrules))
    return out


stacking_st = st.builds(
    lambda mode, calc, prod: StackingRules(
        applicable_redeemables_per_category_limit=30,
        redeemables_application_mode=mode,
        discount_calculation_mode=calc,
        redeemables_products_application_mode=prod,
    ),
    st.sampled_from(list(ApplicationMode)),
    st.sampled_from(list(CalculationMode)),
    st.sampled_from(list(ProductsApplicationMode)),
)


@SETTINGS
@given(st.integers(0, 10**9), st.lists(st.integers(0, 10**6), min_size=1, max_size=12))
def test_largest_remainder_sums_to_whole(total: int, weights: list[int]) -> None:
    parts = split_largest_remainder(total, weights)
    assert sum(parts) == total
    assert all(p >= 0 for p in parts)


@SETTINGS
@given(
    st.integers(0, 10**6),
    st.lists(st.tuples(st.integers(0, 1000), st.integers(0, 10**5)), min_size=1, max_size=8),
)
def test_capped_split_respects_caps(total: int, pairs: list[tuple[int, int]]) -> None:
    weights, caps = [w for w, _ in pairs], [c for _, c in pairs]
    parts = split_capped(total, weights, caps)
    assert sum(parts) == min(total, sum(caps))
    assert all(0 <= p <= c for p, c in zip(parts, caps, strict=True))


@SETTINGS
@given(orders_st, redeemables_st(), stacking_st)
def test_totals_and_discounts_stay_within_their_bases(
    o: Order, rs: list[Redeemable], rules: StackingRules
) -> None:
    result = evaluate(request(o, *rs, stacking=rules))
    for calc in [result.order, *(r.order for r in result.redeemables)]:
        assert calc.total_amount >= 0
        assert calc.total_amount == max(0, calc.amount - calc.total_discount_amount)
        assert calc.total_discount_amount <= calc.amount
        assert calc.items_discount_amount == sum(i.discount_amount for i in calc.items)
        for line in calc.items:
            assert 0 <= line.discount_amount <= line.amount
            assert line.subtotal_amount == line.amount - line.discount_amount
    assert (
        result.order.total_applied_discount_amount
        == sum(
            r.order.total_applied_discount_amount
            for r in result.redeemables
            if r.status is RedeemableStatus.APPLICABLE
        )
        or not result.valid
    )


@SETTINGS
@given(orders_st, st.integers(0, 20000), st.integers(1, 6))
def test_proportional_parts_sum_to_the_discount(o: Order, amount: int, _: int) -> None:
    d = Discount(DiscountType.AMOUNT, E.APPLY_TO_ITEMS_PROPORTIONALLY, amount_off=amount)
    result = evaluate(request(o, voucher("P", d)))
    subtotal = sum(i.amount for i in result.order.items)
    applied = result.order.items_discount_amount
    expected = min(amount, subtotal, result.order.amount)
    assert applied == expected


@SETTINGS
@given(orders_st, redeemables_st(), stacking_st)
def test_same_input_same_output(o: Order, rs: list[Redeemable], rules: StackingRules) -> None:
    req = request(o, *rs, stacking=rules)
    compiled = request(o, *(compile_redeemable(r) for r in rs), stacking=rules)  # type: ignore[arg-type]
    assert evaluate(req) == evaluate(req) == evaluate(compiled)


@SETTINGS
@given(orders_st, redeemables_st(n=5), st.integers(0, 20000))
def test_qualification_verdicts_are_independent(
    o: Order, rs: list[Redeemable], credits: int
) -> None:
    inputs: list[RedeemableInput] = [RedeemableInput(r) for r in rs]
    inputs.append(gift_card(balance=credits))
    together = evaluate(request(o, *inputs, mode=Mode.QUALIFY)).redeemables
    for candidate, result in zip(inputs, together, strict=True):
        alone = evaluate(request(o, candidate, mode=Mode.QUALIFY)).redeemables[0]
        assert alone == result


def test_now_fixture_is_stable() -> None:
    assert NOW.isoformat() == "2026-11-22T12:00:00+00:00"


@SETTINGS
@given(
    orders_st,
    st.integers(0, 20000),
    st.one_of(st.none(), st.integers(0, 20000)),
    st.integers(0, 2000),
    st.one_of(st.none(), st.integers(0, 2000)),
)
def test_gift_and_points_never_exceed_balance_or_remaining_total(
    o: Order, balance: int, credits: int | None, points_balance: int, points: int | None
) -> None:
    from app.engine import PayWithPoints, RedeemableKind, RedeemableObject, RedeemableState

    card = Redeemable(RedeemableObject.VOUCHER, "LOYAL", kind=RedeemableKind.LOYALTY_CARD)
    loyalty = RedeemableInput(
        card,
        RedeemableState(loyalty_balance=points_balance),
        reward=PayWithPoints("rew", points_ratio=100, exchange_ratio=Decimal(20), points=points),
    )
    gift = gift_card(balance=balance, credits=credits)
    rules = StackingRules(redeemables_application_mode=ApplicationMode.PARTIAL)
    result = evaluate(request(o, gift, loyalty, stacking=rules))
    before = result.order.amount
    for r in result.redeemables:
        if r.status is not RedeemableStatus.APPLICABLE:
            continue
        applied = r.order.applied_discount_amount
        assert 0 <= applied <= before
        before -= applied
        if r.gift is not None:
            assert r.gift.credits == applied <= balance
        if r.loyalty_card is not None:
            assert r.loyalty_card.points <= points_balance
            assert r.loyalty_card.amount == applied
            assert applied <= r.loyalty_card.points * 20
    assert result.order.total_amount >= 0
