"""Stacking rules (reference §4.3): request checks, sorting, limits and exclusivity."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from app.engine import error_codes
from app.engine.compile import CompiledRedeemable
from app.engine.model import (
    CalculationMode,
    CategoryType,
    NoEffectRule,
    RedeemableObject,
    SortingRule,
    StackingRules,
)


class RequestError(Exception):
    """A request-level problem; `code` is the stable key the API turns into a UserError."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Stackability(StrEnum):
    COMMON = "COMMON"
    EXCLUSIVE = "EXCLUSIVE"  # "Never stackable"
    JOINT = "JOINT"  # "Always stackable"


def check_request(keys: Sequence[tuple[RedeemableObject, str]], rules: StackingRules) -> None:
    if not keys:
        raise RequestError(error_codes.INVALID_PAYLOAD, "At least one redeemable is required")
    if len(keys) > rules.redeemables_limit:
        raise RequestError(
            error_codes.TOO_MANY_REDEEMABLES,
            f"At most {rules.redeemables_limit} redeemables are allowed per request",
        )
    if len(set(keys)) != len(keys):
        raise RequestError(error_codes.DUPLICATED_REDEEMABLES, "Duplicated redeemables detected")
    stacks = sum(1 for obj, _ in keys if obj is RedeemableObject.PROMOTION_STACK)
    if stacks and len(keys) > 1:
        raise RequestError(
            error_codes.INVALID_REDEEMABLES, "Promotion Stack cannot be use with other redeemables"
        )


def sort_positions(compiled: Sequence[CompiledRedeemable], rules: StackingRules) -> list[int]:
    """Application order: request order, or category hierarchy (lower first, uncategorised
    last) with ties kept in request order."""
    positions = list(range(len(compiled)))
    if rules.redeemables_sorting_rule is SortingRule.CATEGORY_HIERARCHY:
        positions.sort(key=lambda i: (compiled[i].hierarchy is None, compiled[i].hierarchy or 0, i))
    return positions


def stackability(c: CompiledRedeemable, rules: StackingRules) -> Stackability:
    joint = False
    for cat in c.source.categories:
        if (
            cat.id in rules.exclusive_categories
            or cat.stacking_rules_type is CategoryType.EXCLUSIVE
        ):
            return Stackability.EXCLUSIVE
        if cat.id in rules.joint_categories or cat.stacking_rules_type is CategoryType.JOINT:
            joint = True
    return Stackability.JOINT if joint else Stackability.COMMON


def calculation_mode(c: CompiledRedeemable, rules: StackingRules) -> CalculationMode:
    ids = set(c.category_ids)
    if ids & rules.initial_amount_mode_categories:
        return CalculationMode.INITIAL_AMOUNT
    if ids & rules.discounted_amount_mode_categories:
        return CalculationMode.DISCOUNTED_AMOUNT
    return rules.discount_calculation_mode


def no_effect_rule(c: CompiledRedeemable, rules: StackingRules) -> NoEffectRule:
    ids = set(c.category_ids)
    if ids & rules.no_effect_skip_categories:
        return NoEffectRule.SKIP
    if ids & rules.no_effect_redeem_anyway_categories:
        return NoEffectRule.REDEEM_ANYWAY
    return rules.redeemables_no_effect_rule


@dataclass(slots=True)
class StackCounters:
    """What has been applied so far in this request, for the applicable limits."""

    total: int = 0
    exclusive: int = 0
    per_category: dict[str, int] = field(default_factory=dict)
    exclusive_per_category: dict[str, int] = field(default_factory=dict)
    common_positions: list[int] = field(default_factory=list)

    def skip_key(
        self, c: CompiledRedeemable, kind: Stackability, rules: StackingRules
    ) -> str | None:
        if self.total >= rules.applicable_redeemables_limit:
            return error_codes.APPLICABLE_REDEEMABLES_LIMIT_EXCEEDED
        for cat in c.category_ids:
            limit = rules.applicable_redeemables_category_limits.get(
                cat, rules.applicable_redeemables_per_category_limit
            )
            if self.per_category.get(cat, 0) >= limit:
                return error_codes.APPLICABLE_REDEEMABLES_PER_CATEGORY_LIMIT_EXCEEDED
        if kind is Stackability.EXCLUSIVE:
            key = self.exclusive_key(c, rules)
            if key is not None:
                return key
        if kind is Stackability.COMMON and self.exclusive > 0:
            return error_codes.EXCLUSION_RULES_NOT_MET
        return None

    def exclusive_key(self, c: CompiledRedeemable, rules: StackingRules) -> str | None:
        if self.exclusive >= rules.applicable_exclusive_redeemables_limit:
            return error_codes.APPLICABLE_EXCLUSIVE_REDEEMABLES_LIMIT_EXCEEDED
        for cat in c.category_ids:
            limit = rules.applicable_exclusive_redeemables_per_category_limit
            if self.exclusive_per_category.get(cat, 0) >= limit:
                return error_codes.APPLICABLE_EXCLUSIVE_REDEEMABLES_PER_CATEGORY_LIMIT_EXCEEDED
        return None

    def record(self, c: CompiledRedeemable, kind: Stackability, position: int) -> None:
        self.total += 1
        for cat in c.category_ids:
            self.per_category[cat] = self.per_category.get(cat, 0) + 1
        if kind is Stackability.EXCLUSIVE:
            self.exclusive += 1
            for cat in c.category_ids:
                self.exclusive_per_category[cat] = self.exclusive_per_category.get(cat, 0) + 1
        elif kind is Stackability.COMMON:
            self.common_positions.append(position)
