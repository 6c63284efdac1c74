"""Compile a `Redeemable` definition once into a reusable, immutable `CompiledRedeemable`.

Compiled objects hold parsed logic expressions, condition closures, targets, validity windows
and formulas. They carry no per-request data, so a service can cache them per project (keyed by
redeemable id and its `updated_at`) and share them across requests and threads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.engine import error_codes
from app.engine.discounts import default_effect
from app.engine.formulas import Formula, FormulaError, compile_formula
from app.engine.model import BundleRules, DiscountEffect, Redeemable, RedeemableObject
from app.engine.rules import CompiledRuleSet, RuleCompileError, compile_rule_set
from app.engine.targets import CompiledTargets, compile_targets
from app.engine.validity import CompiledValidity, compile_validity


class CompileError(ValueError):
    """A redeemable's definition is invalid (bad logic, operator, formula or duration)."""

    def __init__(self, redeemable_id: str, message: str) -> None:
        super().__init__(f"{redeemable_id}: {message}")
        self.redeemable_id = redeemable_id
        self.code = error_codes.INVALID_VALIDATION_RULES


@dataclass(frozen=True, slots=True)
class CompiledRedeemable:
    source: Redeemable
    validity: CompiledValidity
    rule_sets: tuple[CompiledRuleSet, ...]
    targets: CompiledTargets | None
    bundle: BundleRules | None
    effect: DiscountEffect | None
    formulas: Mapping[str, Formula]
    needs_effect: bool
    tiers: tuple[CompiledRedeemable, ...]
    category_ids: tuple[str, ...]
    hierarchy: int | None  # lowest category hierarchy; None without a category

    @property
    def key(self) -> tuple[RedeemableObject, str]:
        return (self.source.object, self.source.id)


def compile_redeemable(redeemable: Redeemable) -> CompiledRedeemable:
    try:
        return _compile(redeemable)
    except (RuleCompileError, FormulaError, ValueError) as exc:
        if isinstance(exc, CompileError):
            raise
        raise CompileError(redeemable.id, str(exc)) from exc


def _compile(r: Redeemable) -> CompiledRedeemable:
    rule_sets = tuple(compile_rule_set(v) for v in r.validation_rules)
    targets = compile_targets([v.applicable_to for v in r.validation_rules if v.applicable_to])
    bundles = [v.bundle_rules for v in r.validation_rules if v.bundle_rules]
    formulas: dict[str, Formula] = {}
    effect = None
    if r.discount is not None:
        d = r.discount
        effect = default_effect(d, targets is not None and targets.restricts)
        for name, text in (
            ("amount_off", d.amount_off_formula),
            ("percent_off", d.percent_off_formula),
            ("fixed_amount", d.fixed_amount_formula),
        ):
            if text:
                formulas[name] = compile_formula(text)
        for i, unit in enumerate(d.units):
            if unit.unit_off_formula:
                formulas[f"unit_off:{i}"] = compile_formula(unit.unit_off_formula)
    return CompiledRedeemable(
        source=r,
        validity=compile_validity(r.validity),
        rule_sets=rule_sets,
        targets=targets,
        bundle=bundles[0] if bundles else None,
        effect=effect,
        formulas=formulas,
        needs_effect=any(rs.needs_effect for rs in rule_sets),
        tiers=tuple(_compile(t) for t in r.tiers),
        category_ids=tuple(c.id for c in r.categories),
        hierarchy=min((c.hierarchy for c in r.categories), default=None),
    )
