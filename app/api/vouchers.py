"""GraphQL: vouchers (codes and gift cards) and the gift-card ledger."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry import UNSET
from strawberry.scalars import JSON
from strawberry.types import Info

from app.api.campaigns import Campaign
from app.api.categories import Category
from app.api.common import DeletePayload, mapped
from app.api.context import Context
from app.api.customers import Customer
from app.api.enums import GiftEffect, TransactionType, VoucherType
from app.api.errors import UserError, mutation_call, query_call
from app.api.redeemable_types import (
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
from app.db import campaigns as campaign_tables
from app.db import vouchers as tables
from app.services import lookup
from app.services import vouchers as service
from app.services.assets import asset_path
from app.services.errors import ServiceError
from app.services.vouchers import BalanceChange


@strawberry.type
class Gift:
    amount: SafeInt = strawberry.field(description="Credits ever added (minor units)")
    balance: SafeInt
    effect: GiftEffect | None


@strawberry.type
class VoucherRedemption:
    quantity: int | None = strawberry.field(description="null = unlimited")
    redeemed_quantity: int
    redeemed_amount: SafeInt


@strawberry.type
class AssetLink:
    url: str = strawberry.field(description="An SVG image; no key needed (ids are unguessable)")


@strawberry.type
class VoucherAssets:
    qr: AssetLink
    barcode: AssetLink


@strawberry.type
class Voucher(Node, Validity):
    id: strawberry.ID
    code: str
    type: VoucherType
    campaign_id: strawberry.ID | None
    category_id: strawberry.ID | None
    discount: Discount | None
    gift: Gift | None
    redemption: VoucherRedemption
    active: bool
    holder_id: strawberry.ID | None
    published_at: datetime | None
    is_referral_code: bool
    metadata: JSON
    created_at: datetime
    updated_at: datetime | None

    @classmethod
    def from_row(cls, row: tables.Voucher) -> Voucher:
        gift = None
        if row.type == tables.VoucherType.GIFT_VOUCHER:
            gift = Gift(
                amount=row.gift_amount, balance=row.gift_balance,
                effect=GiftEffect(row.gift_effect) if row.gift_effect else None,
            )
        return cls(
            id=strawberry.ID(row.id), code=row.code, type=VoucherType(row.type),
            campaign_id=strawberry.ID(row.campaign_id) if row.campaign_id else None,
            category_id=strawberry.ID(row.category_id) if row.category_id else None,
            discount=Discount.from_stored(row.discount), gift=gift,
            redemption=VoucherRedemption(
                quantity=row.redemption_quantity, redeemed_quantity=row.redeemed_quantity,
                redeemed_amount=row.redeemed_amount,
            ),
            active=row.active,
            holder_id=strawberry.ID(row.holder_id) if row.holder_id else None,
            published_at=row.published_at, is_referral_code=row.is_referral_code,
            metadata=row.metadata_, created_at=row.created_at, updated_at=row.updated_at,
            **validity_fields(row),
        )

    @strawberry.field
    async def campaign(self, info: Info[Context, None]) -> Campaign | None:
        if self.campaign_id is None:
            return None
        row = await info.context.loaders.by_id(campaign_tables.Campaign).load(
            str(self.campaign_id)
        )
        return Campaign.from_row(row) if row else None

    @strawberry.field
    async def category(self, info: Info[Context, None]) -> Category | None:
        if self.category_id is None:
            return None
        row = await info.context.loaders.category.load(str(self.category_id))
        return Category.from_row(row) if row else None

    @strawberry.field(description="QR code and Code 128 barcode images of the code")
    def assets(self, info: Info[Context, None]) -> VoucherAssets:
        request = info.context.request
        base = str(request.base_url).rstrip("/") if request is not None else ""

        def link(kind: str) -> AssetLink:
            return AssetLink(url=base + asset_path(str(self.id), kind))

        return VoucherAssets(qr=link("qr"), barcode=link("barcode"))

    @strawberry.field(description="The customer the code was published to")
    async def holder(self, info: Info[Context, None]) -> Customer | None:
        if self.holder_id is None:
            return None
        row = await info.context.loaders.customer.load(str(self.holder_id))
        return Customer.from_row(row) if row else None

    @strawberry.field(description="The voucher's own rules (its campaign's apply as well)")
    async def validation_rules(self, info: Info[Context, None]) -> list[ValidationRule]:
        rows = await rules_loader(info).load(str(self.id))
        return [ValidationRule.from_row(r) for r in rows]


@strawberry.type
class VoucherTransaction(Node):
    id: strawberry.ID
    voucher_id: strawberry.ID
    type: TransactionType
    amount: SafeInt = strawberry.field(description="Signed change of the balance")
    balance_after: SafeInt
    reason: str | None
    source_id: str | None
    redemption_id: strawberry.ID | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: tables.VoucherTransaction) -> VoucherTransaction:
        return cls(
            id=strawberry.ID(row.id), voucher_id=strawberry.ID(row.voucher_id),
            type=TransactionType(row.type), amount=row.amount, balance_after=row.balance_after,
            reason=row.reason, source_id=row.source_id,
            redemption_id=strawberry.ID(row.redemption_id) if row.redemption_id else None,
            created_at=row.created_at,
        )


# --- inputs and payloads ------------------------------------------------------------------

@strawberry.input
class CreateVoucherInput:
    code: str | None = strawberry.field(default=None, description="Generated when omitted")
    campaign_id: strawberry.ID | None = None
    type: VoucherType | None = None
    discount: DiscountInput | None = None
    gift: GiftInput | None = None
    loyalty_card: LoyaltyCardInput | None = None
    redemption: RedemptionLimitInput | None = None
    start_date: datetime | None = None
    expiration_date: datetime | None = None
    validity_timeframe: ValidityTimeframeInput | None = None
    validity_day_of_week: list[int] | None = None
    validity_hours: ValidityHoursInput | None = None
    active: bool | None = None
    category_id: strawberry.ID | None = None
    validation_rule_ids: list[strawberry.ID] | None = None
    is_referral_code: bool | None = None
    metadata: JSON | None = None


@strawberry.input
class GiftUpdateInput:
    effect: GiftEffect | None = None


@strawberry.input(description="Names the voucher by code (or v_ id); changes the given fields.")
class UpdateVoucherInput:
    code: str
    discount: DiscountInput | None = UNSET
    gift: GiftUpdateInput | None = strawberry.field(
        default=UNSET, description="Balances change by addGiftCardBalance, not here"
    )
    redemption: RedemptionLimitInput | None = UNSET
    start_date: datetime | None = UNSET
    expiration_date: datetime | None = UNSET
    validity_timeframe: ValidityTimeframeInput | None = UNSET
    validity_day_of_week: list[int] | None = UNSET
    validity_hours: ValidityHoursInput | None = UNSET
    active: bool | None = UNSET
    category_id: strawberry.ID | None = UNSET
    validation_rule_ids: list[strawberry.ID] | None = UNSET
    metadata: JSON | None = UNSET


@strawberry.input(description="A voucher by code (or v_ id).")
class VoucherRefInput:
    code: str


@strawberry.input
class GiftCardBalanceInput:
    code: str
    amount: SafeInt = strawberry.field(description="Minor units; negative removes credits")
    reason: str | None = None
    source_id: str | None = strawberry.field(
        default=None, description="Makes the call idempotent: a replay returns the first answer"
    )


@strawberry.input
class VoucherFilter:
    campaign_id: strawberry.ID | None = None
    holder_id: strawberry.ID | None = None
    active: bool | None = None


@strawberry.type
class VoucherPayload:
    voucher: Voucher | None = None
    errors: list[UserError]


@strawberry.type
class GiftCardBalancePayload:
    voucher: Voucher | None = None
    transaction: VoucherTransaction | None = None
    errors: list[UserError]


@strawberry.type
class VoucherQuery:
    @strawberry.field(description="Vouchers, newest first.")
    async def vouchers(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None,
        filter: VoucherFilter | None = None,
    ) -> Connection[Voucher]:
        ctx = info.context
        cursor = decode_cursor(after)
        where = service.list_clauses(
            str(filter.campaign_id) if filter and filter.campaign_id else None,
            str(filter.holder_id) if filter and filter.holder_id else None,
            filter.active if filter else None,
        )
        page = await query_call(
            lookup.page(ctx.db, tables.Voucher, ctx.project_id, first=first, after=cursor,
                        where=where)
        )
        return connection(
            page.items, page.has_next, Voucher.from_row,
            lambda: lookup.count(ctx.db, tables.Voucher, ctx.project_id, where), cursor,
        )

    @strawberry.field(description="A voucher by code (or v_ id).")
    async def voucher(self, info: Info[Context, None], code: str) -> Voucher | None:
        ctx = info.context
        row = await service.get_voucher(ctx.db, ctx.project_id, code)
        return Voucher.from_row(row) if row else None

    @strawberry.field(description="A gift card's ledger, newest first.")
    async def voucher_transactions(
        self, info: Info[Context, None], code: str, first: int | None = None,
        after: str | None = None,
    ) -> Connection[VoucherTransaction]:
        ctx = info.context
        cursor = decode_cursor(after)
        voucher = await service.get_voucher(ctx.db, ctx.project_id, code)
        voucher_id = voucher.id if voucher else ""
        where = [tables.VoucherTransaction.voucher_id == voucher_id]
        page = await query_call(
            lookup.page(ctx.db, tables.VoucherTransaction, ctx.project_id, first=first,
                        after=cursor, where=where)
        )
        return connection(
            page.items, page.has_next, VoucherTransaction.from_row,
            lambda: lookup.count(ctx.db, tables.VoucherTransaction, ctx.project_id, where),
            cursor,
        )


def _changes(input_: Any) -> dict[str, Any]:
    data = data_of(input_)
    data.pop("code", None)
    return data


@strawberry.type
class VoucherMutation:
    @strawberry.mutation
    async def create_voucher(
        self, info: Info[Context, None], input: CreateVoucherInput
    ) -> VoucherPayload:
        ctx = info.context
        return await mutation_call(
            mapped(service.create_voucher(ctx.db, ctx.project_id, data_of(input)),
                   Voucher.from_row),
            VoucherPayload, "voucher",
        )

    @strawberry.mutation
    async def update_voucher(
        self, info: Info[Context, None], input: UpdateVoucherInput
    ) -> VoucherPayload:
        ctx = info.context
        return await mutation_call(
            mapped(service.update_voucher(ctx.db, ctx.project_id, input.code, _changes(input)),
                   Voucher.from_row),
            VoucherPayload, "voucher",
        )

    @strawberry.mutation
    async def enable_voucher(
        self, info: Info[Context, None], input: VoucherRefInput
    ) -> VoucherPayload:
        ctx = info.context
        return await mutation_call(
            mapped(service.set_active(ctx.db, ctx.project_id, input.code, True),
                   Voucher.from_row),
            VoucherPayload, "voucher",
        )

    @strawberry.mutation
    async def disable_voucher(
        self, info: Info[Context, None], input: VoucherRefInput
    ) -> VoucherPayload:
        ctx = info.context
        return await mutation_call(
            mapped(service.set_active(ctx.db, ctx.project_id, input.code, False),
                   Voucher.from_row),
            VoucherPayload, "voucher",
        )

    @strawberry.mutation
    async def delete_voucher(
        self, info: Info[Context, None], input: VoucherRefInput
    ) -> DeletePayload:
        ctx = info.context
        return await mutation_call(
            mapped(service.delete_voucher(ctx.db, ctx.project_id, input.code),
                   lambda row: strawberry.ID(row.id)),
            DeletePayload, "deleted_id",
        )

    @strawberry.mutation(description="Add credits to a gift card (negative amount removes).")
    async def add_gift_card_balance(
        self, info: Info[Context, None], input: GiftCardBalanceInput
    ) -> GiftCardBalancePayload:
        ctx = info.context
        try:
            change: BalanceChange = await service.add_gift_balance(
                ctx.db, ctx.project_id, data_of(input)
            )
        except ServiceError as exc:
            return GiftCardBalancePayload(errors=[UserError.from_service(e) for e in exc.errors])
        return GiftCardBalancePayload(
            voucher=Voucher.from_row(change.voucher),
            transaction=VoucherTransaction.from_row(change.transaction), errors=[],
        )
