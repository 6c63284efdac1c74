"""GraphQL: categories (a kind of JOINT "always stackable", EXCLUSIVE "never stackable", or
none: a common category)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import UNSET
from strawberry.types import Info

from app.api.common import DeletePayload, RefInput, delete_mutation, given, mapped
from app.api.context import Context
from app.api.enums import StackingRulesType
from app.api.errors import UserError, mutation_call, query_call
from app.api.relay import Connection, Node, connection, decode_cursor
from app.db import categories as tables
from app.services import categories as service
from app.services import lookup


@strawberry.type
class Category(Node):
    id: strawberry.ID
    name: str
    hierarchy: int = strawberry.field(description="Lower numbers are applied first")
    stacking_rules_type: StackingRulesType | None = strawberry.field(
        description="JOINT (always stackable), EXCLUSIVE (never stackable) or null: common, "
        "stacks with common and joint ones but yields to an exclusive one"
    )
    created_at: datetime
    updated_at: datetime | None

    @classmethod
    def from_row(cls, row: tables.Category) -> Category:
        return cls(
            id=strawberry.ID(row.id), name=row.name, hierarchy=row.hierarchy,
            stacking_rules_type=StackingRulesType(row.stacking_rules_type)
            if row.stacking_rules_type else None,
            created_at=row.created_at, updated_at=row.updated_at,
        )


@strawberry.input
class CreateCategoryInput:
    name: str
    hierarchy: int | None = None
    stacking_rules_type: StackingRulesType | None = strawberry.field(
        default=None, description="Omitted or null: a common category"
    )


@strawberry.input
class UpdateCategoryInput:
    id: strawberry.ID
    name: str | None = UNSET
    hierarchy: int | None = UNSET
    stacking_rules_type: StackingRulesType | None = strawberry.field(
        default=UNSET, description="null makes the category common"
    )


@strawberry.type
class CategoryPayload:
    category: Category | None = None
    errors: list[UserError]


def _data(input_: CreateCategoryInput | UpdateCategoryInput) -> dict[str, object]:
    data = given(input_, exclude=("id",))
    kind = data.get("stacking_rules_type")
    if kind is not None:
        data["stacking_rules_type"] = kind.value
    return data


@strawberry.type
class CategoryQuery:
    @strawberry.field(description="Categories, newest first.")
    async def categories(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None
    ) -> Connection[Category]:
        ctx = info.context
        cursor = decode_cursor(after)
        page = await query_call(
            lookup.page(ctx.db, tables.Category, ctx.project_id, first=first, after=cursor)
        )
        return connection(
            page.items, page.has_next, Category.from_row,
            lambda: lookup.count(ctx.db, tables.Category, ctx.project_id), cursor,
        )

    @strawberry.field
    async def category(self, info: Info[Context, None], id: strawberry.ID) -> Category | None:
        row = await info.context.loaders.category.load(str(id))
        return Category.from_row(row) if row else None


@strawberry.type
class CategoryMutation:
    @strawberry.mutation
    async def create_category(
        self, info: Info[Context, None], input: CreateCategoryInput
    ) -> CategoryPayload:
        ctx = info.context
        return await mutation_call(
            mapped(service.create_category(ctx.db, ctx.project_id, _data(input)),
                 Category.from_row),
            CategoryPayload, "category",
        )

    @strawberry.mutation
    async def update_category(
        self, info: Info[Context, None], input: UpdateCategoryInput
    ) -> CategoryPayload:
        ctx = info.context
        return await mutation_call(
            mapped(service.update_category(ctx.db, ctx.project_id, str(input.id), _data(input)),
                 Category.from_row),
            CategoryPayload, "category",
        )

    @strawberry.mutation
    async def delete_category(self, info: Info[Context, None], input: RefInput) -> DeletePayload:
        return await delete_mutation(info, tables.Category, "category", input)
