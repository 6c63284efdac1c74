"""GraphQL: orders and their items."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import UNSET
from strawberry.scalars import JSON
from strawberry.types import Info

from app.api.catalog import Product, Sku
from app.api.common import DeletePayload, RefInput, delete_mutation, given, mapped, ref_and_changes
from app.api.context import Context
from app.api.customers import Customer, UpsertCustomerInput, upsert_data
from app.api.enums import OrderStatus
from app.api.errors import UserError, mutation_call, query_call
from app.api.relay import Connection, Node, connection, decode_cursor
from app.api.scalars import SafeInt
from app.db import catalog as catalog_tables
from app.db import customers as customer_tables
from app.db import orders as tables
from app.services import lookup
from app.services import orders as service

if TYPE_CHECKING:
    from app.api.redemptions import Redemption


@strawberry.type
class OrderItem:
    index: int
    product_id: strawberry.ID | None
    sku_id: strawberry.ID | None
    source_id: str | None
    related_object: str | None = strawberry.field(
        description="product, sku, shipping (the built-in shipping product prod_5h1pp1ng), "
        "or null if unknown"
    )
    quantity: int
    price: SafeInt | None
    amount: SafeInt
    discount_amount: SafeInt = strawberry.field(description="Discounts on this line")
    discount_quantity: int
    added_quantity: int = strawberry.field(description="Free units added by unit effects")
    metadata: JSON

    @classmethod
    def from_row(cls, row: tables.OrderItem) -> OrderItem:
        return cls(
            index=row.position,
            product_id=strawberry.ID(product_id) if (
                product_id := tables.line_product_id(row.product_id, row.related_object)
            ) else None,
            sku_id=strawberry.ID(row.sku_id) if row.sku_id else None, source_id=row.source_id,
            related_object=row.related_object, quantity=row.quantity, price=row.price,
            amount=row.amount, discount_amount=row.discount_amount,
            discount_quantity=row.discount_quantity, added_quantity=row.added_quantity,
            metadata=row.metadata_,
        )

    @strawberry.field
    async def product(self, info: Info[Context, None]) -> Product | None:
        row = await info.context.loaders.optional(catalog_tables.Product, self.product_id)
        return Product.from_row(row) if row else None

    @strawberry.field
    async def sku(self, info: Info[Context, None]) -> Sku | None:
        row = await info.context.loaders.optional(catalog_tables.Sku, self.sku_id)
        return Sku.from_row(row) if row else None


@strawberry.type
class Order(Node):
    id: strawberry.ID
    source_id: str | None
    status: OrderStatus
    amount: SafeInt = strawberry.field(description="Order amount in minor units, before discounts")
    discount_amount: SafeInt = strawberry.field(description="Order-level discounts (redemptions)")
    items_discount_amount: SafeInt
    total_discount_amount: SafeInt
    total_amount: SafeInt = strawberry.field(description="What the customer pays after discounts")
    customer_id: strawberry.ID | None
    metadata: JSON
    created_at: datetime
    updated_at: datetime | None

    @classmethod
    def from_row(cls, row: tables.Order) -> Order:
        return cls(
            id=strawberry.ID(row.id), source_id=row.source_id, status=OrderStatus(row.status),
            amount=row.amount, discount_amount=row.discount_amount,
            items_discount_amount=row.items_discount_amount,
            total_discount_amount=row.total_discount_amount,
            total_amount=row.total_amount if row.total_amount is not None else row.amount,
            customer_id=strawberry.ID(row.customer_id) if row.customer_id else None,
            metadata=row.metadata_, created_at=row.created_at, updated_at=row.updated_at,
        )

    @strawberry.field
    async def items(self, info: Info[Context, None]) -> list[OrderItem]:
        rows = await info.context.loaders.order_items.load(str(self.id))
        return [OrderItem.from_row(row) for row in rows]

    @strawberry.field
    async def customer(self, info: Info[Context, None]) -> Customer | None:
        row = await info.context.loaders.optional(customer_tables.Customer, self.customer_id)
        return Customer.from_row(row) if row else None

    @strawberry.field(description="Redemptions made with this order (parents and children)")
    async def redemptions(
        self, info: Info[Context, None]
    ) -> list[Annotated[Redemption, strawberry.lazy("app.api.redemptions")]]:
        from app.api.redemptions import Redemption

        rows = await info.context.loaders.redemptions_of_order.load(str(self.id))
        return [Redemption.from_row(r) for r in rows]


@strawberry.input(description="A product or SKU by id or source id (max 500 items per order).")
class OrderItemInput:
    quantity: int
    product_id: strawberry.ID | None = None
    sku_id: strawberry.ID | None = None
    source_id: str | None = None
    price: SafeInt | None = strawberry.field(
        default=None, description="Unit price; taken from the SKU, then the product, if omitted"
    )
    amount: SafeInt | None = strawberry.field(
        default=None, description="Line amount; price × quantity if omitted"
    )
    metadata: JSON | None = None


@strawberry.input
class CreateOrderInput:
    source_id: str | None = None
    status: OrderStatus | None = None
    amount: SafeInt | None = strawberry.field(
        default=None, description="Σ item amounts if omitted"
    )
    items: list[OrderItemInput] | None = None
    customer: UpsertCustomerInput | None = None
    metadata: JSON | None = None


@strawberry.input(description="Names the order by id (or by sourceId when no id is given).")
class UpdateOrderInput:
    id: strawberry.ID | None = None
    source_id: str | None = UNSET
    status: OrderStatus | None = UNSET
    amount: SafeInt | None = UNSET
    items: list[OrderItemInput] | None = UNSET
    customer: UpsertCustomerInput | None = UNSET
    metadata: JSON | None = UNSET


@strawberry.input
class OrderFilter:
    status: OrderStatus | None = None
    customer_id: strawberry.ID | None = None
    source_id: str | None = None


@strawberry.type
class OrderPayload:
    order: Order | None = None
    errors: list[UserError]


def _items(items: list[OrderItemInput] | None) -> list[service.ItemInput] | None:
    if items is None:
        return None
    return [
        service.ItemInput(
            product_id=str(i.product_id) if i.product_id else None,
            sku_id=str(i.sku_id) if i.sku_id else None,
            source_id=i.source_id, quantity=i.quantity, price=i.price, amount=i.amount,
            metadata=i.metadata,
        )
        for i in items
    ]


def _order_data(data: dict[str, object], input_: CreateOrderInput | UpdateOrderInput) -> dict:
    if "status" in data and input_.status is not None:
        data["status"] = input_.status.value
    if "items" in data:
        data["items"] = _items(input_.items)  # type: ignore[arg-type]
    if "customer" in data:
        data["customer"] = upsert_data(input_.customer)  # type: ignore[arg-type]
    return data


@strawberry.type
class OrderQuery:
    @strawberry.field(description="Orders, newest first.")
    async def orders(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None,
        filter: OrderFilter | None = None,
    ) -> Connection[Order]:
        ctx = info.context
        cursor = decode_cursor(after)
        where = []
        if filter and filter.status is not None:
            where.append(tables.Order.status == filter.status.value)
        if filter and filter.customer_id is not None:
            where.append(tables.Order.customer_id == str(filter.customer_id))
        if filter and filter.source_id is not None:
            where.append(tables.Order.source_id == filter.source_id)
        page = await query_call(
            lookup.page(ctx.db, tables.Order, ctx.project_id, first=first, after=cursor,
                        where=where)
        )
        return connection(
            page.items, page.has_next, Order.from_row,
            lambda: lookup.count(ctx.db, tables.Order, ctx.project_id, where), cursor,
        )

    @strawberry.field
    async def order(
        self, info: Info[Context, None], id: strawberry.ID | None = None,
        source_id: str | None = None,
    ) -> Order | None:
        ctx = info.context
        row = await lookup.get_by_ref(
            ctx.db, tables.Order, ctx.project_id, id_=id, source_id=source_id
        )
        return Order.from_row(row) if row else None


@strawberry.type
class OrderMutation:
    @strawberry.mutation
    async def create_order(
        self, info: Info[Context, None], input: CreateOrderInput
    ) -> OrderPayload:
        ctx = info.context
        data = _order_data(given(input), input)
        return await mutation_call(
            mapped(service.create_order(ctx.db, ctx.project_id, data), Order.from_row),
            OrderPayload, "order",
        )

    @strawberry.mutation
    async def update_order(
        self, info: Info[Context, None], input: UpdateOrderInput
    ) -> OrderPayload:
        ctx = info.context
        ref, data = ref_and_changes(input)
        return await mutation_call(
            mapped(
                service.update_order(ctx.db, ctx.project_id, ref, _order_data(data, input)),
                Order.from_row,
            ),
            OrderPayload, "order",
        )

    @strawberry.mutation
    async def delete_order(self, info: Info[Context, None], input: RefInput) -> DeletePayload:
        return await delete_mutation(info, tables.Order, "order", input)
