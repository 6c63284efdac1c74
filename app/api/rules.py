"""GraphQL: validation rules and their assignments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from aiodataloader import DataLoader
from strawberry import UNSET
from strawberry.scalars import JSON
from strawberry.types import Info

from app.api.common import DeletePayload, mapped
from app.api.context import Context
from app.api.errors import UserError, mutation_call, query_call
from app.api.redeemable_types import data_of
from app.api.relay import Connection, Node, connection, decode_cursor
from app.api.scalars import SafeInt
from app.db import rules as tables
from app.services import lookup
from app.services import rules as service


@strawberry.type
class RuleError:
    message: str | None


@strawberry.type(description="One numbered rule; conditions keep the reference's operators.")
class Rule:
    number: int = strawberry.field(description="1, 2, 3 … as named in `logic`")
    name: str
    property: str | None
    conditions: JSON
    rules: list[Rule]
    logic: str | None
    error: RuleError | None

    @classmethod
    def list_from(cls, numbered: dict[str, Any]) -> list[Rule]:
        keys = sorted((k for k in numbered if k != "logic"), key=int)
        return [cls.from_stored(int(k), numbered[k]) for k in keys]

    @classmethod
    def from_stored(cls, number: int, data: dict[str, Any]) -> Rule:
        sub = data.get("rules") or {}
        message = (data.get("error") or {}).get("message")
        return cls(
            number=number, name=data["name"], property=data.get("property"),
            conditions=data.get("conditions") or {}, rules=cls.list_from(sub),
            logic=sub.get("logic"), error=RuleError(message=message) if message else None,
        )


@strawberry.type
class ApplicableTo:
    object: str
    id: strawberry.ID
    source_id: str | None
    effect: str | None
    target: str | None
    quantity_limit: int | None
    aggregated_quantity_limit: int | None
    amount_limit: SafeInt | None
    aggregated_amount_limit: SafeInt | None
    price: SafeInt | None
    skip_initially: int | None
    repeat: int | None

    @classmethod
    def from_stored(cls, data: dict[str, Any]) -> ApplicableTo:
        return cls(
            object=data["object"], id=strawberry.ID(data["id"]), source_id=data.get("source_id"),
            **{k: data.get(k) for k in service.TARGET_FIELDS},
        )


@strawberry.type
class ApplicableToSet:
    included: list[ApplicableTo]
    excluded: list[ApplicableTo]
    included_all: bool


@strawberry.type
class ValidationRuleAssignment(Node):
    id: strawberry.ID
    rule_id: strawberry.ID
    related_object_type: str = strawberry.field(description="campaign | voucher | promotion_tier")
    related_object_id: strawberry.ID
    created_at: datetime

    @classmethod
    def from_row(cls, row: tables.ValidationRuleAssignment) -> ValidationRuleAssignment:
        return cls(
            id=strawberry.ID(row.id), rule_id=strawberry.ID(row.rule_id),
            related_object_type=row.related_object_type,
            related_object_id=strawberry.ID(row.related_object_id), created_at=row.created_at,
        )


@strawberry.type
class ValidationRule(Node):
    id: strawberry.ID
    name: str
    rules: list[Rule]
    logic: str | None
    error: RuleError | None
    applicable_to: ApplicableToSet | None
    bundle_rules: JSON | None
    created_at: datetime
    updated_at: datetime | None

    @classmethod
    def from_row(cls, row: tables.ValidationRule) -> ValidationRule:
        applicable = row.applicable_to
        return cls(
            id=strawberry.ID(row.id), name=row.name, rules=Rule.list_from(row.rules),
            logic=row.rules.get("logic"),
            error=RuleError(message=row.error_message) if row.error_message else None,
            applicable_to=ApplicableToSet(
                included=[ApplicableTo.from_stored(t) for t in applicable.get("included", [])],
                excluded=[ApplicableTo.from_stored(t) for t in applicable.get("excluded", [])],
                included_all=bool(applicable.get("included_all")),
            ) if applicable else None,
            bundle_rules=row.bundle_rules, created_at=row.created_at, updated_at=row.updated_at,
        )

    @strawberry.field(description="Where the rule is used.")
    async def assignments(self, info: Info[Context, None]) -> list[ValidationRuleAssignment]:
        ctx = info.context
        loader = ctx.extra.get("assignments_of")
        if loader is None:
            async def batch(ids: list[str]) -> list[Any]:
                found = await service.assignments_of_rules(ctx.db, ctx.project_id, ids)
                return [found[i] for i in ids]

            loader = ctx.extra["assignments_of"] = DataLoader(batch)
        rows = await loader.load(str(self.id))
        return [ValidationRuleAssignment.from_row(r) for r in rows]


@strawberry.input
class RuleErrorInput:
    message: str | None = None


@strawberry.input
class RuleInput:
    name: str
    property: str | None = None
    conditions: JSON = strawberry.field(description='e.g. {"$more_than": [5000]}')
    rules: list[RuleInput] | None = None
    logic: str | None = None
    error: RuleErrorInput | None = None


@strawberry.input(description="A product, SKU or collection, by id or (product/SKU) sourceId.")
class ApplicableToInput:
    object: str = strawberry.field(description="product | sku | products_collection")
    id: strawberry.ID | None = None
    source_id: str | None = None
    effect: str | None = None
    quantity_limit: int | None = None
    aggregated_quantity_limit: int | None = None
    amount_limit: SafeInt | None = None
    aggregated_amount_limit: SafeInt | None = None
    price: SafeInt | None = None
    target: str | None = None
    skip_initially: int | None = None
    repeat: int | None = None


@strawberry.input
class ApplicableToSetInput:
    included: list[ApplicableToInput] | None = None
    excluded: list[ApplicableToInput] | None = None
    included_all: bool | None = None


@strawberry.input
class CreateValidationRuleInput:
    name: str
    rules: list[RuleInput]
    logic: str | None = strawberry.field(
        default=None, description='"1 and (2 or 3)"; default: all rules joined by "and"'
    )
    error: RuleErrorInput | None = None
    applicable_to: ApplicableToSetInput | None = None
    bundle_rules: JSON | None = strawberry.field(
        default=None, description='{"items": [{"object", "id", "quantity"}], "limit": 1}'
    )


@strawberry.input(description="Rules and logic are replaced together.")
class UpdateValidationRuleInput:
    id: strawberry.ID
    name: str | None = UNSET
    rules: list[RuleInput] | None = UNSET
    logic: str | None = UNSET
    error: RuleErrorInput | None = UNSET
    applicable_to: ApplicableToSetInput | None = UNSET
    bundle_rules: JSON | None = UNSET


@strawberry.input
class DeleteValidationRuleInput:
    id: strawberry.ID
    force: bool = strawberry.field(
        default=False, description="Delete even when assigned (drops the assignments)"
    )


@strawberry.type
class ValidationRulePayload:
    validation_rule: ValidationRule | None = None
    errors: list[UserError]


@strawberry.type
class ValidationRuleQuery:
    @strawberry.field(description="Validation rules, newest first.")
    async def validation_rules(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None
    ) -> Connection[ValidationRule]:
        ctx = info.context
        cursor = decode_cursor(after)
        page = await query_call(
            lookup.page(ctx.db, tables.ValidationRule, ctx.project_id, first=first, after=cursor)
        )
        return connection(
            page.items, page.has_next, ValidationRule.from_row,
            lambda: lookup.count(ctx.db, tables.ValidationRule, ctx.project_id), cursor,
        )

    @strawberry.field
    async def validation_rule(
        self, info: Info[Context, None], id: strawberry.ID
    ) -> ValidationRule | None:
        row = await info.context.loaders.by_id(tables.ValidationRule).load(str(id))
        return ValidationRule.from_row(row) if row else None


@strawberry.type
class ValidationRuleMutation:
    @strawberry.mutation
    async def create_validation_rule(
        self, info: Info[Context, None], input: CreateValidationRuleInput
    ) -> ValidationRulePayload:
        ctx = info.context
        return await mutation_call(
            mapped(service.create_validation_rule(ctx.db, ctx.project_id, data_of(input)),
                   ValidationRule.from_row),
            ValidationRulePayload, "validation_rule",
        )

    @strawberry.mutation
    async def update_validation_rule(
        self, info: Info[Context, None], input: UpdateValidationRuleInput
    ) -> ValidationRulePayload:
        ctx = info.context
        data = data_of(input)
        data.pop("id")
        return await mutation_call(
            mapped(service.update_validation_rule(ctx.db, ctx.project_id, str(input.id), data),
                   ValidationRule.from_row),
            ValidationRulePayload, "validation_rule",
        )

    @strawberry.mutation
    async def delete_validation_rule(
        self, info: Info[Context, None], input: DeleteValidationRuleInput
    ) -> DeletePayload:
        ctx = info.context
        return await mutation_call(
            mapped(service.delete_validation_rule(ctx.db, ctx.project_id, str(input.id),
                                                  force=input.force),
                   lambda row: strawberry.ID(row.id)),
            DeletePayload, "deleted_id",
        )
