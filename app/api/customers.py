"""GraphQL: customers."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import date, datetime

import strawberry
from strawberry import UNSET
from strawberry.scalars import JSON
from strawberry.types import Info

from app.api.common import DeletePayload, RefInput, delete_mutation, given, mapped, ref_and_changes
from app.api.context import Context
from app.api.errors import UserError, mutation_call, query_call
from app.api.relay import Connection, Node, connection, decode_cursor
from app.db import customers as tables
from app.services import customers as service
from app.services import lookup
from app.services.customers import Upserted
from app.services.errors import ServiceError


@strawberry.type
class Customer(Node):
    id: strawberry.ID
    source_id: str | None
    name: str | None
    email: str | None
    phone: str | None
    birthdate: date | None
    address: JSON | None
    metadata: JSON
    created_at: datetime
    updated_at: datetime | None

    @classmethod
    def from_row(cls, row: tables.Customer) -> Customer:
        return cls(
            id=strawberry.ID(row.id), source_id=row.source_id, name=row.name, email=row.email,
            phone=row.phone, birthdate=row.birthdate, address=row.address,
            metadata=row.metadata_, created_at=row.created_at, updated_at=row.updated_at,
        )


@strawberry.input(
    description="Creates the customer, or updates the one with this id / sourceId (upsert)."
)
class UpsertCustomerInput:
    id: strawberry.ID | None = None
    source_id: str | None = UNSET
    name: str | None = UNSET
    email: str | None = UNSET
    phone: str | None = UNSET
    birthdate: date | None = UNSET
    address: JSON | None = UNSET
    metadata: JSON | None = UNSET


@strawberry.input(description="Names the customer by id (or by sourceId when no id is given).")
class UpdateCustomerInput:
    id: strawberry.ID | None = None
    source_id: str | None = UNSET
    name: str | None = UNSET
    email: str | None = UNSET
    phone: str | None = UNSET
    birthdate: date | None = UNSET
    address: JSON | None = UNSET
    metadata: JSON | None = UNSET


@strawberry.input
class CustomerFilter:
    source_id: str | None = None
    email: str | None = None


@strawberry.type
class CustomerPayload:
    customer: Customer | None = None
    created: bool = False
    errors: list[UserError]


async def _upsert(call: Awaitable[Upserted]) -> CustomerPayload:
    try:
        upserted = await call
    except ServiceError as exc:
        return CustomerPayload(errors=[UserError.from_service(e) for e in exc.errors])
    return CustomerPayload(
        customer=Customer.from_row(upserted.customer), created=upserted.created, errors=[]
    )


def upsert_data(input_: UpsertCustomerInput | None) -> dict[str, object] | None:
    if input_ is None:
        return None
    data = given(input_)
    data["id"] = str(input_.id) if input_.id else None
    return data


@strawberry.type
class CustomerQuery:
    @strawberry.field(description="Customers, newest first.")
    async def customers(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None,
        filter: CustomerFilter | None = None,
    ) -> Connection[Customer]:
        ctx = info.context
        cursor = decode_cursor(after)
        where = []
        if filter and filter.source_id is not None:
            where.append(tables.Customer.source_id == filter.source_id)
        if filter and filter.email is not None:
            where.append(tables.Customer.email == filter.email)
        page = await query_call(
            lookup.page(ctx.db, tables.Customer, ctx.project_id, first=first, after=cursor,
                        where=where)
        )
        return connection(
            page.items, page.has_next, Customer.from_row,
            lambda: lookup.count(ctx.db, tables.Customer, ctx.project_id, where), cursor,
        )

    @strawberry.field
    async def customer(
        self, info: Info[Context, None], id: strawberry.ID | None = None,
        source_id: str | None = None,
    ) -> Customer | None:
        ctx = info.context
        row = await lookup.get_by_ref(
            ctx.db, tables.Customer, ctx.project_id, id_=id, source_id=source_id
        )
        return Customer.from_row(row) if row else None


@strawberry.type
class CustomerMutation:
    @strawberry.mutation(description="Create a customer, or update the one with this sourceId.")
    async def create_customer(
        self, info: Info[Context, None], input: UpsertCustomerInput
    ) -> CustomerPayload:
        ctx = info.context
        return await _upsert(service.upsert_customer(ctx.db, ctx.project_id, upsert_data(input)))

    @strawberry.mutation
    async def update_customer(
        self, info: Info[Context, None], input: UpdateCustomerInput
    ) -> CustomerPayload:
        ctx = info.context
        ref, data = ref_and_changes(input)
        return await mutation_call(
            mapped(service.update_customer(ctx.db, ctx.project_id, ref, data), Customer.from_row),
            CustomerPayload, "customer",
        )

    @strawberry.mutation
    async def delete_customer(self, info: Info[Context, None], input: RefInput) -> DeletePayload:
        return await delete_mutation(info, tables.Customer, "customer", input)
