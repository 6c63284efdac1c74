"""GraphQL: publishVoucher and the publications list."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from app.api.common import given
from app.api.context import Context
from app.api.customers import Customer
from app.api.errors import UserError, query_call
from app.api.relay import Connection, Node, connection, decode_cursor
from app.api.validation import CustomerInput
from app.api.vouchers import Voucher
from app.db import vouchers as tables
from app.services import lookup
from app.services import publications as service
from app.services.errors import ServiceError


@strawberry.type
class Publication(Node):
    id: strawberry.ID
    customer_id: strawberry.ID
    voucher_id: strawberry.ID
    campaign_id: strawberry.ID | None
    channel: str | None
    source_id: str | None
    metadata: JSON
    created_at: datetime

    @classmethod
    def from_row(cls, row: tables.Publication) -> Publication:
        return cls(
            id=strawberry.ID(row.id), customer_id=strawberry.ID(row.customer_id),
            voucher_id=strawberry.ID(row.voucher_id),
            campaign_id=strawberry.ID(row.campaign_id) if row.campaign_id else None,
            channel=row.channel, source_id=row.source_id, metadata=row.metadata_,
            created_at=row.created_at,
        )

    @strawberry.field
    async def voucher(self, info: Info[Context, None]) -> Voucher | None:
        row = await info.context.loaders.by_id(tables.Voucher).load(str(self.voucher_id))
        return Voucher.from_row(row) if row else None

    @strawberry.field
    async def customer(self, info: Info[Context, None]) -> Customer | None:
        row = await info.context.loaders.customer.load(str(self.customer_id))
        return Customer.from_row(row) if row else None


@strawberry.input(description="Give a customer a specific code, or the next free one of a "
                              "campaign. sourceId makes it idempotent.")
class PublishVoucherInput:
    customer: CustomerInput
    campaign_id: strawberry.ID | None = None
    code: str | None = None
    channel: str | None = None
    source_id: str | None = None
    metadata: JSON | None = None


@strawberry.type
class PublishVoucherPayload:
    publication: Publication | None = None
    voucher: Voucher | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class PublicationFilter:
    customer_id: strawberry.ID | None = None
    campaign_id: strawberry.ID | None = None
    voucher_id: strawberry.ID | None = None


def _data(input_: PublishVoucherInput) -> dict[str, object]:
    data = given(input_, exclude=("customer",))
    if input_.campaign_id is not None:
        data["campaign_id"] = str(input_.campaign_id)
    c = input_.customer
    customer = given(c)
    customer["id"] = str(c.id) if c.id else None
    data["customer"] = customer
    return data


@strawberry.type
class PublicationQuery:
    @strawberry.field(description="Publications, newest first.")
    async def publications(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None,
        filter: PublicationFilter | None = None,
    ) -> Connection[Publication]:
        ctx = info.context
        cursor = decode_cursor(after)
        where = []
        t = tables.Publication
        if filter is not None:
            for column, value in ((t.customer_id, filter.customer_id),
                                  (t.campaign_id, filter.campaign_id),
                                  (t.voucher_id, filter.voucher_id)):
                if value is not None:
                    where.append(column == str(value))
        page = await query_call(
            lookup.page(ctx.db, t, ctx.project_id, first=first, after=cursor, where=where)
        )
        return connection(
            page.items, page.has_next, Publication.from_row,
            lambda: lookup.count(ctx.db, t, ctx.project_id, where), cursor,
        )


@strawberry.type
class PublicationMutation:
    @strawberry.mutation(description="Assign a code to a customer (the customer is upserted).")
    async def publish_voucher(
        self, info: Info[Context, None], input: PublishVoucherInput
    ) -> PublishVoucherPayload:
        ctx = info.context
        try:
            done = await service.publish(ctx.db, ctx.project_id, _data(input))
        except ServiceError as exc:
            return PublishVoucherPayload(errors=[UserError.from_service(e) for e in exc.errors])
        return PublishVoucherPayload(
            publication=Publication.from_row(done.publication),
            voucher=Voucher.from_row(done.voucher),
        )
