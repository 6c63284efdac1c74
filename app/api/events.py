"""GraphQL subscriptions: the project's committed events, over graphql-transport-ws."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from app.api.context import Context
from app.api.errors import FORBIDDEN, UNAUTHENTICATED, ApiError
from app.api.loaders import Loaders
from app.api.redemptions import Redemption
from app.api.webhooks import Event
from app.db import events as tables
from app.db.redemptions import Redemption as RedemptionRow
from app.engine.error_codes import UNAVAILABLE
from app.events import outbox
from app.events.broker import Broker
from app.services import lookup

REDEMPTION_EVENTS = {"redemption.succeeded", "redemption.failed", "redemption.rollback.succeeded"}


@strawberry.type(description="A redemption succeeded, failed or was rolled back (committed).")
class RedemptionEvent:
    id: strawberry.ID = strawberry.field(description="The event id (evt_…)")
    type: str = strawberry.field(
        description="redemption.succeeded, redemption.failed or redemption.rollback.succeeded"
    )
    created_at: datetime
    data: JSON
    redemption_id: strawberry.ID

    @strawberry.field(description="The redemption as it is now")
    async def redemption(self, info: Info[Context, None]) -> Redemption | None:
        ctx = info.context
        row = await lookup.get(ctx.db, RedemptionRow, ctx.project_id, str(self.redemption_id))
        return Redemption.from_row(row) if row else None


def _broker(ctx: Context) -> Broker:
    if ctx.principal is None:
        raise ApiError(ctx.auth_problem or "authentication required", UNAUTHENTICATED)
    if not ctx.principal.is_secret:
        raise ApiError("a publishable key may not subscribe to events; use a secret key",
                       FORBIDDEN)
    broker = ctx.extra.get("broker")
    if broker is None:
        raise ApiError("subscriptions are not served here", UNAVAILABLE)
    return broker


def _fresh_loaders(ctx: Context) -> None:
    # A WebSocket context lives as long as the connection: do not serve cached rows.
    ctx.loaders = Loaders(ctx.db, ctx.project_id)
    ctx.extra = {"broker": ctx.extra.get("broker")}


@strawberry.type
class EventSubscription:
    @strawberry.subscription(description="The project's events from now on, after commit.")
    async def events(
        self, info: Info[Context, None],
        types: Annotated[list[str] | None, strawberry.argument(
            description="Event types or prefixes (voucher.*); null = all"
        )] = None,
    ) -> AsyncGenerator[Event, None]:
        ctx = info.context
        broker = _broker(ctx)
        wanted = list(types) if types else None
        async with broker.subscribe(
            ctx.project_id, lambda event: outbox.matches(wanted, event.type)
        ) as queue:
            while True:
                row: tables.Event = await queue.get()
                _fresh_loaders(ctx)
                yield Event.from_row(row)

    @strawberry.subscription(
        description="Redemptions succeeded, failed and rolled back, after commit; "
        "campaignId keeps those that touched the campaign"
    )
    async def redemption_events(
        self, info: Info[Context, None], campaign_id: strawberry.ID | None = None
    ) -> AsyncGenerator[RedemptionEvent, None]:
        ctx = info.context
        broker = _broker(ctx)
        campaign = str(campaign_id) if campaign_id else None

        def accepts(event: tables.Event) -> bool:
            if event.type not in REDEMPTION_EVENTS:
                return False
            return campaign is None or campaign in (event.data.get("campaignIds") or [])

        async with broker.subscribe(ctx.project_id, accepts) as queue:
            while True:
                row: tables.Event = await queue.get()
                _fresh_loaders(ctx)
                yield RedemptionEvent(
                    id=strawberry.ID(row.id), type=row.type, created_at=row.created_at,
                    data=row.data, redemption_id=strawberry.ID(row.aggregate_id),
                )
