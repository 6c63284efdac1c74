"""GraphQL: campaigns, promotion tiers, promotion stacks and async actions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry import UNSET
from strawberry.scalars import JSON
from strawberry.types import Info

from app.api.categories import Category
from app.api.common import DeletePayload, RefInput, mapped
from app.api.context import Context
from app.api.enums import (
    AsyncActionStatus,
    CampaignMode,
    CampaignType,
    CreationStatus,
    GiftEffect,
    VoucherType,
)
from app.api.errors import UserError, mutation_call, query_call
from app.api.redeemable_types import (
    CodeConfig,
    CodeConfigInput,
    Discount,
    DiscountInput,
    GiftInput,
    LoyaltyCardInput,
    RedemptionLimitInput,
    Validity,
    ValidityHoursInput,
    ValidityTimeframeInput,
    data_of,
    rules_loader,
    validity_fields,
)
from app.api.relay import Connection, Node, connection, decode_cursor
from app.api.rules import ValidationRule
from app.api.scalars import SafeInt
from app.db import campaigns as tables
from app.db import redemptions as action_tables
from app.engine import error_codes
from app.services import campaigns as service
from app.services import lookup, promotions
from app.services.campaigns import CampaignCreated
from app.services.errors import ServiceError


async def _category(info: Info[Context, None], category_id: str | None) -> Category | None:
    if category_id is None:
        return None
    row = await info.context.loaders.category.load(category_id)
    return Category.from_row(row) if row else None


async def _rules(info: Info[Context, None], object_id: str) -> list[ValidationRule]:
    rows = await rules_loader(info).load(object_id)
    return [ValidationRule.from_row(r) for r in rows]


# --- types --------------------------------------------------------------------------------

@strawberry.type
class GiftTemplate:
    amount: SafeInt
    effect: GiftEffect


@strawberry.type
class RedemptionLimit:
    quantity: int | None = strawberry.field(description="null = unlimited")


@strawberry.type(description="What each code of the campaign is made from.")
class VoucherTemplate:
    type: VoucherType
    discount: Discount | None
    gift: GiftTemplate | None
    code_config: CodeConfig | None
    redemption: RedemptionLimit
    is_referral_code: bool

    @classmethod
    def from_stored(cls, data: dict[str, Any] | None) -> VoucherTemplate | None:
        if not data:
            return None
        gift = data.get("gift")
        return cls(
            type=VoucherType(data["type"]), discount=Discount.from_stored(data.get("discount")),
            gift=GiftTemplate(amount=gift["amount"], effect=GiftEffect(gift["effect"]))
            if gift else None,
            code_config=CodeConfig.from_stored(data.get("code_config")),
            redemption=RedemptionLimit(quantity=(data.get("redemption") or {}).get("quantity")),
            is_referral_code=bool(data.get("is_referral_code")),
        )


@strawberry.type
class Campaign(Node, Validity):
    id: strawberry.ID
    name: str
    description: str | None
    campaign_type: CampaignType
    type: CampaignMode
    voucher: VoucherTemplate | None
    vouchers_count: int = strawberry.field(description="Codes the campaign has now")
    active: bool
    join_once: bool
    auto_join: bool
    category_id: strawberry.ID | None
    creation_status: CreationStatus
    redemptions_count: int
    discounted_amount: SafeInt
    orders_amount: SafeInt
    metadata: JSON
    created_at: datetime
    updated_at: datetime | None

    @classmethod
    def from_row(cls, row: tables.Campaign) -> Campaign:
        return cls(
            id=strawberry.ID(row.id), name=row.name, description=row.description,
            campaign_type=CampaignType(row.campaign_type), type=CampaignMode(row.type),
            voucher=VoucherTemplate.from_stored(row.voucher), vouchers_count=row.vouchers_count,
            active=row.active, join_once=row.join_once, auto_join=row.auto_join,
            category_id=strawberry.ID(row.category_id) if row.category_id else None,
            creation_status=CreationStatus(row.creation_status),
            redemptions_count=row.redemptions_count, discounted_amount=row.discounted_amount,
            orders_amount=row.orders_amount, metadata=row.metadata_,
            created_at=row.created_at, updated_at=row.updated_at, **validity_fields(row),
        )

    @strawberry.field
    async def category(self, info: Info[Context, None]) -> Category | None:
        return await _category(info, self.category_id)

    @strawberry.field(description="Rules every code / tier of the campaign must pass.")
    async def validation_rules(self, info: Info[Context, None]) -> list[ValidationRule]:
        return await _rules(info, str(self.id))

    @strawberry.field(description="PROMOTION: the tiers, newest first.")
    async def promotion_tiers(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None
    ) -> Connection[PromotionTier]:
        return await _tier_connection(info, first, after, str(self.id), public=False)


@strawberry.type
class PromotionAction:
    discount: Discount | None


@strawberry.type(description="A cart-level promotion of a PROMOTION campaign.")
class PromotionTier(Node, Validity):
    id: strawberry.ID
    name: str
    banner: str | None
    action: PromotionAction
    hierarchy: int
    active: bool
    campaign_id: strawberry.ID
    category_id: strawberry.ID | None
    created_at: datetime
    updated_at: datetime | None
    row: strawberry.Private[tables.PromotionTier]
    public: strawberry.Private[bool]

    @classmethod
    def from_row(cls, row: tables.PromotionTier, public: bool = False) -> PromotionTier:
        return cls(
            id=strawberry.ID(row.id), name=row.name, banner=row.banner,
            action=PromotionAction(discount=Discount.from_stored(row.action.get("discount"))),
            hierarchy=row.hierarchy, active=row.active,
            campaign_id=strawberry.ID(row.campaign_id),
            category_id=strawberry.ID(row.category_id) if row.category_id else None,
            created_at=row.created_at, updated_at=row.updated_at, row=row, public=public,
            **validity_fields(row),
        )

    @strawberry.field(description="null for a publishable key")
    async def campaign(self, info: Info[Context, None]) -> Campaign | None:
        if self.public:
            return None
        row = await info.context.loaders.by_id(tables.Campaign).load(str(self.campaign_id))
        return Campaign.from_row(row) if row else None

    @strawberry.field
    async def category(self, info: Info[Context, None]) -> Category | None:
        return await _category(info, self.category_id)

    @strawberry.field(description="Empty for a publishable key")
    async def validation_rules(self, info: Info[Context, None]) -> list[ValidationRule]:
        return [] if self.public else await _rules(info, str(self.id))

    @strawberry.field(description="null for a publishable key")
    def metadata(self) -> JSON | None:
        return None if self.public else self.row.metadata_

    @strawberry.field(description="Times redeemed (null for a publishable key)")
    def redeemed_quantity(self) -> int | None:
        return None if self.public else self.row.redeemed_quantity

    @strawberry.field(description="Total discount given (null for a publishable key)")
    def discounted_amount(self) -> SafeInt | None:
        return None if self.public else self.row.discounted_amount

    @strawberry.field(description="Total of the orders it applied to (null for a publishable key)")
    def orders_amount(self) -> SafeInt | None:
        return None if self.public else self.row.orders_amount


@strawberry.type
class PromotionStack(Node):
    id: strawberry.ID
    name: str
    campaign_id: strawberry.ID
    tier_ids: list[strawberry.ID]
    category_id: strawberry.ID | None
    created_at: datetime
    updated_at: datetime | None

    @classmethod
    def from_row(cls, row: tables.PromotionStack) -> PromotionStack:
        return cls(
            id=strawberry.ID(row.id), name=row.name, campaign_id=strawberry.ID(row.campaign_id),
            tier_ids=[strawberry.ID(t) for t in row.tier_ids],
            category_id=strawberry.ID(row.category_id) if row.category_id else None,
            created_at=row.created_at, updated_at=row.updated_at,
        )

    @strawberry.field(description="The tiers in stack order")
    async def tiers(self, info: Info[Context, None]) -> list[PromotionTier]:
        loader = info.context.loaders.by_id(tables.PromotionTier)
        rows = await loader.load_many([str(t) for t in self.tier_ids])
        return [PromotionTier.from_row(r) for r in rows if r is not None]

    @strawberry.field
    async def campaign(self, info: Info[Context, None]) -> Campaign | None:
        row = await info.context.loaders.by_id(tables.Campaign).load(str(self.campaign_id))
        return Campaign.from_row(row) if row else None

    @strawberry.field
    async def category(self, info: Info[Context, None]) -> Category | None:
        return await _category(info, self.category_id)


@strawberry.type(description="Long work (bulk code generation) with its progress.")
class AsyncAction(Node):
    id: strawberry.ID
    type: str = strawberry.field(description="campaign.vouchers.generate")
    status: AsyncActionStatus
    progress: int = strawberry.field(description="Items done so far (out of total)")
    total: int
    result: JSON | None
    error: str | None
    created_at: datetime
    updated_at: datetime | None

    @classmethod
    def from_row(cls, row: action_tables.AsyncAction) -> AsyncAction:
        return cls(
            id=strawberry.ID(row.id), type=row.type, status=AsyncActionStatus(row.status),
            progress=row.progress, total=row.total, result=row.result, error=row.error,
            created_at=row.created_at, updated_at=row.updated_at,
        )


# --- inputs -------------------------------------------------------------------------------

@strawberry.input
class VoucherTemplateInput:
    type: VoucherType
    discount: DiscountInput | None = None
    gift: GiftInput | None = None
    loyalty_card: LoyaltyCardInput | None = None
    code_config: CodeConfigInput | None = None
    redemption: RedemptionLimitInput | None = None
    is_referral_code: bool | None = None
    code: str | None = strawberry.field(
        default=None, description="STANDALONE: the generic code (else generated)"
    )


@strawberry.input
class PromotionActionInput:
    discount: DiscountInput


@strawberry.input
class CreatePromotionTierInput:
    name: str
    banner: str | None = None
    action: PromotionActionInput
    hierarchy: int | None = None
    active: bool | None = None
    start_date: datetime | None = None
    expiration_date: datetime | None = None
    validity_timeframe: ValidityTimeframeInput | None = None
    validity_day_of_week: list[int] | None = None
    validity_hours: ValidityHoursInput | None = None
    category_id: strawberry.ID | None = None
    validation_rule_ids: list[strawberry.ID] | None = None
    metadata: JSON | None = None
    campaign_id: strawberry.ID | None = strawberry.field(
        default=None, description="createPromotionTier: the PROMOTION campaign (required)"
    )


@strawberry.input
class PromotionInput:
    tiers: list[CreatePromotionTierInput]


@strawberry.input
class CreateCampaignInput:
    name: str
    campaign_type: CampaignType
    type: CampaignMode | None = strawberry.field(
        default=None, description="Default: STANDALONE without vouchersCount, else STATIC"
    )
    voucher: VoucherTemplateInput | None = None
    vouchers_count: int | None = None
    start_date: datetime | None = None
    expiration_date: datetime | None = None
    active: bool | None = None
    validity_timeframe: ValidityTimeframeInput | None = None
    validity_day_of_week: list[int] | None = None
    validity_hours: ValidityHoursInput | None = None
    join_once: bool | None = None
    auto_join: bool | None = None
    category_id: strawberry.ID | None = None
    validation_rule_ids: list[strawberry.ID] | None = None
    promotion: PromotionInput | None = None
    referral_program: JSON | None = None
    metadata: JSON | None = None
    description: str | None = None


@strawberry.input(description="Changes the given fields; the voucher template is fixed.")
class UpdateCampaignInput:
    id: strawberry.ID
    name: str | None = UNSET
    description: str | None = UNSET
    start_date: datetime | None = UNSET
    expiration_date: datetime | None = UNSET
    active: bool | None = UNSET
    validity_timeframe: ValidityTimeframeInput | None = UNSET
    validity_day_of_week: list[int] | None = UNSET
    validity_hours: ValidityHoursInput | None = UNSET
    join_once: bool | None = UNSET
    auto_join: bool | None = UNSET
    category_id: strawberry.ID | None = UNSET
    validation_rule_ids: list[strawberry.ID] | None = UNSET
    metadata: JSON | None = UNSET


@strawberry.input
class UpdatePromotionTierInput:
    id: strawberry.ID
    name: str | None = UNSET
    banner: str | None = UNSET
    action: PromotionActionInput | None = UNSET
    hierarchy: int | None = UNSET
    active: bool | None = UNSET
    start_date: datetime | None = UNSET
    expiration_date: datetime | None = UNSET
    validity_timeframe: ValidityTimeframeInput | None = UNSET
    validity_day_of_week: list[int] | None = UNSET
    validity_hours: ValidityHoursInput | None = UNSET
    category_id: strawberry.ID | None = UNSET
    validation_rule_ids: list[strawberry.ID] | None = UNSET
    metadata: JSON | None = UNSET


@strawberry.input
class CreatePromotionStackInput:
    name: str
    campaign_id: strawberry.ID
    tier_ids: list[strawberry.ID]
    category_id: strawberry.ID | None = None


@strawberry.input
class UpdatePromotionStackInput:
    id: strawberry.ID
    name: str | None = UNSET
    tier_ids: list[strawberry.ID] | None = UNSET
    category_id: strawberry.ID | None = UNSET


@strawberry.input
class CampaignFilter:
    campaign_type: CampaignType | None = None
    active: bool | None = None


@strawberry.type
class CampaignPayload:
    campaign: Campaign | None = None
    async_action: AsyncAction | None = strawberry.field(
        default=None, description="Set when the codes are made in the background"
    )
    errors: list[UserError]


@strawberry.type
class PromotionTierPayload:
    promotion_tier: PromotionTier | None = None
    errors: list[UserError]


@strawberry.type
class PromotionStackPayload:
    promotion_stack: PromotionStack | None = None
    errors: list[UserError]


def _changes(input_: Any) -> dict[str, Any]:
    data = data_of(input_)
    data.pop("id", None)
    return data


async def _tier_connection(
    info: Info[Context, None], first: int | None, after: str | None, campaign_id: str | None,
    *, public: bool,
) -> Connection[PromotionTier]:
    ctx = info.context
    cursor = decode_cursor(after)
    where = promotions.tier_clauses(campaign_id, public=public)
    page = await query_call(
        lookup.page(ctx.db, tables.PromotionTier, ctx.project_id, first=first, after=cursor,
                    where=where)
    )
    return connection(
        page.items, page.has_next, lambda row: PromotionTier.from_row(row, public),
        lambda: lookup.count(ctx.db, tables.PromotionTier, ctx.project_id, where), cursor,
    )


def _created(result: CampaignCreated) -> dict[str, Any]:
    return {
        "campaign": Campaign.from_row(result.campaign),
        "async_action": AsyncAction.from_row(result.async_action)
        if result.async_action else None,
    }


# --- operations ---------------------------------------------------------------------------

@strawberry.type
class CampaignQuery:
    @strawberry.field(description="Campaigns, newest first.")
    async def campaigns(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None,
        filter: CampaignFilter | None = None,
    ) -> Connection[Campaign]:
        ctx = info.context
        cursor = decode_cursor(after)
        where = service.list_clauses(
            filter.campaign_type.value if filter and filter.campaign_type else None,
            filter.active if filter else None,
        )
        page = await query_call(
            lookup.page(ctx.db, tables.Campaign, ctx.project_id, first=first, after=cursor,
                        where=where)
        )
        return connection(
            page.items, page.has_next, Campaign.from_row,
            lambda: lookup.count(ctx.db, tables.Campaign, ctx.project_id, where), cursor,
        )

    @strawberry.field
    async def campaign(self, info: Info[Context, None], id: strawberry.ID) -> Campaign | None:
        row = await info.context.loaders.by_id(tables.Campaign).load(str(id))
        return Campaign.from_row(row) if row else None

    @strawberry.field(
        description="Promotion tiers, newest first. A publishable key sees only enabled tiers "
        "of enabled campaigns, without counters, metadata, campaign or rules."
    )
    async def promotion_tiers(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None,
        campaign_id: strawberry.ID | None = None,
    ) -> Connection[PromotionTier]:
        principal = info.context.principal
        public = principal is not None and not principal.is_secret
        return await _tier_connection(
            info, first, after, str(campaign_id) if campaign_id else None, public=public
        )

    @strawberry.field
    async def promotion_tier(
        self, info: Info[Context, None], id: strawberry.ID
    ) -> PromotionTier | None:
        row = await info.context.loaders.by_id(tables.PromotionTier).load(str(id))
        return PromotionTier.from_row(row) if row else None

    @strawberry.field(description="Promotion stacks, newest first.")
    async def promotion_stacks(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None,
        campaign_id: strawberry.ID | None = None,
    ) -> Connection[PromotionStack]:
        ctx = info.context
        cursor = decode_cursor(after)
        where = (
            [tables.PromotionStack.campaign_id == str(campaign_id)] if campaign_id else []
        )
        page = await query_call(
            lookup.page(ctx.db, tables.PromotionStack, ctx.project_id, first=first,
                        after=cursor, where=where)
        )
        return connection(
            page.items, page.has_next, PromotionStack.from_row,
            lambda: lookup.count(ctx.db, tables.PromotionStack, ctx.project_id, where), cursor,
        )

    @strawberry.field
    async def promotion_stack(
        self, info: Info[Context, None], id: strawberry.ID
    ) -> PromotionStack | None:
        row = await info.context.loaders.by_id(tables.PromotionStack).load(str(id))
        return PromotionStack.from_row(row) if row else None

    @strawberry.field(description="A background job and its progress.")
    async def async_action(
        self, info: Info[Context, None], id: strawberry.ID
    ) -> AsyncAction | None:
        ctx = info.context
        row = await lookup.get(ctx.db, action_tables.AsyncAction, ctx.project_id, str(id))
        return AsyncAction.from_row(row) if row else None


@strawberry.type
class CampaignMutation:
    @strawberry.mutation(description="Up to 1,000 codes are made at once; more in the "
                         "background (see asyncAction in the payload).")
    async def create_campaign(
        self, info: Info[Context, None], input: CreateCampaignInput
    ) -> CampaignPayload:
        ctx = info.context
        data = data_of(input)
        try:
            result = await service.create_campaign(ctx.db, ctx.project_id, data)
        except ServiceError as exc:
            return CampaignPayload(errors=[UserError.from_service(e) for e in exc.errors])
        return CampaignPayload(**_created(result), errors=[])

    @strawberry.mutation
    async def update_campaign(
        self, info: Info[Context, None], input: UpdateCampaignInput
    ) -> CampaignPayload:
        ctx = info.context
        return await mutation_call(
            mapped(service.update_campaign(ctx.db, ctx.project_id, str(input.id),
                                           _changes(input)), Campaign.from_row),
            CampaignPayload, "campaign",
        )

    @strawberry.mutation
    async def enable_campaign(self, info: Info[Context, None], input: RefInput) -> CampaignPayload:
        return await _set_campaign_active(info, input, True)

    @strawberry.mutation
    async def disable_campaign(
        self, info: Info[Context, None], input: RefInput
    ) -> CampaignPayload:
        return await _set_campaign_active(info, input, False)

    @strawberry.mutation(description="Deletes its vouchers, tiers and stacks too.")
    async def delete_campaign(self, info: Info[Context, None], input: RefInput) -> DeletePayload:
        ctx = info.context
        return await mutation_call(
            mapped(service.delete_campaign(ctx.db, ctx.project_id, str(input.id or "")),
                   lambda row: strawberry.ID(row.id)),
            DeletePayload, "deleted_id",
        )

    @strawberry.mutation
    async def create_promotion_tier(
        self, info: Info[Context, None], input: CreatePromotionTierInput
    ) -> PromotionTierPayload:
        ctx = info.context
        if input.campaign_id is None:
            return PromotionTierPayload(errors=[UserError(
                code=error_codes.REQUIRED, message="campaignId is required", field=["campaignId"]
            )])
        return await mutation_call(
            mapped(promotions.create_promotion_tier(ctx.db, ctx.project_id, data_of(input)),
                   PromotionTier.from_row),
            PromotionTierPayload, "promotion_tier",
        )

    @strawberry.mutation
    async def update_promotion_tier(
        self, info: Info[Context, None], input: UpdatePromotionTierInput
    ) -> PromotionTierPayload:
        ctx = info.context
        return await mutation_call(
            mapped(promotions.update_promotion_tier(ctx.db, ctx.project_id, str(input.id),
                                                    _changes(input)), PromotionTier.from_row),
            PromotionTierPayload, "promotion_tier",
        )

    @strawberry.mutation
    async def enable_promotion_tier(
        self, info: Info[Context, None], input: RefInput
    ) -> PromotionTierPayload:
        return await _set_tier_active(info, input, True)

    @strawberry.mutation
    async def disable_promotion_tier(
        self, info: Info[Context, None], input: RefInput
    ) -> PromotionTierPayload:
        return await _set_tier_active(info, input, False)

    @strawberry.mutation
    async def delete_promotion_tier(
        self, info: Info[Context, None], input: RefInput
    ) -> DeletePayload:
        ctx = info.context
        return await mutation_call(
            mapped(promotions.delete_promotion_tier(ctx.db, ctx.project_id, str(input.id or "")),
                   lambda row: strawberry.ID(row.id)),
            DeletePayload, "deleted_id",
        )

    @strawberry.mutation
    async def create_promotion_stack(
        self, info: Info[Context, None], input: CreatePromotionStackInput
    ) -> PromotionStackPayload:
        ctx = info.context
        return await mutation_call(
            mapped(promotions.create_promotion_stack(ctx.db, ctx.project_id, data_of(input)),
                   PromotionStack.from_row),
            PromotionStackPayload, "promotion_stack",
        )

    @strawberry.mutation
    async def update_promotion_stack(
        self, info: Info[Context, None], input: UpdatePromotionStackInput
    ) -> PromotionStackPayload:
        ctx = info.context
        return await mutation_call(
            mapped(promotions.update_promotion_stack(ctx.db, ctx.project_id, str(input.id),
                                                     _changes(input)), PromotionStack.from_row),
            PromotionStackPayload, "promotion_stack",
        )

    @strawberry.mutation
    async def delete_promotion_stack(
        self, info: Info[Context, None], input: RefInput
    ) -> DeletePayload:
        ctx = info.context
        return await mutation_call(
            mapped(promotions.delete_promotion_stack(ctx.db, ctx.project_id,
                                                     str(input.id or "")),
                   lambda row: strawberry.ID(row.id)),
            DeletePayload, "deleted_id",
        )


async def _set_campaign_active(
    info: Info[Context, None], input: RefInput, active: bool
) -> CampaignPayload:
    ctx = info.context
    return await mutation_call(
        mapped(service.set_active(ctx.db, ctx.project_id, str(input.id or ""), active),
               Campaign.from_row),
        CampaignPayload, "campaign",
    )


async def _set_tier_active(
    info: Info[Context, None], input: RefInput, active: bool
) -> PromotionTierPayload:
    ctx = info.context
    return await mutation_call(
        mapped(promotions.set_tier_active(ctx.db, ctx.project_id, str(input.id or ""), active),
               PromotionTier.from_row),
        PromotionTierPayload, "promotion_tier",
    )
