"""Stored definitions (JSON in the API's snake_case shape, and the rows holding it) → engine
dataclasses.

Every management use case validates its input by building the engine objects here (and
compiling them), so what is stored is always something the engine can evaluate; the
evaluation path builds the same objects from the same JSON.

Stored shapes:
- discount: {type, effect, amount_off, percent_off, amount_limit, aggregated_amount_limit,
  fixed_amount, unit_off, unit_type, units: [{unit_off, unit_type, sku_id, effect}],
  amount_off_formula, percent_off_formula, fixed_amount_formula, unit_off_formula}
- validation rule `rules`: {"1": {name, property, conditions, rules: {…same…}, error:
  {message}}, "2": …, "logic": "1 and 2"} (the reference's numbered shape)
- applicable_to: {included: [target], excluded: [target], included_all}; target: {object, id,
  source_id, effect, target, quantity_limit, aggregated_quantity_limit, amount_limit,
  aggregated_amount_limit, price, skip_initially, repeat}
- bundle_rules: {items: [{object, id, quantity}], limit}
- validity: validity_timeframe {duration, interval}, validity_day_of_week [0-6],
  validity_hours {daily: [{start_time, expiration_time, days_of_week}]}
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from app import engine
from app.db.campaigns import Campaign
from app.db.categories import Category
from app.db.rules import ValidationRule

MAX_RULES = 50


class DefinitionError(ValueError):
    """An invalid definition; `path` names the part of the input at fault."""

    def __init__(self, code: str, message: str, path: list[str | int]) -> None:
        super().__init__(message)
        self.code = code
        self.path = [str(p) for p in path]


def _enum(kind: type[Any], value: Any, path: list[str | int], code: str) -> Any:
    try:
        return kind(value)
    except ValueError as exc:
        allowed = ", ".join(m.value for m in kind)
        raise DefinitionError(code, f"{value!r} is not one of {allowed}", path) from exc


def _int(value: Any, path: list[str | int], code: str, *, minimum: int = 0) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise DefinitionError(code, "must be an integer", path)
    if value < minimum:
        raise DefinitionError(code, f"must be at least {minimum}", path)
    return value


def discount(data: Mapping[str, Any], path: list[str | int] | None = None) -> engine.Discount:
    path = path or ["discount"]
    code = "invalid_discount"
    kind = _enum(engine.DiscountType, data.get("type"), [*path, "type"], code)
    effect = (
        _enum(engine.DiscountEffect, data["effect"], [*path, "effect"], code)
        if data.get("effect") is not None else None
    )
    percent = data.get("percent_off")
    percent_off = None
    if percent is not None:
        try:
            percent_off = Decimal(str(percent))
        except InvalidOperation as exc:
            raise DefinitionError(code, "must be a number", [*path, "percentOff"]) from exc
        if not Decimal(0) <= percent_off <= Decimal(100):
            raise DefinitionError(code, "must be between 0 and 100", [*path, "percentOff"])
    units: list[engine.UnitSpec] = []
    raw_units = data.get("units") or []
    if kind in (engine.DiscountType.UNIT, engine.DiscountType.SHIPPING) and not raw_units:
        if kind is engine.DiscountType.SHIPPING:
            raw_units = [{"unit_off": 1, "unit_type": engine.model.SHIPPING_PRODUCT_ID}]
        else:
            raw_units = [{
                "unit_off": data.get("unit_off"), "unit_type": data.get("unit_type"),
                "unit_off_formula": data.get("unit_off_formula"),
                "effect": data.get("effect"),
            }]
    for index, unit in enumerate(raw_units):
        unit_path: list[str | int] = [*path, "units", index]
        off = _int(unit.get("unit_off"), [*unit_path, "unitOff"], code, minimum=1)
        if off is None and not unit.get("unit_off_formula"):
            raise DefinitionError(code, "a unit discount needs unitOff", [*unit_path, "unitOff"])
        if not unit.get("unit_type"):
            raise DefinitionError(code, "a unit discount names the product (unitType)",
                                  [*unit_path, "unitType"])
        unit_effect = unit.get("effect") or engine.DiscountEffect.ADD_MISSING_ITEMS
        if unit_effect == engine.DiscountEffect.ADD_MANY_ITEMS:
            unit_effect = engine.DiscountEffect.ADD_MISSING_ITEMS
        units.append(engine.UnitSpec(
            unit_off=off or 0,
            unit_type=unit.get("unit_type"),
            sku_id=unit.get("sku_id"),
            price=int(unit.get("price") or 0),
            effect=_enum(engine.DiscountEffect, unit_effect, [*unit_path, "effect"], code),
            unit_off_formula=unit.get("unit_off_formula"),
        ))
    result = engine.Discount(
        type=kind,
        effect=effect,
        amount_off=_int(data.get("amount_off"), [*path, "amountOff"], code),
        percent_off=percent_off,
        amount_limit=_int(data.get("amount_limit"), [*path, "amountLimit"], code),
        aggregated_amount_limit=_int(
            data.get("aggregated_amount_limit"), [*path, "aggregatedAmountLimit"], code
        ),
        fixed_amount=_int(data.get("fixed_amount"), [*path, "fixedAmount"], code),
        units=tuple(units),
        amount_off_formula=data.get("amount_off_formula"),
        percent_off_formula=data.get("percent_off_formula"),
        fixed_amount_formula=data.get("fixed_amount_formula"),
    )
    required = {
        engine.DiscountType.AMOUNT: ("amount_off", "amountOff"),
        engine.DiscountType.PERCENT: ("percent_off", "percentOff"),
        engine.DiscountType.FIXED: ("fixed_amount", "fixedAmount"),
    }.get(kind)
    if required and getattr(result, required[0]) is None:
        raise DefinitionError(code, f"a {kind.value} discount needs {required[1]}",
                              [*path, required[1]])
    return result


def target(data: Mapping[str, Any], path: list[str | int]) -> engine.Target:
    code = "invalid_validation_rules"
    if not data.get("id"):
        raise DefinitionError(code, "a target names a product, SKU or collection id",
                              [*path, "id"])
    return engine.Target(
        object=_enum(engine.TargetObject, data.get("object"), [*path, "object"], code),
        id=str(data["id"]),
        source_id=data.get("source_id"),
        effect=_enum(engine.ApplicationRule, data.get("effect") or "APPLY_TO_EVERY",
                     [*path, "effect"], code),
        target=_enum(engine.TargetUnit, data.get("target") or "ITEM", [*path, "target"], code),
        quantity_limit=_int(data.get("quantity_limit"), [*path, "quantityLimit"], code),
        aggregated_quantity_limit=_int(
            data.get("aggregated_quantity_limit"), [*path, "aggregatedQuantityLimit"], code
        ),
        amount_limit=_int(data.get("amount_limit"), [*path, "amountLimit"], code),
        aggregated_amount_limit=_int(
            data.get("aggregated_amount_limit"), [*path, "aggregatedAmountLimit"], code
        ),
        price=_int(data.get("price"), [*path, "price"], code),
        skip_initially=_int(data.get("skip_initially"), [*path, "skipInitially"], code) or 0,
        repeat=_int(data.get("repeat"), [*path, "repeat"], code, minimum=1) or 1,
    )


def applicable_to(data: Mapping[str, Any] | None) -> engine.ApplicableTo | None:
    if not data:
        return None
    return engine.ApplicableTo(
        included=tuple(
            target(t, ["applicableTo", "included", i])
            for i, t in enumerate(data.get("included") or [])
        ),
        excluded=tuple(
            target(t, ["applicableTo", "excluded", i])
            for i, t in enumerate(data.get("excluded") or [])
        ),
        included_all=bool(data.get("included_all")),
    )


def bundle_rules(data: Mapping[str, Any] | None) -> engine.BundleRules | None:
    if not data:
        return None
    code = "invalid_validation_rules"
    items = data.get("items") or []
    if not items:
        raise DefinitionError(code, "a bundle lists at least one item", ["bundleRules", "items"])
    limit = _int(data.get("limit", 1), ["bundleRules", "limit"], code, minimum=1) or 1
    if limit > 100:
        raise DefinitionError(code, "limit must be 1..100", ["bundleRules", "limit"])
    return engine.BundleRules(
        items=tuple(
            engine.BundleItem(
                object=_enum(engine.TargetObject, item.get("object"),
                             ["bundleRules", "items", i, "object"], code),
                id=str(item.get("id") or ""),
                quantity=_int(item.get("quantity", 1), ["bundleRules", "items", i, "quantity"],
                              code, minimum=1) or 1,
            )
            for i, item in enumerate(items)
        ),
        limit=limit,
    )


def _rules(numbered: Mapping[str, Any], path: list[str | int]) -> tuple[engine.Rule, ...]:
    code = "invalid_validation_rules"
    keys = [k for k in numbered if k != "logic"]
    if len(keys) > MAX_RULES:
        raise DefinitionError(code, f"at most {MAX_RULES} rules", path)
    expected = [str(n) for n in range(1, len(keys) + 1)]
    if sorted(keys, key=lambda k: int(k) if k.isdigit() else 0) != expected:
        raise DefinitionError(code, "rules are numbered 1, 2, 3 …", path)
    built = []
    for key in expected:
        rule = numbered[key]
        rule_path = [*path, key]
        if not isinstance(rule, Mapping) or not rule.get("name"):
            raise DefinitionError(code, "a rule needs a name", [*rule_path, "name"])
        conditions = rule.get("conditions") or {}
        if not isinstance(conditions, Mapping):
            raise DefinitionError(code, "conditions must be an object", [*rule_path, "conditions"])
        sub = rule.get("rules") or {}
        built.append(engine.Rule(
            name=str(rule["name"]),
            conditions=dict(conditions),
            property=rule.get("property"),
            rules=_rules(sub, [*rule_path, "rules"]) if sub else (),
            logic=sub.get("logic") if sub else None,
            error_message=(rule.get("error") or {}).get("message"),
        ))
    return tuple(built)


def validation_rule(
    rule_id: str, name: str, rules: Mapping[str, Any], error_message: str | None,
    applicable: Mapping[str, Any] | None, bundle: Mapping[str, Any] | None,
) -> engine.ValidationRule:
    return engine.ValidationRule(
        id=rule_id,
        name=name,
        rules=_rules(rules, ["rules"]),
        logic=rules.get("logic"),
        error_message=error_message,
        applicable_to=applicable_to(applicable),
        bundle_rules=bundle_rules(bundle),
    )


def validity(
    start_date: datetime | None, expiration_date: datetime | None,
    timeframe: Mapping[str, Any] | None, day_of_week: list[int] | None,
    hours: Mapping[str, Any] | None,
) -> engine.Validity:
    return engine.Validity(
        start_date=start_date,
        expiration_date=expiration_date,
        timeframe_duration=(timeframe or {}).get("duration"),
        timeframe_interval=(timeframe or {}).get("interval"),
        day_of_week=tuple(day_of_week) if day_of_week is not None else None,
        daily_hours=tuple(
            engine.DailyHours(
                start_time=h["start_time"], expiration_time=h["expiration_time"],
                days_of_week=tuple(h.get("days_of_week") or range(7)),
            )
            for h in (hours or {}).get("daily", [])
        ) if hours else None,
    )


def check_compiles(redeemable: engine.Redeemable) -> None:
    """Compile once so a bad logic expression, operator, formula or duration is refused now."""
    try:
        engine.compile_redeemable(redeemable)
    except engine.CompileError as exc:
        raise DefinitionError(exc.code, str(exc).split(": ", 1)[-1], []) from exc


STACKING_DEFAULTS = engine.StackingRules()


def stacking_rules(data: Mapping[str, Any] | None) -> engine.StackingRules:
    if not data:
        return STACKING_DEFAULTS
    sets = {
        "exclusive_categories", "joint_categories", "no_effect_skip_categories",
        "no_effect_redeem_anyway_categories", "initial_amount_mode_categories",
        "discounted_amount_mode_categories",
    }
    enums = {
        "redeemables_application_mode": engine.ApplicationMode,
        "redeemables_sorting_rule": engine.SortingRule,
        "redeemables_products_application_mode": engine.ProductsApplicationMode,
        "redeemables_no_effect_rule": engine.NoEffectRule,
        "discount_calculation_mode": engine.CalculationMode,
    }
    values: dict[str, Any] = {}
    for key, value in data.items():
        if value is None or key == "redeemables_rollback_order_mode":
            continue
        if key in sets:
            values[key] = frozenset(value)
        elif key in enums:
            values[key] = enums[key](value)
        else:
            values[key] = value
    return engine.StackingRules(**values)


# --- rows -----------------------------------------------------------------------------------
# What the kinds' definitions are built from: a rule row, a category row, a row's validity
# window (vouchers, tiers and campaigns share the columns) and its campaign's window.

def engine_rule(rule: ValidationRule) -> engine.ValidationRule:
    return validation_rule(
        rule.id, rule.name, rule.rules, rule.error_message, rule.applicable_to, rule.bundle_rules
    )


def categories_of(row: Category | None) -> tuple[engine.Category, ...]:
    if row is None:
        return ()
    return (
        engine.Category(
            id=row.id,
            hierarchy=row.hierarchy,
            # None: a common category (neither always nor never stackable)
            stacking_rules_type=engine.CategoryType(row.stacking_rules_type)
            if row.stacking_rules_type else None,
        ),
    )


def validity_of(row: Any) -> engine.Validity:
    return validity(
        row.start_date, row.expiration_date, row.validity_timeframe, row.validity_day_of_week,
        row.validity_hours,
    )


def campaign_window(campaign: Campaign | None, own: engine.Validity) -> engine.Validity:
    """A voucher without its own dates lives in its campaign's window."""
    if campaign is None:
        return own
    inherited = validity_of(campaign)
    return engine.Validity(
        start_date=own.start_date or inherited.start_date,
        expiration_date=own.expiration_date or inherited.expiration_date,
        timeframe_duration=own.timeframe_duration or inherited.timeframe_duration,
        timeframe_interval=own.timeframe_interval or inherited.timeframe_interval,
        day_of_week=own.day_of_week if own.day_of_week is not None else inherited.day_of_week,
        daily_hours=own.daily_hours if own.daily_hours is not None else inherited.daily_hours,
    )



def not_found(obj: engine.RedeemableObject, requested: str) -> engine.Redeemable:
    return engine.Redeemable(object=obj, id=requested, found=False)
