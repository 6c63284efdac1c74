"""Validation rules: condition operators, the `logic` parser and rule evaluation (reference §2.7).

Rules compile once into closures; evaluating them reads a `RuleContext` and returns `None`
(passed) or a `RuleFailure` naming the failing rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from app.engine import error_codes
from app.engine.model import Customer, Mode, Rule, TargetObject, ValidationRule
from app.engine.state import Line
from app.engine.values import (
    as_datetime,
    as_number,
    dow,
    in_daily_hours,
    in_timeframe,
    lookup_path,
    parse_duration,
)


class RuleCompileError(ValueError):
    """A validation rule cannot be compiled (bad logic expression, unknown operator)."""


@dataclass(slots=True)
class RuleContext:
    customer: Customer | None
    order_metadata: Mapping[str, Any]
    amount: int  # running order total before this redeemable
    initial_amount: int
    lines: Sequence[Line]
    now: datetime
    tz: tzinfo
    mode: Mode
    counters: Mapping[str, int]
    redemption_metadata: Mapping[str, Any]
    holder_id: str | None
    gift_credits: int | None
    points_used: int | None
    total_after: Callable[[], int]
    discount_applied: Callable[[], int]


@dataclass(frozen=True, slots=True)
class RuleFailure:
    path: str
    name: str
    message: str | None
    missing_customer: bool = False


Check = Callable[[RuleContext], RuleFailure | None]
Cond = Callable[[Any, RuleContext], bool]
GroupCheck = Callable[[Sequence[Line], bool, "RuleContext"], bool]

# Rules that qualification ignores: campaign budgets and redemption counters (§2.7, §5).
_QUALIFY_IGNORED = ("campaign.", "redemption.count")
_NEEDS_EFFECT = {"order.total_amount", "campaign.orders.amount_discounted"}

# ---------------------------------------------------------------------------------------------
# Conditions
# ---------------------------------------------------------------------------------------------


def _is_collection(value: Any) -> bool:
    return isinstance(value, list | tuple | set | frozenset)


def _equal(actual: Any, expected: Any) -> bool:
    if isinstance(actual, bool) or isinstance(expected, bool):
        return actual is expected or str(actual).lower() == str(expected).lower()
    a_num, e_num = as_number(actual), as_number(expected)
    if a_num is not None and e_num is not None:
        return a_num == e_num
    a_date, e_date = as_datetime(actual), as_datetime(expected)
    if a_date is not None and e_date is not None:
        return a_date == e_date
    if isinstance(expected, Mapping):
        return bool(actual == expected.get("id") or actual == expected.get("source_id"))
    return bool(actual == expected) or (actual is not None and str(actual) == str(expected))


def _any_equal(actual: Any, values: Sequence[Any]) -> bool:
    if _is_collection(actual):
        return any(_equal(a, v) for a in actual for v in values)
    return any(_equal(actual, v) for v in values)


def _compare(actual: Any, expected: Any, tz: tzinfo) -> int | None:
    """-1/0/1 comparing numbers as numbers and dates as dates; None when incomparable."""
    a_num, e_num = as_number(actual), as_number(expected)
    if a_num is not None and e_num is not None:
        return (a_num > e_num) - (a_num < e_num)
    a_date, e_date = as_datetime(actual, tz), as_datetime(expected, tz)
    if a_date is not None and e_date is not None:
        return (a_date > e_date) - (a_date < e_date)
    return None


def _ordering(test: Callable[[int], bool]) -> Callable[[Sequence[Any]], Cond]:
    def make(values: Sequence[Any]) -> Cond:
        expected = values[0] if values else None
        e_num = as_number(expected)

        def cond(actual: Any, ctx: RuleContext) -> bool:
            if _is_collection(actual):
                return False
            if e_num is not None:
                a_num = as_number(actual)
                if a_num is not None:
                    return test((a_num > e_num) - (a_num < e_num))
            result = _compare(actual, expected, ctx.tz)
            return result is not None and test(result)

        return cond

    return make


def _strings(test: Callable[[str, str], bool]) -> Callable[[Sequence[Any]], Cond]:
    def make(values: Sequence[Any]) -> Cond:
        expected = [str(v) for v in values]

        def cond(actual: Any, ctx: RuleContext) -> bool:
            if actual is None:
                return False
            if _is_collection(actual):
                return any(_equal(a, v) for a in actual for v in values)
            return any(test(str(actual), e) for e in expected)

        return cond

    return make


def _moment(actual: Any, ctx: RuleContext) -> datetime:
    """Date operators test the property when it is a date, else the request time."""
    parsed = as_datetime(actual, ctx.tz)
    return (parsed if parsed is not None else ctx.now).astimezone(ctx.tz)


def _days(values: Sequence[Any]) -> int:
    number = as_number(values[0]) if values else None
    if number is None:
        raise RuleCompileError("a day-count operator needs a number")
    return int(number)


def _negate(cond: Cond) -> Cond:
    return lambda actual, ctx: not cond(actual, ctx)


def _make_is(values: Sequence[Any]) -> Cond:
    hashable = [v for v in values if isinstance(v, str)]

    def cond(actual: Any, ctx: RuleContext) -> bool:
        # Fast path for set-valued properties (segments, tiers): plain membership.
        if isinstance(actual, frozenset | set) and any(v in actual for v in hashable):
            return True
        return _any_equal(actual, values)

    return cond


def _make_is_not(values: Sequence[Any]) -> Cond:
    is_ = _make_is(values)
    return lambda actual, ctx: not is_(actual, ctx)


def _make_has_value(values: Sequence[Any]) -> Cond:
    return lambda actual, ctx: actual is not None and actual != "" and actual != []


def _make_is_unknown(values: Sequence[Any]) -> Cond:
    return lambda actual, ctx: actual is None or actual == "" or actual == []


def _make_timeframe(values: Sequence[Any]) -> Cond:
    start_text, interval_text, duration_text = str(values[0]).split(";")
    start = as_datetime(start_text)
    if start is None:
        raise RuleCompileError(f"bad $timeframe start: {start_text}")
    interval, duration = parse_duration(interval_text), parse_duration(duration_text)
    return lambda actual, ctx: in_timeframe(_moment(actual, ctx), start, interval, duration)


def _make_timeframe_absolute(values: Sequence[Any]) -> Cond:
    lo_text, hi_text = str(values[0]).split(";")
    lo, hi = as_datetime(lo_text), as_datetime(hi_text)
    if lo is None or hi is None:
        raise RuleCompileError("bad $timeframe_absolute")
    return lambda actual, ctx: lo <= _moment(actual, ctx) < hi


def _make_daily_hours(values: Sequence[Any]) -> Cond:
    parts = str(values[0]).split(";")
    days = (
        tuple(int(d) for d in parts[2].split(","))
        if len(parts) > 2 and parts[2]
        else tuple(range(7))
    )
    return lambda actual, ctx: in_daily_hours(_moment(actual, ctx), parts[0], parts[1], days)


def _make_dow(values: Sequence[Any]) -> Cond:
    days = {int(v) for v in values}
    return lambda actual, ctx: dow(_moment(actual, ctx)) in days


def _make_count(test: Callable[[int, int], bool]) -> Callable[[Sequence[Any]], Cond]:
    def make(values: Sequence[Any]) -> Cond:
        n = _days(values)
        return lambda actual, ctx: _is_collection(actual) and test(len(actual), n)

    return make


def _make_ago(kind: str) -> Callable[[Sequence[Any]], Cond]:
    def make(values: Sequence[Any]) -> Cond:
        n = _days(values)

        def cond(actual: Any, ctx: RuleContext) -> bool:
            moment = as_datetime(actual, ctx.tz)
            if moment is None:
                return False
            now = ctx.now.astimezone(ctx.tz)
            local = moment.astimezone(ctx.tz).date()
            if kind == "more_than_ago":
                return moment < now - timedelta(days=n)
            if kind == "less_than_ago":
                return now - timedelta(days=n) < moment <= now
            if kind == "is_days_ago":
                return local == now.date() - timedelta(days=n)
            if kind == "more_than_future":
                return moment > now + timedelta(days=n)
            if kind == "less_than_future":
                return now <= moment < now + timedelta(days=n)
            return local == now.date() + timedelta(days=n)  # is_days_in_future

        return cond

    return make


OPERATORS: dict[str, Callable[[Sequence[Any]], Cond]] = {
    "$is": _make_is,
    "$in": _make_is,
    "$is_not": _make_is_not,
    "$not_in": _make_is_not,
    "$has_value": _make_has_value,
    "$is_unknown": _make_is_unknown,
    "$less_than": _ordering(lambda c: c < 0),
    "$less_than_or_equal": _ordering(lambda c: c <= 0),
    "$more_than": _ordering(lambda c: c > 0),
    "$more_than_or_equal": _ordering(lambda c: c >= 0),
    "$greater_than": _ordering(lambda c: c > 0),
    "$greater_than_or_equal": _ordering(lambda c: c >= 0),
    "$after": _ordering(lambda c: c > 0),
    "$before": _ordering(lambda c: c < 0),
    "$starts_with": _strings(str.startswith),
    "$ends_with": _strings(str.endswith),
    "$contains": _strings(lambda a, e: e in a),
    "$not_contain": lambda values: _negate(_strings(lambda a, e: e in a)(values)),
    "$timeframe": _make_timeframe,
    "$timeframe_absolute": _make_timeframe_absolute,
    "$timeframe_daily_hours": _make_daily_hours,
    "$dow": _make_dow,
    "$count": _make_count(lambda a, n: a == n),
    "$count_more": _make_count(lambda a, n: a > n),
    "$count_less": _make_count(lambda a, n: a < n),
    "$more_than_ago": _make_ago("more_than_ago"),
    "$less_than_ago": _make_ago("less_than_ago"),
    "$is_days_ago": _make_ago("is_days_ago"),
    "$more_than_future": _make_ago("more_than_future"),
    "$less_than_future": _make_ago("less_than_future"),
    "$is_days_in_future": _make_ago("is_days_in_future"),
}
_REF_OPERATORS = {"$is", "$in", "$from", "$is_not", "$not_in"}


def compile_conditions(conditions: Mapping[str, Any]) -> Cond:
    """All operators of one rule must hold (an empty mapping always holds)."""
    conds: list[Cond] = []
    for op, raw in conditions.items():
        values = list(raw) if isinstance(raw, list | tuple) else [raw]
        if op not in OPERATORS:
            raise RuleCompileError(f"unknown condition operator {op}")
        conds.append(OPERATORS[op](values))
    if len(conds) == 1:
        return conds[0]
    return lambda actual, ctx: all(c(actual, ctx) for c in conds)


# ---------------------------------------------------------------------------------------------
# Logic expressions: "1 and (2 or 3)"
# ---------------------------------------------------------------------------------------------

_LOGIC_TOKEN = re.compile(r"\s*(\d+|and\b|or\b|\(|\))", re.IGNORECASE)
# Parentheses deeper than this are refused: the parser and the folded checks recurse per level.
MAX_LOGIC_DEPTH = 32


LogicAst = tuple[str, Any]  # ("rule", "1") | ("and", [...]) | ("or", [...])


def parse_logic(text: str, names: Iterable[str]) -> LogicAst:
    """Parse a logic expression over numbered rules into a tree; never uses eval."""
    known = set(names)
    tokens: list[str] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _LOGIC_TOKEN.match(text, pos)
        if not m:
            raise RuleCompileError(f"bad logic expression {text!r} at {pos}")
        tokens.append(m.group(1).lower())
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    index = 0

    def peek() -> str | None:
        return tokens[index] if index < len(tokens) else None

    def take() -> str:
        nonlocal index
        if index >= len(tokens):
            raise RuleCompileError(f"unexpected end of logic expression {text!r}")
        index += 1
        return tokens[index - 1]

    def expr() -> LogicAst:
        parts = [term()]
        while peek() == "or":
            take()
            parts.append(term())
        return parts[0] if len(parts) == 1 else ("or", parts)

    def term() -> LogicAst:
        parts = [factor()]
        while peek() == "and":
            take()
            parts.append(factor())
        return parts[0] if len(parts) == 1 else ("and", parts)

    def factor() -> LogicAst:
        tok = take()
        if tok == "(":
            inner = expr()
            if take() != ")":
                raise RuleCompileError(f"unbalanced parentheses in {text!r}")
            return inner
        if tok.isdigit():
            if tok not in known:
                raise RuleCompileError(f"logic names rule {tok} that does not exist")
            return ("rule", tok)
        raise RuleCompileError(f"unexpected {tok!r} in logic {text!r}")

    if not tokens:
        raise RuleCompileError("empty logic expression")
    _check_nesting(tokens)
    result = expr()
    if index != len(tokens):
        raise RuleCompileError(f"trailing tokens in logic {text!r}")
    return result


def _check_nesting(tokens: Sequence[str]) -> None:
    """Bound the parser's recursion (and the folded tree's depth) before parsing."""
    depth = 0
    for tok in tokens:
        if tok == "(":
            depth += 1
            if depth > MAX_LOGIC_DEPTH:
                raise RuleCompileError(
                    f"logic nests parentheses at most {MAX_LOGIC_DEPTH} levels deep"
                )
        elif tok == ")":
            depth -= 1


def _fold(ast: LogicAst, checks: Mapping[str, Check]) -> Check:
    kind, payload = ast
    if kind == "rule":
        return checks[payload]
    parts = [_fold(p, checks) for p in payload]
    return _all_of(parts) if kind == "and" else _any_of(parts)


def _fold_group(ast: LogicAst, checks: Mapping[str, GroupCheck]) -> GroupCheck:
    kind, payload = ast
    if kind == "rule":
        return checks[payload]
    parts = [_fold_group(p, checks) for p in payload]
    if kind == "and":
        return lambda ls, every, ctx: all(p(ls, every, ctx) for p in parts)
    return lambda ls, every, ctx: any(p(ls, every, ctx) for p in parts)


def _all_of(parts: list[Check]) -> Check:
    def run(ctx: RuleContext) -> RuleFailure | None:
        for part in parts:
            failure = part(ctx)
            if failure is not None:
                return failure
        return None

    return run


def _any_of(parts: list[Check]) -> Check:
    def run(ctx: RuleContext) -> RuleFailure | None:
        first: RuleFailure | None = None
        for part in parts:
            failure = part(ctx)
            if failure is None:
                return None
            first = first or failure
        return first

    return run


def _combine(checks: dict[str, Check], logic: str | None) -> Check:
    if not checks:
        return lambda ctx: None
    if logic:
        return _fold(parse_logic(logic, checks.keys()), checks)
    return _all_of(list(checks.values()))


# ---------------------------------------------------------------------------------------------
# Order-item rules
# ---------------------------------------------------------------------------------------------


def _compile_ref(ref: Any) -> Callable[[Line], bool]:
    if isinstance(ref, Mapping):
        obj, ident, source = ref.get("object"), ref.get("id"), ref.get("source_id")
    else:
        obj, ident, source = None, ref, None
    if obj in (TargetObject.PRODUCTS_COLLECTION, "products_collection"):
        return lambda ln: ident in ln.collection_ids
    if obj in (TargetObject.SKU, "sku"):
        return lambda ln: (
            (ident is not None and ident == ln.sku_id)
            or (source is not None and source == ln.source_id)
        )
    if obj in (TargetObject.PRODUCT, "product"):
        return lambda ln: (
            (ident is not None and ident == ln.product_id)
            or (source is not None and source in (ln.product_source_id, ln.source_id))
        )
    return lambda ln: (
        ident is not None
        and (ident in (ln.product_id, ln.sku_id, ln.source_id) or ident in ln.collection_ids)
    )


def _matches_any(refs: list[Any], wanted: bool) -> Callable[[Line], bool]:
    tests = [_compile_ref(r) for r in refs]
    if len(tests) == 1:
        test = tests[0]
        return lambda ln: test(ln) is wanted
    return lambda ln: any(t(ln) for t in tests) is wanted


def _item_selector(conditions: Mapping[str, Any]) -> Callable[[Line], bool]:
    tests: list[Callable[[Line], bool]] = []
    for op, raw in conditions.items():
        refs = list(raw) if isinstance(raw, list | tuple) else [raw]
        if op in ("$is", "$in", "$from"):
            tests.append(_matches_any(refs, True))
        elif op in ("$is_not", "$not_in"):
            tests.append(_matches_any(refs, False))
        else:
            raise RuleCompileError(f"operator {op} is not valid on order items")
    if len(tests) == 1:
        return tests[0]
    return lambda ln: all(t(ln) for t in tests)


_PER_ITEM: dict[str, Callable[[Line, str | None], Any]] = {
    "order.items.quantity": lambda ln, p: ln.quantity,
    "order.items.price": lambda ln, p: ln.price,
    "order.items.amount": lambda ln, p: ln.amount,
    "order.items.subtotal_amount": lambda ln, p: ln.subtotal,
    "order.items.metadata": lambda ln, p: lookup_path(ln.metadata, p or "")[1],
    "order.items.product.metadata": lambda ln, p: lookup_path(ln.product_metadata, p or "")[1],
}
_AGGREGATE: dict[str, Callable[[Sequence[Line]], int]] = {
    "order.items.aggregated_quantity": lambda ls: sum(ln.quantity for ln in ls),
    "order.items.aggregated_amount": lambda ls: sum(ln.amount for ln in ls),
}


def _aggregate_check(agg: Callable[[Sequence[Line]], int], cond: Cond) -> GroupCheck:
    return lambda ls, every, ctx: cond(agg(ls), ctx)


def _compile_group(rules: Sequence[Rule], logic: str | None) -> GroupCheck:
    """Sub-rules of an items rule over a group: aggregates over the group, per-item rules on
    any item (`every=False`) or on every item (`every=True`)."""
    checks: dict[str, Callable[[Sequence[Line], bool, RuleContext], bool]] = {}
    for n, rule in enumerate(rules, start=1):
        cond = compile_conditions(rule.conditions)
        if rule.name in _AGGREGATE:
            checks[str(n)] = _aggregate_check(_AGGREGATE[rule.name], cond)
        elif rule.name in _PER_ITEM:
            get, prop = _PER_ITEM[rule.name], rule.property

            def per_item(
                ls: Sequence[Line],
                every: bool,
                ctx: RuleContext,
                get: Callable[[Line, str | None], Any] = get,
                prop: str | None = prop,
                cond: Cond = cond,
            ) -> bool:
                if not ls:
                    return False
                hits = (cond(get(ln, prop), ctx) for ln in ls)
                return all(hits) if every else any(hits)

            checks[str(n)] = per_item
        else:
            raise RuleCompileError(f"rule {rule.name} is not valid inside an order-items rule")
    if not checks:
        return lambda ls, every, ctx: True
    if logic:
        return _fold_group(parse_logic(logic, checks.keys()), checks)
    parts = list(checks.values())
    return lambda ls, every, ctx: all(p(ls, every, ctx) for p in parts)


def _items_rule(rule: Rule) -> Callable[[RuleContext], bool]:
    select = _item_selector(rule.conditions)
    group = _compile_group(rule.rules, rule.logic)
    kind = rule.name.rsplit(".", 1)[1]

    def run(ctx: RuleContext) -> bool:
        lines = [ln for ln in ctx.lines if ln.quantity > 0]
        if kind in ("cheapest", "most_expensive"):
            if not lines:
                return False
            key = (
                (lambda ln: (ln.price, ln.index))
                if kind == "cheapest"
                else (lambda ln: (-ln.price, ln.index))
            )
            pick = min(lines, key=key)
            return select(pick) and group([pick], True, ctx)
        matched = [ln for ln in lines if select(ln)]
        if kind == "any":
            return bool(matched) and group(matched, False, ctx)
        if kind == "every":
            return bool(lines) and len(matched) == len(lines) and group(matched, True, ctx)
        if kind == "none":
            return not matched or (bool(rule.rules) and not group(matched, False, ctx))
        raise RuleCompileError(f"unknown items rule {rule.name}")

    return run


# ---------------------------------------------------------------------------------------------
# Rule names → values
# ---------------------------------------------------------------------------------------------


def _customer_meta(ctx: RuleContext, prop: str | None) -> Any:
    assert ctx.customer is not None
    return lookup_path(ctx.customer.metadata, prop or "")[1]


def _counter(name: str) -> Callable[[RuleContext, str | None], Any]:
    # Counters hold counts before this request; the rule sees the count including it.
    return lambda ctx, p: ctx.counters.get(name, 0) + 1


def _lines_values(get: Callable[[Line], Any]) -> Callable[[RuleContext, str | None], Any]:
    return lambda ctx, p: [get(ln) for ln in ctx.lines if ln.quantity > 0]


_VALUES: dict[str, Callable[[RuleContext, str | None], Any]] = {
    "customer.segment": lambda ctx, p: ctx.customer.segment_ids if ctx.customer else frozenset(),
    "customer.metadata": _customer_meta,
    "customer.loyalty.tier": lambda ctx, p: ctx.customer.loyalty_tier_ids if ctx.customer else (),
    "order.amount": lambda ctx, p: ctx.amount,
    "order.initial_amount": lambda ctx, p: ctx.initial_amount,
    "order.total_amount": lambda ctx, p: ctx.total_after(),
    "order.items.count": lambda ctx, p: sum(1 for ln in ctx.lines if ln.quantity > 0),
    "order.metadata": lambda ctx, p: lookup_path(ctx.order_metadata, p or "")[1],
    "redemption.metadata": lambda ctx, p: lookup_path(ctx.redemption_metadata, p or "")[1],
    "redemption.gift.amount": lambda ctx, p: ctx.gift_credits or 0,
    "redemption.reward.pay_with_points.points_used": lambda ctx, p: ctx.points_used or 0,
    "campaign.orders.amount": lambda ctx, p: (
        ctx.counters.get("campaign.orders.amount", 0) + ctx.amount
    ),
    "campaign.orders.amount_discounted": lambda ctx, p: (
        ctx.counters.get("campaign.orders.amount_discounted", 0) + ctx.discount_applied()
    ),
}
for _name in (
    "campaign.redemptions.count",
    "campaign.redemptions.count.daily",
    "campaign.redemptions.count.weekly",
    "campaign.redemptions.count.monthly",
    "campaign.redemptions.customers_count",
    "campaign.redemptions.customers_count.daily",
    "campaign.redemptions.customers_count.weekly",
    "campaign.redemptions.customers_count.monthly",
    "redemption.count",
    "redemption.count.daily",
    "redemption.count.weekly",
    "redemption.count.monthly",
    "redemption.count.per_customer",
    "redemption.count.per_customer.daily",
    "redemption.count.per_customer.weekly",
    "redemption.count.per_customer.monthly",
    "redemption.count.per_api_key",
    "redemption.count.per_user",
):
    _VALUES[_name] = _counter(_name)


def _list_rule(name: str, every: bool) -> Callable[[Rule, Cond], Callable[[RuleContext], bool]]:
    def build(rule: Rule, cond: Cond) -> Callable[[RuleContext], bool]:
        def value(ln: Line) -> Any:
            if name == "price":
                return ln.price
            return lookup_path(ln.metadata, rule.property or "")[1]

        def run(ctx: RuleContext) -> bool:
            lines = [ln for ln in ctx.lines if ln.quantity > 0]
            if not lines:
                return False
            hits = (cond(value(ln), ctx) for ln in lines)
            return all(hits) if every else any(hits)

        return run

    return build


_ITEM_LISTS = {
    "order.items.price_any": _list_rule("price", False),
    "order.items.price_each": _list_rule("price", True),
    "order.items.metadata_any": _list_rule("metadata", False),
    "order.items.metadata_each": _list_rule("metadata", True),
}
_ITEMS_RULES = {
    "order.items.any",
    "order.items.every",
    "order.items.none",
    "order.items.cheapest",
    "order.items.most_expensive",
}


def _holder_only(ctx: RuleContext) -> bool:
    return (
        ctx.customer is not None
        and ctx.holder_id is not None
        and ctx.holder_id in (ctx.customer.id, ctx.customer.source_id)
    )


def rule_area(name: str) -> str:
    """The reason code for a failing rule of this name."""
    if name.startswith(("customer.", "publication.")):
        return error_codes.CUSTOMER_RULES_VIOLATED
    if name.startswith(("order.", "product.", "sku.")):
        return error_codes.ORDER_RULES_VIOLATED
    return error_codes.REDEMPTION_RULES_VIOLATED


_LEGACY_PRODUCT_RULES = {"product.id": "product", "sku.id": "sku"}
_LEGACY_SUB_RULES = {
    "product.price": "order.items.price",
    "product.quantity": "order.items.quantity",
    "product.metadata": "order.items.product.metadata",
    "sku.price": "order.items.price",
    "sku.quantity": "order.items.quantity",
}


def _legacy_as_items_rule(rule: Rule) -> Rule:
    """Legacy `product.id` / `sku.id` rules read as `order.items.any` over the same refs."""
    obj = _LEGACY_PRODUCT_RULES[rule.name]
    conditions = {
        op: [v if isinstance(v, Mapping) else {"id": v, "object": obj} for v in _as_list(raw)]
        for op, raw in rule.conditions.items()
    }
    subs = []
    for sub in rule.rules:
        if sub.name not in _LEGACY_SUB_RULES:
            raise RuleCompileError(f"rule {sub.name} is not valid inside {rule.name}")
        subs.append(Rule(_LEGACY_SUB_RULES[sub.name], sub.conditions, sub.property))
    return Rule("order.items.any", conditions, rules=tuple(subs), logic=rule.logic)


def _as_list(raw: Any) -> list[Any]:
    return list(raw) if isinstance(raw, list | tuple) else [raw]


def _compile_rule(rule: Rule, path: str) -> Check:
    name = rule.name
    message = rule.error_message
    fail = RuleFailure(path, name, message)
    needs_customer = name.startswith(("customer.", "publication."))
    missing = RuleFailure(path, name, message, missing_customer=True)
    test: Callable[[RuleContext], bool]
    sub: Check | None = None
    if name in _LEGACY_PRODUCT_RULES:
        test = _items_rule(_legacy_as_items_rule(rule))
    elif name in _ITEMS_RULES:
        test = _items_rule(rule)
    else:
        if rule.rules:
            sub = _compile_set(rule.rules, rule.logic, path + ".")
        cond = compile_conditions(rule.conditions)
        if name in _ITEM_LISTS:
            test = _ITEM_LISTS[name](rule, cond)
        elif name == "publication.redeemable_by_linked_customer":
            test = _holder_only
        elif name in _VALUES:
            get, prop = _VALUES[name], rule.property
            test = lambda ctx: cond(get(ctx, prop), ctx)  # noqa: E731
        else:
            # A rule the snapshot cannot answer fails closed rather than silently passing.
            test = lambda ctx: False  # noqa: E731
    ignored_in_qualify = name.startswith(_QUALIFY_IGNORED)

    def run(ctx: RuleContext) -> RuleFailure | None:
        if ignored_in_qualify and ctx.mode in (Mode.QUALIFY, Mode.AUDIENCE):
            return None
        if ctx.mode is Mode.AUDIENCE and not needs_customer:
            return None
        if needs_customer and ctx.customer is None:
            return missing
        if not test(ctx):
            return fail
        if sub is not None:
            inner = sub(ctx)
            if inner is not None:
                return inner if inner.message or not message else fail
        return None

    return run


def _compile_set(rules: Sequence[Rule], logic: str | None, prefix: str) -> Check:
    checks = {str(n): _compile_rule(r, f"{prefix}{n}") for n, r in enumerate(rules, start=1)}
    return _combine(checks, logic)


def _walk(rules: Iterable[Rule]) -> Iterable[Rule]:
    for rule in rules:
        yield rule
        yield from _walk(rule.rules)


@dataclass(frozen=True, slots=True)
class CompiledRuleSet:
    id: str
    error_message: str | None
    check: Check
    needs_effect: bool
    needs_customer: bool

    def evaluate(self, ctx: RuleContext) -> RuleFailure | None:
        return self.check(ctx)


def compile_rule_set(rule_set: ValidationRule) -> CompiledRuleSet:
    names = {r.name for r in _walk(rule_set.rules)}
    return CompiledRuleSet(
        id=rule_set.id,
        error_message=rule_set.error_message,
        check=_compile_set(rule_set.rules, rule_set.logic, ""),
        needs_effect=bool(names & _NEEDS_EFFECT),
        needs_customer=any(n.startswith(("customer.", "publication.")) for n in names),
    )


# ---------------------------------------------------------------------------------------------
# Checking a rule before it is stored: operands of the right type for the property
# ---------------------------------------------------------------------------------------------
# Compiling accepts any operand (a wrong one just never matches); saving refuses what could
# never be meant, naming the operator at fault.

_NUMBER_RULES = frozenset({
    "order.amount", "order.initial_amount", "order.total_amount", "order.items.count",
    "redemption.gift.amount", "redemption.reward.pay_with_points.points_used",
    "campaign.orders.amount", "campaign.orders.amount_discounted",
    "order.items.quantity", "order.items.price", "order.items.amount",
    "order.items.subtotal_amount", "order.items.price_any", "order.items.price_each",
    *_AGGREGATE, "product.price", "product.quantity", "sku.price", "sku.quantity",
    *(name for name, get in _VALUES.items() if name.startswith(("campaign.redemptions.",
                                                                "redemption.count"))),
})
_ID_SET_RULES = frozenset({"customer.segment", "customer.loyalty.tier"})
_SELECTOR_OPS = frozenset({"$is", "$in", "$from", "$is_not", "$not_in"})
_EQUALITY_OPS = frozenset({"$is", "$in", "$is_not", "$not_in"})
_PRESENCE_OPS = frozenset({"$has_value", "$is_unknown"})
_ORDERING_OPS = frozenset({
    "$less_than", "$less_than_or_equal", "$more_than", "$more_than_or_equal", "$greater_than",
    "$greater_than_or_equal", "$after", "$before",
})
_TEXT_OPS = frozenset({"$starts_with", "$ends_with", "$contains", "$not_contain"})
_COUNT_OPS = frozenset({"$count", "$count_more", "$count_less"})
_DAYS_OPS = frozenset({
    "$more_than_ago", "$less_than_ago", "$is_days_ago", "$more_than_future",
    "$less_than_future", "$is_days_in_future",
})
_HHMM = re.compile(r"^([01]?\d|2[0-3]):[0-5]\d$|^24:00$")
_REF_OBJECTS = frozenset({"product", "sku", "products_collection"})
_KIND_LABELS = {"number": " (a number)", "ids": " (ids)", "any": ""}


def takes_property(name: str) -> bool:
    """Rules reading a metadata key name it in `property`."""
    return name.rsplit(".", 1)[-1] in ("metadata", "metadata_any", "metadata_each")


def takes_sub_rules(name: str) -> bool:
    return name in _ITEMS_RULES or name in _LEGACY_PRODUCT_RULES


def sub_rule_problem(parent: str, child: str) -> str | None:
    """Why `child` cannot be a sub-rule of the order-items rule `parent` (None: it can)."""
    if parent in _LEGACY_PRODUCT_RULES:
        allowed: Iterable[str] = _LEGACY_SUB_RULES
    elif parent in _ITEMS_RULES:
        allowed = (*_AGGREGATE, *_PER_ITEM)
    else:
        return None
    if child in allowed:
        return None
    return f"rule {child} is not valid inside {parent}; use one of {', '.join(sorted(allowed))}"


def _is_number(value: Any) -> bool:
    number = as_number(value)
    return number is not None and number.is_finite()


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | bool) or _is_number(value)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _ref_problem(value: Any) -> str | None:
    if isinstance(value, str) and value:
        return None
    if not isinstance(value, Mapping):
        return "name a product, SKU or collection by id (or {object, id | source_id})"
    obj = value.get("object")
    if obj is not None and str(obj) not in _REF_OBJECTS:
        return "object is product, sku or products_collection"
    if not any(isinstance(value.get(k), str) and value.get(k) for k in ("id", "source_id")):
        return "a reference needs an id or a source_id"
    return None


def _one(values: Sequence[Any]) -> Any:
    if len(values) != 1:
        raise ValueError("takes exactly one value")
    return values[0]


def _window_problem(op: str, values: Sequence[Any]) -> str | None:
    if op == "$dow":
        if not values or not all(_is_count(v) and v <= 6 for v in values):
            return "days of week are numbers 0 (Sunday) to 6"
        return None
    text = _one(values)
    parts = str(text).split(";") if isinstance(text, str) else []
    if op == "$timeframe":
        if len(parts) != 3 or as_datetime(parts[0]) is None:
            return 'a timeframe is "<start ISO 8601>;<interval>;<duration>", e.g. ' \
                   '"2026-01-01T18:00:00Z;P1D;PT2H"'
        try:
            parse_duration(parts[1])
            parse_duration(parts[2])
        except ValueError:
            return "interval and duration are ISO 8601 durations such as P1D or PT2H"
        return None
    if op == "$timeframe_absolute":
        bounds = [as_datetime(p) for p in parts]
        if len(parts) != 2 or None in bounds:
            return 'an absolute timeframe is "<from ISO 8601>;<to ISO 8601>"'
        lo, hi = bounds
        assert lo is not None and hi is not None
        return None if lo < hi else "the timeframe must end after it starts"
    # $timeframe_daily_hours: "HH:MM;HH:MM" or "HH:MM;HH:MM;d,d"
    if len(parts) not in (2, 3) or not all(_HHMM.match(p.strip()) for p in parts[:2]):
        return 'daily hours are "HH:MM;HH:MM" with optional days "HH:MM;HH:MM;1,2"'
    if len(parts) == 3 and parts[2] and not all(
        d.strip().isdigit() and int(d) <= 6 for d in parts[2].split(",")
    ):
        return "days of week are numbers 0 (Sunday) to 6"
    return None


def _operator_problem(kind: str, op: str, values: Sequence[Any]) -> str | None:
    """Why `op` with these operands cannot be meant on a property of this kind."""
    if op in _PRESENCE_OPS:
        return None
    if op in _EQUALITY_OPS:
        if not values:
            return "give at least one value"
        if kind == "number" and not all(_is_number(v) for v in values):
            return "values must be numbers"
        if kind == "ids" and not all(
            (isinstance(v, str) and v) or _ref_problem(v) is None for v in values
        ):
            return "values are ids"
        if kind == "any" and not all(_is_scalar(v) for v in values):
            return "values must be strings, numbers or booleans"
        return None
    if op in _ORDERING_OPS:
        value = _one(values)
        if kind == "number":
            return None if _is_number(value) else "the value must be a number"
        if kind == "ids":
            return "ids have no order"
        if _is_number(value) or as_datetime(value) is not None:
            return None
        return "the value must be a number or an ISO 8601 date"
    if op in _TEXT_OPS:
        if kind == "number":
            return "text operators do not apply"
        if not values or not all(isinstance(v, str) and v or _is_number(v) for v in values):
            return "values must be non-empty strings"
        return None
    if op in _COUNT_OPS:
        if kind == "number":
            return "counts the entries of a list; a number has none"
        return None if _is_count(_one(values)) else "the count must be a whole number of at least 0"
    if op in _DAYS_OPS:
        if kind in ("number", "ids"):
            return "compares dates; the property is not a date"
        if _is_count(_one(values)):
            return None
        return "the number of days must be a whole number of at least 0"
    return _window_problem(op, values)


def condition_problems(name: str, conditions: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What is wrong with one rule's conditions, as (operator, message) pairs (empty: fine).

    Numeric properties take numbers, ids take ids, order-items rules take product, SKU or
    collection references; date operators take what the engine can parse."""
    problems: list[tuple[str, str]] = []
    selector = name in _ITEMS_RULES or name in _LEGACY_PRODUCT_RULES
    kind = "number" if name in _NUMBER_RULES else "ids" if name in _ID_SET_RULES else "any"
    for op, raw in conditions.items():
        values = list(raw) if isinstance(raw, list | tuple) else [raw]
        if selector:
            if op not in _SELECTOR_OPS:
                problems.append((op, f"operator {op} is not valid on order items; use "
                                     "$is, $in, $from, $is_not or $not_in"))
                continue
            if not values:
                problems.append((op, "give at least one product, SKU or collection"))
            for value in values:
                problem = _ref_problem(value)
                if problem:
                    problems.append((op, problem))
                    break
            continue
        if op not in OPERATORS:
            problems.append((op, f"unknown condition operator {op}"))
            continue
        try:
            problem = _operator_problem(kind, op, values)
        except ValueError as exc:
            problem = str(exc)
        if problem:
            problems.append((op, f"{op} on {name}{_KIND_LABELS[kind]}: {problem}"))
    return problems
