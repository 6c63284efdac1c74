"""Promotion tiers and stacks through validateStack / redeemStack."""

from __future__ import annotations

from app.db.campaigns import Campaign, PromotionStack, PromotionTier
from app.db.ids import new_id
from tests.stack import factories as f
from tests.stack.test_redeem_stack import CART, REDEEM, ROLLBACK


async def tier_row(db, tier_id):  # type: ignore[no-untyped-def]
    async with db.read() as s:
        return await s.get(PromotionTier, tier_id)


async def campaign_row(db, campaign_id):  # type: ignore[no-untyped-def]
    async with db.read() as s:
        return await s.get(Campaign, campaign_id)


class TestPromotionTiers:
    async def test_tier_redemption_counts_on_tier_and_campaign(self, tenant, db) -> None:
        camp = await f.campaign(db, tenant.project_id, campaign_type="PROMOTION")
        tier = await f.tier(db, tenant.project_id, camp.id,
                            discount={"type": "PERCENT", "percent_off": 20})
        data = (await tenant.api(REDEEM, i={
            "redeemables": [{"object": "PROMOTION_TIER", "id": tier.id}], "order": CART,
        }))["redeemStack"]
        assert data["errors"] == []
        assert data["redemptions"][0]["amount"] == 1000
        row = await tier_row(db, tier.id)
        assert (row.redeemed_quantity, row.discounted_amount, row.orders_amount) == (1, 1000, 5000)
        campaign = await campaign_row(db, camp.id)
        assert (campaign.redemptions_count, campaign.discounted_amount) == (1, 1000)

        rolled = (await tenant.api(ROLLBACK, i={"redemptionId": data["redemption"]["id"]}))
        assert rolled["rollbackRedemption"]["errors"] == []
        row = await tier_row(db, tier.id)
        assert (row.redeemed_quantity, row.discounted_amount) == (0, 0)
        campaign = await campaign_row(db, camp.id)
        assert (campaign.redemptions_count, campaign.discounted_amount) == (0, 0)

    async def test_disabled_tier_and_disabled_campaign(self, tenant, db) -> None:
        camp = await f.campaign(db, tenant.project_id, campaign_type="PROMOTION")
        off = await f.tier(db, tenant.project_id, camp.id, active=False,
                           discount={"type": "AMOUNT", "amount_off": 100})
        data = (await tenant.api(REDEEM, i={
            "redeemables": [{"object": "PROMOTION_TIER", "id": off.id}], "order": CART,
        }))["redeemStack"]
        assert data["errors"][0]["code"] == "promotion_inactive"

    async def test_promotion_stack_applies_its_tiers_in_order(self, tenant, db) -> None:
        camp = await f.campaign(db, tenant.project_id, campaign_type="PROMOTION")
        t1 = await f.tier(db, tenant.project_id, camp.id,
                          discount={"type": "AMOUNT", "amount_off": 1000})
        t2 = await f.tier(db, tenant.project_id, camp.id,
                          discount={"type": "PERCENT", "percent_off": 10})
        stack = PromotionStack(
            id=new_id("stack"), project_id=tenant.project_id, campaign_id=camp.id, name="s",
            tier_ids=[t1.id, t2.id],
        )
        async with db.write() as s:
            s.add(stack)
        data = (await tenant.api(REDEEM, i={
            "redeemables": [{"object": "PROMOTION_STACK", "id": stack.id}], "order": CART,
        }))["redeemStack"]
        assert data["errors"] == []
        # 5000 - 1000 = 4000, then 10 % of the discounted amount = 400
        assert [c["amount"] for c in data["redemptions"]] == [1000, 400]
        assert data["order"]["totalAmount"] == 3600
