"""Promotion stacks: a promotion campaign's ordered set of tiers, named by id. A stack brings its
tiers along (read with the tiers, after the vouchers); the engine evaluates a stack as its
tiers, so a redemption spends, records and refunds the tiers, never the stack itself."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app import engine
from app.db.campaigns import PromotionStack as StackRow
from app.db.redemptions import Redemption
from app.services.checkout import definitions
from app.services.checkout.kinds.base import KindHandler, Parts, RowSource, Spending


class StackRows(RowSource):
    object = engine.RedeemableObject.PROMOTION_STACK
    model = StackRow
    rank = 5  # read before the tiers it brings along
    locks = False  # nothing on a stack row changes when it is redeemed
    keeps_definitions = False  # built from its tiers' kept definitions on each request

    def members(self, row: Any) -> Iterable[tuple[engine.RedeemableObject, str]]:
        return ((engine.RedeemableObject.PROMOTION_TIER, t) for t in row.tier_ids)


STACKS = StackRows()


class PromotionStack(KindHandler):
    kind = engine.RedeemableKind.PROMOTION_STACK
    source = STACKS
    related_object_type = "promotion_stack"

    def definition(self, name: str, row: Any, parts: Parts) -> engine.Redeemable:
        campaign = parts.campaign_of(row)
        tiers = (parts.definition(engine.RedeemableObject.PROMOTION_TIER, t)
                 for t in row.tier_ids)
        return engine.Redeemable(
            object=engine.RedeemableObject.PROMOTION_STACK,
            id=name,
            kind=engine.RedeemableKind.PROMOTION_STACK,
            campaign_id=row.campaign_id,
            active=campaign.active if campaign else False,
            categories=definitions.categories_of(parts.category_of(row, campaign)),
            tiers=tuple(t for t in tiers if t is not None),
        )

    async def spend(
        self, session: AsyncSession, spending: Spending, row: Any,
        result: engine.RedeemableResult, child: Redemption,
    ) -> None:
        raise AssertionError("a promotion stack is spent as its tiers")

    async def refund(
        self, session: AsyncSession, project_id: str, child: Redemption, rollback_id: str
    ) -> None:
        raise AssertionError("a promotion stack is refunded as its tiers")
