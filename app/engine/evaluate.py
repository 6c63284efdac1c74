"""The evaluation algorithm (reference §4.5): eligibility, stacking, effects, order totals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from decimal import Decimal

from app.engine import error_codes
from app.engine.bundles import evaluate_bundle
from app.engine.compile import CompiledRedeemable, compile_redeemable
from app.engine.discounts import (
    ResolvedDiscount,
    gift_items_effect,
    is_item_effect,
    items_effect,
    order_effect,
    unit_effect,
)
from app.engine.formulas import FormulaContext, MissingOperand
from app.engine.messages import message_for
from app.engine.model import (
    SHIPPING_PRODUCT_ID,
    ApplicationMode,
    BundleResult,
    CalculationMode,
    DiscountEffect,
    DiscountResult,
    DiscountType,
    EvaluationRequest,
    GiftResult,
    LoyaltyCardResult,
    Mode,
    NoEffectRule,
    OrderCalculation,
    ProductsApplicationMode,
    Reason,
    RedeemableInput,
    RedeemableKind,
    RedeemableObject,
    RedeemableResult,
    RedeemableStatus,
    StackingRules,
    StackValidation,
    UnitSpec,
)
from app.engine.money import floor_decimal, round_half_up
from app.engine.rules import RuleContext, RuleFailure, rule_area
from app.engine.stacking import (
    Stackability,
    StackCounters,
    calculation_mode,
    check_request,
    no_effect_rule,
    sort_positions,
    stackability,
)
from app.engine.state import (
    Effect,
    OrderState,
    SnapshotCache,
    apply_effect,
    item_cache,
    snapshot,
)
from app.engine.targets import ALL_ITEMS
from app.engine.values import zone


@dataclass(frozen=True, slots=True)
class _Entry:
    compiled: CompiledRedeemable
    input: RedeemableInput


@dataclass(slots=True)
class _Outcome:
    """An eligible redeemable's effect, or the reason it is inapplicable."""

    effect: Effect | None = None
    reason: Reason | None = None
    discount: DiscountResult | None = None
    gift: GiftResult | None = None
    loyalty: LoyaltyCardResult | None = None
    bundle: BundleResult | None = None


@dataclass(frozen=True, slots=True)
class _Env:
    request: EvaluationRequest
    tz: tzinfo
    now: datetime
    rules: StackingRules


def compiled_of(item: RedeemableInput) -> CompiledRedeemable:
    r = item.redeemable
    return r if isinstance(r, CompiledRedeemable) else compile_redeemable(r)


def evaluate(request: EvaluationRequest) -> StackValidation:
    """Evaluate the request's redeemables against its order (pure; raises `RequestError` for
    request-level problems in validate/redeem mode)."""
    if request.now.tzinfo is None:
        raise ValueError("EvaluationRequest.now must be timezone-aware")
    env = _Env(request, zone(request.timezone), request.now, request.stacking_rules)
    entries = [_Entry(compiled_of(item), item) for item in request.redeemables]
    if request.mode in (Mode.QUALIFY, Mode.AUDIENCE):
        return _qualify(entries, env)
    check_request([e.compiled.key for e in entries], env.rules)
    if len(entries) == 1 and entries[0].compiled.source.object is RedeemableObject.PROMOTION_STACK:
        stack = entries[0]
        if stack.compiled.source.found:
            entries = [_Entry(t, stack.input) for t in stack.compiled.tiers]
        # An unknown stack is reported as itself: INAPPLICABLE, not_found (like a code).
    return _stack(entries, env)


# ---------------------------------------------------------------------------------------------
# Stack (validate / redeem)
# ---------------------------------------------------------------------------------------------


def _stack(entries: list[_Entry], env: _Env) -> StackValidation:
    order = sort_positions([e.compiled for e in entries], env.rules)
    ordered = [entries[i] for i in order]
    excluded: set[int] = set()
    while True:
        results, final, conflict = _run(ordered, env, excluded)
        if not conflict:
            break
        # A Never-stackable redeemable applied after Common ones: the Common ones yield
        # regardless of order (reference §4.3), so run again without them.
        excluded |= conflict
    valid = all(r.status is not RedeemableStatus.INAPPLICABLE for r in results)
    return StackValidation(valid=valid, redeemables=tuple(results), order=final)


def _run(
    entries: list[_Entry], env: _Env, excluded: set[int]
) -> tuple[list[RedeemableResult], OrderCalculation, set[int]]:
    rules = env.rules
    state = OrderState.from_order(env.request.order)
    counters = StackCounters()
    results: list[RedeemableResult] = []
    failed = False
    for pos, entry in enumerate(entries):
        c = entry.compiled
        if failed and rules.redeemables_application_mode is ApplicationMode.ALL:
            results.append(_skipped(entry, state, error_codes.PRECEDING_VALIDATION_FAILED))
            continue
        if pos in excluded:
            results.append(_skipped(entry, state, error_codes.EXCLUSION_RULES_NOT_MET))
            continue
        outcome = _assess(entry, state, env)
        if outcome.reason is not None or outcome.effect is None:
            failed = True
            results.append(_inapplicable(entry, state, outcome))
            continue
        kind = stackability(c, rules)
        effect = outcome.effect
        no_effect = effect.is_empty and no_effect_rule(c, rules) is NoEffectRule.SKIP
        if (
            kind is Stackability.EXCLUSIVE
            and counters.common_positions
            and not no_effect
            and counters.exclusive_key(c, rules) is None
        ):
            # Never-stackable beats Common regardless of order (reference §4.3): run again
            # with the Common ones applied so far skipped, before any limit counts them.
            return results, snapshot(state, 0, {}), set(counters.common_positions)
        key = counters.skip_key(c, kind, rules)
        if key is not None:
            results.append(_skipped(entry, state, key))
            continue
        if no_effect:
            results.append(_skipped(entry, state, error_codes.NO_EFFECT))
            continue
        apply_effect(state, effect)
        counters.record(c, kind, pos)
        results.append(_applicable(entry, state, outcome, effect))
    if failed and rules.redeemables_application_mode is ApplicationMode.ALL:
        final = snapshot(OrderState.from_order(env.request.order), 0, {})
    else:
        final = snapshot(
            state,
            state.order_discount,
            {ln.index: ln.discount for ln in state.lines},
            item_quantities={ln.index: ln.discount_quantity for ln in state.lines},
        )
    return results, final, set()


# ---------------------------------------------------------------------------------------------
# Qualification: every candidate alone against the same order
# ---------------------------------------------------------------------------------------------


def _qualify(entries: list[_Entry], env: _Env) -> StackValidation:
    base = OrderState.from_order(env.request.order)
    cache = item_cache(base)
    untouched = snapshot(base, 0, {}, cache)  # immutable, shared by every inapplicable result
    results: list[RedeemableResult] = []
    for entry in entries:
        if entry.compiled.source.object is RedeemableObject.PROMOTION_STACK:
            results.append(_qualify_stack(entry, env))
            continue
        outcome = _assess(entry, base, env)
        if outcome.reason is not None or outcome.effect is None:
            results.append(_inapplicable(entry, base, outcome, untouched))
            continue
        state = base.fork()
        apply_effect(state, outcome.effect)
        results.append(_applicable(entry, state, outcome, outcome.effect, cache))
    valid = all(r.status is not RedeemableStatus.INAPPLICABLE for r in results)
    return StackValidation(valid=valid, redeemables=tuple(results), order=untouched)


def _qualify_stack(entry: _Entry, env: _Env) -> RedeemableResult:
    tiers = [_Entry(t, entry.input) for t in entry.compiled.tiers]
    inner = _stack(tiers, env) if tiers else None
    c = entry.compiled
    if inner is None or not inner.applicable_redeemables:
        reason = None
        if inner is not None:
            reason = next((r.reason for r in inner.redeemables if r.reason), None)
        order = inner.order if inner else snapshot(OrderState.from_order(env.request.order), 0, {})
        return RedeemableResult(
            object=c.source.object,
            id=c.source.id,
            status=RedeemableStatus.INAPPLICABLE,
            order=order,
            reason=reason or _reason(error_codes.ORDER_RULES_VIOLATED),
            campaign_id=c.source.campaign_id,
            categories=c.category_ids,
        )
    return RedeemableResult(
        object=c.source.object,
        id=c.source.id,
        status=RedeemableStatus.APPLICABLE,
        order=inner.order,
        campaign_id=c.source.campaign_id,
        categories=c.category_ids,
    )


# ---------------------------------------------------------------------------------------------
# Eligibility and effect of one redeemable against the running order
# ---------------------------------------------------------------------------------------------


def _reason(
    code: str,
    details: str | None = None,
    rule_id: str | None = None,
    path: str | None = None,
    custom: str | None = None,
) -> Reason:
    return Reason(
        code=code,
        message=custom or message_for(code),
        details=details,
        validation_rule_id=rule_id,
        rule_path=path,
    )


def _assess(entry: _Entry, state: OrderState, env: _Env) -> _Outcome:
    c, item = entry.compiled, entry.input
    r, live = c.source, item.state
    req = env.request
    tier = r.object is RedeemableObject.PROMOTION_TIER
    noun = {
        RedeemableObject.PROMOTION_TIER: "promotion tier",
        RedeemableObject.PROMOTION_STACK: "promotion stack",
    }.get(r.object, "voucher")
    if not r.found:
        return _Outcome(reason=_reason(error_codes.NOT_FOUND, f"Cannot find {noun} with id {r.id}"))
    if not r.active:
        if tier:
            return _Outcome(
                reason=_reason(error_codes.PROMOTION_INACTIVE,
                               f"Promotion Tier with id: {r.id} is disabled.")
            )
        return _Outcome(reason=_reason(error_codes.VOUCHER_DISABLED, r.id))
    window = c.validity.window(env.now)
    if window is not None:
        if tier:
            code = error_codes.PROMOTION_NOT_ACTIVE_NOW
        elif window == "expired":
            code = error_codes.VOUCHER_EXPIRED
        else:
            code = error_codes.VOUCHER_NOT_ACTIVE
        return _Outcome(reason=_reason(code, r.id))
    if not c.validity.active_now(env.now, env.tz):
        code = (error_codes.PROMOTION_NOT_ACTIVE_NOW if tier
                else error_codes.VOUCHER_NOT_ACTIVE_NOW)
        return _Outcome(reason=_reason(code, r.id))
    if r.redemption_quantity is not None and live.redeemed_quantity >= r.redemption_quantity:
        return _Outcome(reason=_reason(error_codes.QUANTITY_EXCEEDED, r.id))
    customer = req.customer
    if (
        r.is_referral_code
        and customer is not None
        and live.referrer_id is not None
        and live.referrer_id in (customer.id, customer.source_id)
    ):
        return _Outcome(reason=_reason(error_codes.REFERRER_NOT_PERMITTED_TO_REDEEM, r.id))
    if r.kind is RedeemableKind.LOYALTY_CARD:
        if live.holder_id is not None and (
            customer is None or live.holder_id not in (customer.id, customer.source_id)
        ):
            return _Outcome(reason=_reason(error_codes.INVALID_CUSTOMER, r.id))
        if item.reward is None:
            return _Outcome(reason=_reason(error_codes.MISSING_REWARD, r.id))
        if item.reward.points is not None and item.reward.points > live.loyalty_balance:
            return _Outcome(reason=_reason(error_codes.LOYALTY_CARD_POINTS_EXCEEDED, r.id))
    if (
        r.kind is RedeemableKind.GIFT_VOUCHER
        and item.gift_credits is not None
        and not 0 <= item.gift_credits <= live.gift_balance
    ):
        return _Outcome(reason=_reason(error_codes.GIFT_AMOUNT_EXCEEDED, r.id))

    mode = calculation_mode(c, env.rules)
    once = env.rules.redeemables_products_application_mode is ProductsApplicationMode.ONCE
    bundle = evaluate_bundle(c.bundle, state.lines) if c.bundle is not None else None
    memo: list[_Outcome] = []

    def compute() -> _Outcome:
        if not memo:
            memo.append(_compute(entry, state, env, mode, once, bundle))
        return memo[0]

    ctx = RuleContext(
        customer=customer,
        order_metadata=req.order.metadata,
        amount=state.total,
        initial_amount=state.initial_amount,
        lines=state.lines,
        now=env.now,
        tz=env.tz,
        mode=req.mode,
        counters=live.counters,
        redemption_metadata=req.redemption_metadata,
        holder_id=live.holder_id,
        gift_credits=(
            item.gift_credits
            if item.gift_credits is not None
            else min(live.gift_balance, state.total)
        ),
        points_used=item.reward.points if item.reward else None,
        total_after=lambda: _total_after(compute(), state),
        discount_applied=lambda: _discount_of(compute()),
    )
    for rule_set in c.rule_sets:
        failure = rule_set.evaluate(ctx)
        if failure is not None:
            return _Outcome(reason=_rule_reason(failure, rule_set.id, rule_set.error_message, r.id))
    if bundle is not None and bundle.quantity == 0:
        return _Outcome(
            reason=_reason(
                error_codes.ORDER_RULES_VIOLATED,
                "Bundle is incomplete",
                c.rule_sets[0].id if c.rule_sets else None,
            ),
            bundle=bundle,
        )
    return compute()


def _total_after(outcome: _Outcome, state: OrderState) -> int:
    return outcome.effect.total_after(state) if outcome.effect else state.total


def _discount_of(outcome: _Outcome) -> int:
    return outcome.effect.total if outcome.effect else 0


def _rule_reason(failure: RuleFailure, rule_id: str, set_message: str | None, rid: str) -> Reason:
    if failure.missing_customer:
        return _reason(error_codes.MISSING_CUSTOMER, rid, rule_id, failure.path)
    code = rule_area(failure.name)
    return _reason(
        code,
        f"Violated validation rule: {rule_id}",
        rule_id,
        failure.path,
        custom=failure.message or set_message,
    )


def _compute(
    entry: _Entry,
    state: OrderState,
    env: _Env,
    mode: CalculationMode,
    once: bool,
    bundle: BundleResult | None,
) -> _Outcome:
    c, item = entry.compiled, entry.input
    r, live = c.source, item.state
    if r.kind is RedeemableKind.GIFT_VOUCHER:
        wanted = item.gift_credits if item.gift_credits is not None else live.gift_balance
        credits = max(0, min(wanted, live.gift_balance, state.total))
        if r.gift_effect is DiscountEffect.APPLY_TO_ITEMS:
            picks = [
                p for p in (c.targets or ALL_ITEMS).picks(state.lines, once) if p.line.subtotal > 0
            ]
            if not picks:
                return _Outcome(reason=_reason(error_codes.MISSING_ORDER_ITEMS_AMOUNT, r.id))
            effect = gift_items_effect(credits, state, picks)
        else:
            effect = Effect(order_discount=credits)
        return _Outcome(
            effect=effect, gift=GiftResult(effect.total, live.gift_balance), bundle=bundle
        )
    if r.kind is RedeemableKind.LOYALTY_CARD:
        return _pay_with_points(entry, state, env, bundle)
    if r.discount is None or c.effect is None:
        return _Outcome(effect=Effect(), bundle=bundle)
    resolved = _resolve(c, item, state, env, bundle)
    if resolved.type in (DiscountType.UNIT, DiscountType.SHIPPING):
        effect = unit_effect(resolved, state)
    elif is_item_effect(resolved.effect):
        picks = (c.targets or ALL_ITEMS).picks(state.lines, once, resolved.limit_scale)
        effect = items_effect(resolved, state, picks, mode)
    else:
        effect = order_effect(resolved, state, mode)
    return _Outcome(effect=effect, discount=_discount_result(resolved, effect), bundle=bundle)


def _pay_with_points(
    entry: _Entry, state: OrderState, env: _Env, bundle: BundleResult | None
) -> _Outcome:
    reward, live = entry.input.reward, entry.input.state
    assert reward is not None
    ratio = max(1, reward.points_ratio)  # a zero ratio in stored data must not crash
    per_point = reward.exchange_ratio * env.request.currency_minor_units / ratio
    wanted = reward.points if reward.points is not None else live.loyalty_balance
    points = max(0, min(wanted, live.loyalty_balance))
    value = floor_decimal(per_point * points) if per_point > 0 else 0
    amount = min(value, state.total)
    if amount < value and per_point > 0:
        # Spend only the points the remaining total needs.
        needed = -floor_decimal(-Decimal(amount) / per_point)
        points = min(points, needed)
    effect = Effect(order_discount=amount)
    result = LoyaltyCardResult(
        points=points if amount else 0, balance=live.loyalty_balance, amount=amount
    )
    return _Outcome(effect=effect, loyalty=result, bundle=bundle)


def _formula_value(
    c: CompiledRedeemable, name: str, static: Decimal | None, ctx: Callable[[], FormulaContext]
) -> tuple[Decimal | None, bool]:
    formula = c.formulas.get(name)
    if formula is None:
        return static, False
    try:
        return formula.evaluate(ctx()), True
    except MissingOperand:
        return static, False


def _resolve(
    c: CompiledRedeemable,
    item: RedeemableInput,
    state: OrderState,
    env: _Env,
    bundle: BundleResult | None,
) -> ResolvedDiscount:
    d = c.source.discount
    assert d is not None and c.effect is not None
    req = env.request
    k = bundle.quantity if bundle is not None and c.bundle is not None else None
    cached: list[FormulaContext] = []

    def ctx() -> FormulaContext:
        if not cached:
            numbers = {
                "ORDER_AMOUNT": state.amount,
                "ORDER_TOTAL_AMOUNT": state.total,
                "ORDER_INITIAL_AMOUNT": state.initial_amount,
                "ORDER_ITEMS_QUANTITY": sum(ln.quantity for ln in state.lines),
                "ORDER_ITEMS_COUNT": len(state.lines),
            }
            if k is not None:
                numbers["BUNDLE_QUANTITY"] = k
            cached.append(
                FormulaContext(
                    numbers,
                    req.order.metadata,
                    req.customer.metadata if req.customer else {},
                    c.source.metadata,
                    req.redemption_metadata,
                )
            )
        return cached[0]

    amount, dyn_a = _formula_value(c, "amount_off", _dec(d.amount_off), ctx)
    percent, dyn_p = _formula_value(c, "percent_off", d.percent_off, ctx)
    fixed, dyn_f = _formula_value(c, "fixed_amount", _dec(d.fixed_amount), ctx)
    units = []
    dynamic = dyn_a or dyn_p or dyn_f
    specs = d.units
    if d.type is DiscountType.SHIPPING and not specs:
        specs = (UnitSpec(1, SHIPPING_PRODUCT_ID),)
    for i, unit in enumerate(specs):
        value, dyn = _formula_value(c, f"unit_off:{i}", Decimal(unit.unit_off), ctx)
        dynamic = dynamic or dyn
        units.append(_replace_units(unit, max(0, round_half_up(value or Decimal(0)))))
    amount_off = max(0, round_half_up(amount)) if amount is not None else 0
    percent_off = min(Decimal(100), max(Decimal(0), percent or Decimal(0)))
    amount_limit, aggregated = d.amount_limit, d.aggregated_amount_limit
    unit_cap = None
    scale = 1
    multiply = k is not None and c.bundle is not None and c.bundle.multiply
    if multiply and k:
        if d.type in (DiscountType.AMOUNT, DiscountType.PERCENT):
            # Every explicit limit grows with the bundles: the discount's amount limits and
            # its targets' quantity and amount limits (reference §3.5).
            scale = k
            amount_limit = amount_limit * k if amount_limit is not None else None
            aggregated = aggregated * k if aggregated is not None else None
            if c.effect is DiscountEffect.APPLY_TO_ITEMS_BY_QUANTITY:
                # Per-unit: the unit value stays, the discounted units grow; without an
                # explicit unit limit, one discounted unit per complete bundle.
                if not _has_unit_limits(c):
                    unit_cap = k
            elif d.type is DiscountType.AMOUNT:
                amount_off *= k
        elif d.type is DiscountType.UNIT:
            units = [_replace_units(u, u.unit_off * k) for u in units]
    return ResolvedDiscount(
        type=d.type,
        effect=c.effect,
        amount_off=amount_off,
        percent_off=percent_off,
        amount_limit=amount_limit,
        aggregated_amount_limit=aggregated,
        fixed_amount=max(0, round_half_up(fixed)) if fixed is not None else None,
        units=tuple(units),
        unit_cap=unit_cap,
        limit_scale=scale,
        is_dynamic=dynamic,
    )


def _has_unit_limits(c: CompiledRedeemable) -> bool:
    targets = c.targets.included if c.targets is not None else ()
    return any(
        t.quantity_limit is not None or t.aggregated_quantity_limit is not None for t in targets
    )


def _replace_units(unit: UnitSpec, unit_off: int) -> UnitSpec:
    return replace(unit, unit_off=unit_off)


def _dec(value: int | None) -> Decimal | None:
    return Decimal(value) if value is not None else None


def _discount_result(d: ResolvedDiscount, effect: Effect) -> DiscountResult:
    unit = d.units[0] if d.units else None
    return DiscountResult(
        type=d.type,
        effect=d.effect,
        amount_off=d.amount_off if d.type is DiscountType.AMOUNT else None,
        percent_off=d.percent_off if d.type is DiscountType.PERCENT else None,
        amount_limit=d.amount_limit,
        aggregated_amount_limit=d.aggregated_amount_limit,
        fixed_amount=d.fixed_amount,
        unit_off=unit.unit_off if unit else None,
        unit_type=unit.unit_type if unit else None,
        is_dynamic=d.is_dynamic,
        applied_amount=effect.total,
        item_indices=tuple(sorted(effect.item_discounts)),
    )


# ---------------------------------------------------------------------------------------------
# Result builders
# ---------------------------------------------------------------------------------------------


def _base_result(
    entry: _Entry, status: RedeemableStatus, order: OrderCalculation, **extra: object
) -> RedeemableResult:
    r = entry.compiled.source
    return RedeemableResult(
        object=r.object,
        id=r.id,
        status=status,
        order=order,
        campaign_id=r.campaign_id,
        categories=entry.compiled.category_ids,
        **extra,  # type: ignore[arg-type]
    )


def _skipped(entry: _Entry, state: OrderState, key: str) -> RedeemableResult:
    return _base_result(
        entry, RedeemableStatus.SKIPPED, snapshot(state, 0, {}), reason=_reason(key)
    )


def _inapplicable(
    entry: _Entry, state: OrderState, outcome: _Outcome, order: OrderCalculation | None = None
) -> RedeemableResult:
    return _base_result(
        entry,
        RedeemableStatus.INAPPLICABLE,
        order or snapshot(state, 0, {}),
        reason=outcome.reason or _reason(error_codes.INVALID_PAYLOAD),
        bundle=outcome.bundle,
    )


def _applicable(
    entry: _Entry,
    state: OrderState,
    outcome: _Outcome,
    effect: Effect,
    cache: SnapshotCache | None = None,
) -> RedeemableResult:
    return _base_result(
        entry,
        RedeemableStatus.APPLICABLE,
        snapshot(
            state, effect.order_discount, effect.item_discounts, cache, effect.item_quantities
        ),
        discount=outcome.discount,
        gift=outcome.gift,
        loyalty_card=outcome.loyalty,
        bundle=outcome.bundle,
    )
