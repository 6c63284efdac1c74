"""Promotion tiers: the levels of a promotion campaign, named by id. A tier is a definition (its
counters live in redemptions and on its row, which only spending reads), so a validation reads
tiers through the definitions cache; a spending transaction reads and locks them after the
vouchers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app import engine
from app.db.campaigns import PromotionTier as TierRow
from app.db.redemptions import Redemption
from app.db.rules import ValidationRule
from app.services.checkout import definitions
from app.services.checkout.kinds.base import (
    KindHandler,
    Needs,
    Parts,
    RowSource,
    Spending,
    categories_of_rows,
)


class TierRows(RowSource):
    object = engine.RedeemableObject.PROMOTION_TIER
    model = TierRow
    rank = 20
    link = "promotion_tier_id"

    def needs(
        self, found: Mapping[str, Any], defs: Mapping[str, engine.Redeemable],
        rules: Mapping[str, list[ValidationRule]],
    ) -> Needs:
        """Tiers' own rules are kept in the definitions cache, like their campaigns'."""
        owners = [t for t, row in found.items() if row is not None and t not in rules]
        return Needs(owners, [], categories_of_rows(found.values()))


TIERS = TierRows()


class PromotionTier(KindHandler):
    kind = engine.RedeemableKind.PROMOTION_TIER
    source = TIERS
    related_object_type = "promotion_tier"

    def definition(self, name: str, row: Any, parts: Parts) -> engine.Redeemable:
        campaign = parts.campaign_of(row)
        action = row.action or {}
        return engine.Redeemable(
            object=engine.RedeemableObject.PROMOTION_TIER,
            id=name,
            kind=engine.RedeemableKind.PROMOTION_TIER,
            campaign_id=row.campaign_id,
            active=row.active and (campaign.active if campaign else True),
            discount=definitions.discount(action["discount"]) if action.get("discount") else None,
            validity=definitions.campaign_window(campaign, definitions.validity_of(row)),
            validation_rules=tuple(definitions.engine_rule(r) for r in parts.rules_of(row)),
            categories=definitions.categories_of(parts.category_of(row, campaign)),
            metadata=row.metadata_,
        )

    def totals(
        self, row: Any, result: engine.RedeemableResult, order_amount: int
    ) -> list[tuple[int, str]]:
        discount = result.order.total_applied_discount_amount
        return [(row.discounted_amount + discount, "the tier's discounted amount"),
                (row.orders_amount + order_amount, "the tier's orders amount")]

    async def spend(
        self, session: AsyncSession, spending: Spending, row: Any,
        result: engine.RedeemableResult, child: Redemption,
    ) -> None:
        await session.execute(sa.update(TierRow).where(TierRow.id == row.id).values(
            redeemed_quantity=TierRow.redeemed_quantity + 1,
            discounted_amount=TierRow.discounted_amount
            + result.order.total_applied_discount_amount,
            orders_amount=TierRow.orders_amount + spending.order_amount,
        ).execution_options(synchronize_session=False))

    async def refund(
        self, session: AsyncSession, project_id: str, child: Redemption, rollback_id: str
    ) -> None:
        await session.execute(sa.update(TierRow).where(
            TierRow.id == child.promotion_tier_id
        ).values(
            redeemed_quantity=TierRow.redeemed_quantity - 1,
            discounted_amount=TierRow.discounted_amount - child.amount,
            orders_amount=TierRow.orders_amount - child.order_amount,
        ).execution_options(synchronize_session=False))
