"""GraphQL: the project's stacking rules."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry import UNSET
from strawberry.scalars import JSON
from strawberry.types import Info

from app.api.context import Context
from app.api.enums import (
    DiscountCalculationMode,
    RedeemablesApplicationMode,
    RedeemablesNoEffectRule,
    RedeemablesProductsApplicationMode,
    RedeemablesRollbackOrderMode,
    RedeemablesSortingRule,
)
from app.api.errors import UserError, mutation_call
from app.api.redeemable_types import data_of
from app.services import stacking_rules as service


@strawberry.type(description="The effective stacking rules (defaults where never set).")
class StackingRules:
    redeemables_limit: int
    applicable_redeemables_limit: int
    applicable_redeemables_per_category_limit: int
    applicable_redeemables_category_limits: JSON
    applicable_exclusive_redeemables_limit: int
    applicable_exclusive_redeemables_per_category_limit: int
    exclusive_categories: list[strawberry.ID]
    joint_categories: list[strawberry.ID]
    redeemables_application_mode: RedeemablesApplicationMode
    redeemables_sorting_rule: RedeemablesSortingRule
    redeemables_products_application_mode: RedeemablesProductsApplicationMode
    redeemables_no_effect_rule: RedeemablesNoEffectRule
    no_effect_skip_categories: list[strawberry.ID]
    no_effect_redeem_anyway_categories: list[strawberry.ID]
    discount_calculation_mode: DiscountCalculationMode
    initial_amount_mode_categories: list[strawberry.ID]
    discounted_amount_mode_categories: list[strawberry.ID]
    redeemables_rollback_order_mode: RedeemablesRollbackOrderMode

    @classmethod
    def from_effective(cls, rules: dict[str, Any]) -> StackingRules:
        enums = {
            "redeemables_application_mode": RedeemablesApplicationMode,
            "redeemables_sorting_rule": RedeemablesSortingRule,
            "redeemables_products_application_mode": RedeemablesProductsApplicationMode,
            "redeemables_no_effect_rule": RedeemablesNoEffectRule,
            "discount_calculation_mode": DiscountCalculationMode,
            "redeemables_rollback_order_mode": RedeemablesRollbackOrderMode,
        }
        return cls(**{k: enums[k](v) if k in enums else v for k, v in rules.items()})


@strawberry.input(description="Sets the given rules; null resets one to its default.")
class StackingRulesInput:
    redeemables_limit: int | None = UNSET
    applicable_redeemables_limit: int | None = UNSET
    applicable_redeemables_per_category_limit: int | None = UNSET
    applicable_redeemables_category_limits: JSON | None = UNSET
    applicable_exclusive_redeemables_limit: int | None = UNSET
    applicable_exclusive_redeemables_per_category_limit: int | None = UNSET
    exclusive_categories: list[strawberry.ID] | None = UNSET
    joint_categories: list[strawberry.ID] | None = UNSET
    redeemables_application_mode: RedeemablesApplicationMode | None = UNSET
    redeemables_sorting_rule: RedeemablesSortingRule | None = UNSET
    redeemables_products_application_mode: RedeemablesProductsApplicationMode | None = UNSET
    redeemables_no_effect_rule: RedeemablesNoEffectRule | None = UNSET
    no_effect_skip_categories: list[strawberry.ID] | None = UNSET
    no_effect_redeem_anyway_categories: list[strawberry.ID] | None = UNSET
    discount_calculation_mode: DiscountCalculationMode | None = UNSET
    initial_amount_mode_categories: list[strawberry.ID] | None = UNSET
    discounted_amount_mode_categories: list[strawberry.ID] | None = UNSET
    redeemables_rollback_order_mode: RedeemablesRollbackOrderMode | None = UNSET


@strawberry.type
class StackingRulesPayload:
    stacking_rules: StackingRules | None = None
    errors: list[UserError]


async def _mapped(call: Any) -> StackingRules:
    return StackingRules.from_effective(await call)


@strawberry.type
class StackingRulesQuery:
    @strawberry.field(description="The project's stacking rules in effect.")
    async def stacking_rules(self, info: Info[Context, None]) -> StackingRules:
        ctx = info.context
        return StackingRules.from_effective(
            await service.get_stacking_rules(ctx.db, ctx.project_id)
        )


@strawberry.type
class StackingRulesMutation:
    @strawberry.mutation
    async def update_stacking_rules(
        self, info: Info[Context, None], input: StackingRulesInput
    ) -> StackingRulesPayload:
        ctx = info.context
        return await mutation_call(
            _mapped(service.update_stacking_rules(ctx.db, ctx.project_id, data_of(input))),
            StackingRulesPayload, "stacking_rules",
        )
