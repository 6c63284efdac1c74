"""GraphQL: redeemStack, rollbackRedemption, releaseSession, and the redemption records."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from app.api.context import Context
from app.api.customers import Customer
from app.api.enums import RedemptionResult, RedemptionStatus
from app.api.errors import UserError, query_call
from app.api.orders import Order
from app.api.redeemable_types import AutoApplyInput
from app.api.relay import Connection, Node, connection, decode_cursor
from app.api.scalars import SafeInt
from app.api.validation import (
    CustomerInput,
    OrderInput,
    RedeemableInput,
    SessionInput,
    StackValidation,
    request_error,
    stack_request,
)
from app.db import campaigns as campaign_tables
from app.db import customers as customer_tables
from app.db import orders as order_tables
from app.db import redemptions as tables
from app.db import vouchers as voucher_tables
from app.services import checkout as service
from app.services import lookup
from app.services.errors import ServiceError

if TYPE_CHECKING:
    from app.api.campaigns import PromotionTier
    from app.api.vouchers import Voucher


@strawberry.type
class RedemptionGift:
    amount: SafeInt = strawberry.field(description="Gift credits spent")


@strawberry.type
class RedemptionLoyaltyCard:
    points: SafeInt = strawberry.field(description="Loyalty points spent")


@strawberry.type
class RedemptionRollback(Node):
    id: strawberry.ID
    redemption_id: strawberry.ID
    reason: str | None
    amount: SafeInt = strawberry.field(description="Negative: the discount given back")
    gift_credits: SafeInt = strawberry.field(description="Negative: the credits refunded")
    created_at: datetime

    @classmethod
    def from_row(cls, row: tables.RedemptionRollback) -> RedemptionRollback:
        return cls(
            id=strawberry.ID(row.id), redemption_id=strawberry.ID(row.redemption_id),
            reason=row.reason, amount=row.amount, gift_credits=row.gift_credits,
            created_at=row.created_at,
        )


@strawberry.type
class Redemption(Node):
    id: strawberry.ID
    result: RedemptionResult
    status: RedemptionStatus
    created_at: datetime
    related_object_type: str = strawberry.field(
        description="voucher or promotion_tier for a child, redemption for a parent"
    )
    voucher_id: strawberry.ID | None
    promotion_tier_id: strawberry.ID | None
    campaign_id: strawberry.ID | None
    customer_id: strawberry.ID | None
    order_id: strawberry.ID | None
    parent_id: strawberry.ID | None
    amount: SafeInt = strawberry.field(description="Discount given (minor units)")
    gift: RedemptionGift | None
    failure_code: str | None
    failure_message: str | None
    session_key: str | None
    metadata: JSON

    @classmethod
    def from_row(cls, row: tables.Redemption) -> Redemption:
        def opt(value: str | None) -> strawberry.ID | None:
            return strawberry.ID(value) if value else None

        return cls(
            id=strawberry.ID(row.id), result=RedemptionResult(row.result),
            status=RedemptionStatus(row.status), created_at=row.created_at,
            related_object_type=row.related_object_type, voucher_id=opt(row.voucher_id),
            promotion_tier_id=opt(row.promotion_tier_id), campaign_id=opt(row.campaign_id),
            customer_id=opt(row.customer_id), order_id=opt(row.order_id),
            parent_id=opt(row.parent_id), amount=row.amount,
            gift=RedemptionGift(amount=row.gift_credits) if row.gift_credits else None,
            failure_code=row.failure_code, failure_message=row.failure_message,
            session_key=row.session_key, metadata=row.metadata_,
        )

    @strawberry.field
    async def customer(self, info: Info[Context, None]) -> Customer | None:
        row = await info.context.loaders.optional(customer_tables.Customer, self.customer_id)
        return Customer.from_row(row) if row else None

    @strawberry.field
    async def order(self, info: Info[Context, None]) -> Order | None:
        row = await info.context.loaders.optional(order_tables.Order, self.order_id)
        return Order.from_row(row) if row else None

    @strawberry.field(description="The redeemed code (children of vouchers)")
    async def voucher(
        self, info: Info[Context, None]
    ) -> Annotated[Voucher, strawberry.lazy("app.api.vouchers")] | None:
        from app.api.vouchers import Voucher

        row = await info.context.loaders.optional(voucher_tables.Voucher, self.voucher_id)
        return Voucher.from_row(row) if row else None

    @strawberry.field(description="The redeemed promotion tier (children of tiers)")
    async def promotion_tier(
        self, info: Info[Context, None]
    ) -> Annotated[PromotionTier, strawberry.lazy("app.api.campaigns")] | None:
        from app.api.campaigns import PromotionTier

        row = await info.context.loaders.optional(
            campaign_tables.PromotionTier, self.promotion_tier_id
        )
        principal = info.context.principal
        public = principal is not None and not principal.is_secret
        return PromotionTier.from_row(row, public=public) if row else None

    @strawberry.field(
        description="Loyalty points spent; null until loyalty cards are supported (none are "
        "redeemed today)"
    )
    def loyalty_card(self) -> RedemptionLoyaltyCard | None:
        return None

    @strawberry.field
    async def parent(self, info: Info[Context, None]) -> Redemption | None:
        row = await info.context.loaders.optional(tables.Redemption, self.parent_id)
        return Redemption.from_row(row) if row else None

    @strawberry.field(description="The stacked child redemptions of a parent")
    async def children(self, info: Info[Context, None]) -> list[Redemption]:
        rows = await info.context.loaders.children_of_redemption.load(str(self.id))
        return [Redemption.from_row(r) for r in rows]

    @strawberry.field
    async def rollbacks(self, info: Info[Context, None]) -> list[RedemptionRollback]:
        rows = await info.context.loaders.rollbacks_of_redemption.load(str(self.id))
        return [RedemptionRollback.from_row(r) for r in rows]

    @strawberry.field(description="The evaluation this redemption was made from")
    async def validation(self, info: Info[Context, None]) -> StackValidation | None:
        row = await info.context.loaders.by_id(tables.Redemption).load(str(self.id))
        if row is None or not row.details or "valid" not in row.details:
            return None
        return StackValidation.from_json(row.details)


@strawberry.input
class RedeemStackInput:
    redeemables: list[RedeemableInput]
    order: OrderInput | None = None
    customer: CustomerInput | None = None
    session: SessionInput | None = None
    metadata: JSON | None = None
    auto_apply: AutoApplyInput | None = None
    idempotency_key: str | None = strawberry.field(
        default=None, description="A replay returns the first answer; other input → error"
    )


@strawberry.type
class RedeemStackPayload:
    redemption: Redemption | None = strawberry.field(
        default=None, description="The parent; a FAILURE record when nothing was redeemed"
    )
    redemptions: list[Redemption] = strawberry.field(
        default_factory=list, description="One child per applied redeemable"
    )
    order: Order | None = None
    validation: StackValidation | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class RollbackInput:
    redemption_id: strawberry.ID
    reason: str | None = None
    idempotency_key: str | None = None


@strawberry.type
class RollbackPayload:
    redemption: Redemption | None = None
    rollbacks: list[RedemptionRollback] = strawberry.field(default_factory=list)
    order: Order | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class ReleaseSessionInput:
    key: str


@strawberry.type
class ReleaseSessionPayload:
    released: int = strawberry.field(default=0, description="Reservations freed")
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class RedemptionFilter:
    campaign_id: strawberry.ID | None = None
    voucher_id: strawberry.ID | None = None
    promotion_tier_id: strawberry.ID | None = None
    customer_id: strawberry.ID | None = None
    order_id: strawberry.ID | None = None
    parent_id: strawberry.ID | None = None
    result: RedemptionResult | None = None
    status: RedemptionStatus | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None


def _errors(items: list[Any]) -> list[UserError]:
    return [UserError.from_service(e) for e in items]


def _filter(f: RedemptionFilter | None) -> list[Any]:
    if f is None:
        return []
    t = tables.Redemption
    where: list[Any] = []
    for column, value in (
        (t.campaign_id, f.campaign_id), (t.voucher_id, f.voucher_id),
        (t.promotion_tier_id, f.promotion_tier_id), (t.customer_id, f.customer_id),
        (t.order_id, f.order_id), (t.parent_id, f.parent_id),
    ):
        if value is not None:
            where.append(column == str(value))
    if f.result is not None:
        where.append(t.result == f.result.value)
    if f.status is not None:
        where.append(t.status == f.status.value)
    if f.created_after is not None:
        where.append(t.created_at >= f.created_after)
    if f.created_before is not None:
        where.append(t.created_at < f.created_before)
    return where


@strawberry.type
class RedemptionQuery:
    @strawberry.field(description="Redemptions (parents, children and failures), newest first.")
    async def redemptions(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None,
        filter: RedemptionFilter | None = None,
    ) -> Connection[Redemption]:
        ctx = info.context
        cursor = decode_cursor(after)
        where = _filter(filter)
        page = await query_call(
            lookup.page(ctx.db, tables.Redemption, ctx.project_id, first=first, after=cursor,
                        where=where)
        )
        return connection(
            page.items, page.has_next, Redemption.from_row,
            lambda: lookup.count(ctx.db, tables.Redemption, ctx.project_id, where), cursor,
        )

    @strawberry.field
    async def redemption(self, info: Info[Context, None], id: strawberry.ID) -> Redemption | None:
        row = await info.context.loaders.by_id(tables.Redemption).load(str(id))
        return Redemption.from_row(row) if row else None


@strawberry.type
class RedemptionMutation:
    @strawberry.mutation(description="Apply the stack now: atomically, never past a limit.")
    async def redeem_stack(
        self, info: Info[Context, None], input: RedeemStackInput
    ) -> RedeemStackPayload:
        ctx = info.context
        try:
            outcome = await service.redeem_stack(
                ctx.db, ctx.project_id, stack_request(input),
                idempotency_key=input.idempotency_key,
            )
        except service.RequestProblem as exc:
            raise request_error(exc) from exc
        except ServiceError as exc:
            return RedeemStackPayload(errors=_errors(exc.errors))
        return RedeemStackPayload(
            redemption=Redemption.from_row(outcome.parent) if outcome.parent else None,
            redemptions=[Redemption.from_row(c) for c in outcome.children],
            order=Order.from_row(outcome.order) if outcome.order else None,
            validation=StackValidation.from_json(outcome.validation),
            errors=_errors(outcome.errors),
        )

    @strawberry.mutation(description="Undo a redemption (all its stacked children at once).")
    async def rollback_redemption(
        self, info: Info[Context, None], input: RollbackInput
    ) -> RollbackPayload:
        ctx = info.context
        try:
            outcome = await service.rollback_redemption(
                ctx.db, ctx.project_id, str(input.redemption_id), reason=input.reason,
                idempotency_key=input.idempotency_key,
            )
        except ServiceError as exc:
            return RollbackPayload(errors=_errors(exc.errors))
        return RollbackPayload(
            redemption=Redemption.from_row(outcome.redemption) if outcome.redemption else None,
            rollbacks=[RedemptionRollback.from_row(r) for r in outcome.rollbacks],
            order=Order.from_row(outcome.order) if outcome.order else None,
            errors=_errors(outcome.errors),
        )

    @strawberry.mutation(description="Free what a LOCK session reserved.")
    async def release_session(
        self, info: Info[Context, None], input: ReleaseSessionInput
    ) -> ReleaseSessionPayload:
        ctx = info.context
        return ReleaseSessionPayload(
            released=await service.release_session(ctx.db, ctx.project_id, input.key)
        )

