"""GraphQL: webhook endpoints (the signing secret is shown once) and their deliveries."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import UNSET
from strawberry.scalars import JSON
from strawberry.types import Info

from app.api.common import DeletePayload, given, mapped
from app.api.context import Context
from app.api.enums import WebhookDeliveryStatus
from app.api.errors import UserError, mutation_call, query_call
from app.api.relay import Connection, Node, connection, decode_cursor
from app.db import events as tables
from app.services import lookup
from app.services import webhooks as service
from app.services.errors import ServiceError


@strawberry.type(description="Something that happened, as written to the outbox.")
class Event(Node):
    id: strawberry.ID
    type: str = strawberry.field(description="e.g. redemption.succeeded")
    aggregate_type: str
    aggregate_id: strawberry.ID
    sequence: int = strawberry.field(description="1, 2, 3 … per aggregate, in commit order")
    data: JSON = strawberry.field(description="The objects as this API shows them")
    request_id: str | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: tables.Event) -> Event:
        return cls(
            id=strawberry.ID(row.id), type=row.type, aggregate_type=row.aggregate_type,
            aggregate_id=strawberry.ID(row.aggregate_id), sequence=row.sequence, data=row.data,
            request_id=row.request_id, created_at=row.created_at,
        )


@strawberry.type
class WebhookEndpoint(Node):
    id: strawberry.ID
    url: str
    events: list[str] | None = strawberry.field(description="Event types sent; null = all")
    active: bool
    consecutive_dead_letters: int = strawberry.field(
        description="Deliveries in a row that ended DEAD; the endpoint is disabled at the limit"
    )
    disabled_reason: str | None
    created_at: datetime
    updated_at: datetime | None

    @classmethod
    def from_row(cls, row: tables.WebhookEndpoint) -> WebhookEndpoint:
        return cls(
            id=strawberry.ID(row.id), url=row.url, events=row.events, active=row.active,
            consecutive_dead_letters=row.consecutive_dead, disabled_reason=row.disabled_reason,
            created_at=row.created_at, updated_at=row.updated_at,
        )


@strawberry.type
class WebhookDelivery(Node):
    id: strawberry.ID
    endpoint_id: strawberry.ID
    event_id: strawberry.ID
    event_type: str
    status: WebhookDeliveryStatus
    attempts: int
    response_code: int | None = strawberry.field(description="HTTP status of the last attempt")
    last_error: str | None
    next_attempt_at: datetime | None = strawberry.field(
        description="When it is tried next (PENDING / FAILED only)"
    )
    delivered_at: datetime | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: tables.WebhookDelivery) -> WebhookDelivery:
        waiting = row.status in (tables.DeliveryStatus.PENDING, tables.DeliveryStatus.FAILED)
        return cls(
            id=strawberry.ID(row.id), endpoint_id=strawberry.ID(row.endpoint_id),
            event_id=strawberry.ID(row.event_id), event_type=row.event_type,
            status=WebhookDeliveryStatus(row.status), attempts=row.attempts,
            response_code=row.last_response_code, last_error=row.last_error,
            next_attempt_at=row.next_attempt_at if waiting else None,
            delivered_at=row.delivered_at, created_at=row.created_at,
        )

    @strawberry.field
    async def event(self, info: Info[Context, None]) -> Event | None:
        row = await info.context.loaders.by_id(tables.Event).load(str(self.event_id))
        return Event.from_row(row) if row else None

    @strawberry.field
    async def endpoint(self, info: Info[Context, None]) -> WebhookEndpoint | None:
        row = await info.context.loaders.by_id(tables.WebhookEndpoint).load(str(self.endpoint_id))
        return WebhookEndpoint.from_row(row) if row else None


@strawberry.input
class CreateWebhookEndpointInput:
    url: str
    events: list[str] | None = strawberry.field(
        default=None, description="Event types (redemption.succeeded, voucher.*); null = all"
    )
    active: bool | None = True


@strawberry.input
class UpdateWebhookEndpointInput:
    id: strawberry.ID
    url: str | None = UNSET
    events: list[str] | None = UNSET
    active: bool | None = UNSET


@strawberry.input
class DeleteWebhookEndpointInput:
    id: strawberry.ID


@strawberry.input
class RetryWebhookDeliveryInput:
    id: strawberry.ID


@strawberry.input
class WebhookDeliveryFilter:
    endpoint_id: strawberry.ID | None = None
    status: WebhookDeliveryStatus | None = None
    event_type: str | None = None


@strawberry.type
class CreateWebhookEndpointPayload:
    webhook_endpoint: WebhookEndpoint | None = None
    secret: str | None = strawberry.field(
        default=None, description="The signing secret (whsec_…); shown this once only"
    )
    errors: list[UserError]


@strawberry.type
class WebhookEndpointPayload:
    webhook_endpoint: WebhookEndpoint | None = None
    errors: list[UserError]


@strawberry.type
class WebhookDeliveryPayload:
    webhook_delivery: WebhookDelivery | None = None
    errors: list[UserError]


@strawberry.type
class WebhookQuery:
    @strawberry.field(description="Webhook endpoints, newest first.")
    async def webhook_endpoints(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None,
    ) -> Connection[WebhookEndpoint]:
        ctx = info.context
        cursor = decode_cursor(after)
        page = await query_call(lookup.page(
            ctx.db, tables.WebhookEndpoint, ctx.project_id, first=first, after=cursor
        ))
        return connection(
            page.items, page.has_next, WebhookEndpoint.from_row,
            lambda: lookup.count(ctx.db, tables.WebhookEndpoint, ctx.project_id), cursor,
        )

    @strawberry.field(description="Webhook deliveries, newest first.")
    async def webhook_deliveries(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None,
        filter: WebhookDeliveryFilter | None = None,
    ) -> Connection[WebhookDelivery]:
        ctx = info.context
        cursor = decode_cursor(after)
        where = service.delivery_filter(
            str(filter.endpoint_id) if filter and filter.endpoint_id else None,
            filter.status.value if filter and filter.status else None,
            filter.event_type if filter else None,
        )
        page = await query_call(service.deliveries(
            ctx.db, ctx.project_id, first=first, after=cursor, where=where
        ))
        return connection(
            page.items, page.has_next, WebhookDelivery.from_row,
            lambda: lookup.count(ctx.db, tables.WebhookDelivery, ctx.project_id, where), cursor,
        )


@strawberry.type
class WebhookMutation:
    @strawberry.mutation(description="Register a URL for events; the payload has its secret.")
    async def create_webhook_endpoint(
        self, info: Info[Context, None], input: CreateWebhookEndpointInput
    ) -> CreateWebhookEndpointPayload:
        ctx = info.context
        data = {"url": input.url, "events": input.events, "active": input.active}
        try:
            created = await service.create_endpoint(
                ctx.db, ctx.project_id, data, allow_private=ctx.settings.webhooks_allow_private
            )
        except ServiceError as exc:
            return CreateWebhookEndpointPayload(
                errors=[UserError.from_service(e) for e in exc.errors]
            )
        return CreateWebhookEndpointPayload(
            webhook_endpoint=WebhookEndpoint.from_row(created.endpoint), secret=created.secret,
            errors=[],
        )

    @strawberry.mutation
    async def update_webhook_endpoint(
        self, info: Info[Context, None], input: UpdateWebhookEndpointInput
    ) -> WebhookEndpointPayload:
        ctx = info.context
        data = given(input, exclude=("id",))
        return await mutation_call(
            mapped(service.update_endpoint(ctx.db, ctx.project_id, str(input.id), data,
                                           allow_private=ctx.settings.webhooks_allow_private),
                   WebhookEndpoint.from_row),
            WebhookEndpointPayload, "webhook_endpoint",
        )

    @strawberry.mutation
    async def delete_webhook_endpoint(
        self, info: Info[Context, None], input: DeleteWebhookEndpointInput
    ) -> DeletePayload:
        ctx = info.context
        return await mutation_call(
            mapped(service.delete_endpoint(ctx.db, ctx.project_id, str(input.id)),
                   lambda row: strawberry.ID(row.id)),
            DeletePayload, "deleted_id",
        )

    @strawberry.mutation(description="Send a delivery again now (a DEAD one gets one attempt).")
    async def retry_webhook_delivery(
        self, info: Info[Context, None], input: RetryWebhookDeliveryInput
    ) -> WebhookDeliveryPayload:
        ctx = info.context
        return await mutation_call(
            mapped(service.retry_delivery(ctx.db, ctx.project_id, str(input.id)),
                   WebhookDelivery.from_row),
            WebhookDeliveryPayload, "webhook_delivery",
        )
