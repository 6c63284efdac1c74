"""autoApply { promotions }: the project's applicable promotion tiers added to a stack in the
same validateStack / redeemStack call."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from app.db.campaigns import PromotionTier
from tests.stack import factories as f
from tests.stack.test_redeem_stack import CART, ROLLBACK

VALIDATE = """query($i: StackInput!) { validateStack(input: $i) {
  valid redeemables { object id status autoApplied reason { code }
    order { totalAppliedDiscountAmount } }
  order { amount totalDiscountAmount totalAmount } } }"""

REDEEM = """mutation($i: RedeemStackInput!) { redeemStack(input: $i) {
  redemption { id result amount children { promotionTierId voucherId amount } }
  validation { valid redeemables { id status autoApplied } order { totalAmount } }
  errors { code } } }"""

AUTO = {"promotions": True}


async def arrange(tenant: Any, db: Any) -> dict[str, str]:
    """Cart 5,000: tee 2 x 2,000 + cap 1,000. A 300 coupon; tiers: 20 % (1,000 alone),
    500 off, one behind an unmet amount floor, one ended, one for a product not in the cart,
    one inactive."""
    pid = tenant.project_id
    await f.voucher(db, pid, "COUPON", discount={"type": "AMOUNT", "amount_off": 300})
    camp = await f.campaign(db, pid, campaign_type="PROMOTION")
    best = await f.tier(db, pid, camp.id, discount={"type": "PERCENT", "percent_off": 20})
    flat = await f.tier(db, pid, camp.id, discount={"type": "AMOUNT", "amount_off": 500})
    floor = await f.tier(db, pid, camp.id, discount={"type": "AMOUNT", "amount_off": 4000})
    await f.rule(db, pid, floor.id, "promotion_tier",
                 {"1": {"name": "order.amount", "conditions": {"$more_than": [100000]}},
                  "logic": "1"})
    ended = await f.tier(db, pid, camp.id, discount={"type": "AMOUNT", "amount_off": 4000},
                         expiration_date=datetime.now(UTC) - timedelta(days=1))
    other = await f.tier(db, pid, camp.id, discount={
        "type": "PERCENT", "percent_off": 90, "effect": "APPLY_TO_ITEMS"})
    await f.rule(db, pid, other.id, "promotion_tier", {},
                 applicable_to={"included": [{"object": "product", "id": "prod_elsewhere"}]})
    off = await f.tier(db, pid, camp.id, discount={"type": "AMOUNT", "amount_off": 4000},
                       active=False)
    return {"best": best.id, "flat": flat.id, "floor": floor.id, "ended": ended.id,
            "other": other.id, "off": off.id}


def shown(data: dict[str, Any]) -> list[tuple[str, str, bool]]:
    return [(r["id"], r["status"], r["autoApplied"]) for r in data["redeemables"]]


class TestValidate:
    async def test_applicable_tiers_are_added_best_first(self, tenant, db) -> None:
        t = await arrange(tenant, db)
        data = (await tenant.api(VALIDATE, i={
            "redeemables": [{"object": "VOUCHER", "id": "COUPON"}], "order": CART,
            "autoApply": AUTO}))["validateStack"]
        assert shown(data) == [("COUPON", "APPLICABLE", False),
                               (t["best"], "APPLICABLE", True), (t["flat"], "APPLICABLE", True)]
        # 5000 - 300 = 4700; 20 % of it = 940; then 500
        assert [r["order"]["totalAppliedDiscountAmount"] for r in data["redeemables"]] == [
            300, 940, 500]
        assert data["order"] == {"amount": 5000, "totalDiscountAmount": 1740,
                                 "totalAmount": 3260}
        assert data["valid"] is True

    async def test_without_the_flag_nothing_is_added(self, tenant, db) -> None:
        await arrange(tenant, db)
        for flag in (None, {"promotions": False}):
            i: dict[str, Any] = {"redeemables": [{"object": "VOUCHER", "id": "COUPON"}],
                                 "order": CART}
            if flag is not None:
                i["autoApply"] = flag
            data = (await tenant.api(VALIDATE, i=i))["validateStack"]
            assert shown(data) == [("COUPON", "APPLICABLE", False)]
            assert data["order"]["totalAmount"] == 4700

    async def test_a_tier_sent_is_not_added_again(self, tenant, db) -> None:
        t = await arrange(tenant, db)
        data = (await tenant.api(VALIDATE, i={
            "redeemables": [{"object": "PROMOTION_TIER", "id": t["flat"]}], "order": CART,
            "autoApply": AUTO}))["validateStack"]
        assert shown(data) == [(t["flat"], "APPLICABLE", False), (t["best"], "APPLICABLE", True)]
        # 5000 - 500 = 4500; 20 % = 900
        assert data["order"]["totalAmount"] == 3600

    async def test_nothing_sent(self, tenant, db) -> None:
        t = await arrange(tenant, db)
        data = (await tenant.api(VALIDATE, i={"redeemables": [], "order": CART,
                                              "autoApply": AUTO}))["validateStack"]
        assert shown(data) == [(t["best"], "APPLICABLE", True), (t["flat"], "APPLICABLE", True)]
        # 20 % of 5000 = 1000; then 500
        assert data["order"]["totalAmount"] == 3500

    async def test_nothing_sent_with_a_redeemables_limit_of_one(self, tenant, db) -> None:
        await arrange(tenant, db)
        small = {"items": [{"sourceId": "pin", "quantity": 1, "price": 400}]}
        await tenant.api("mutation { updateStackingRules(input: {redeemablesLimit: 1}) "
                         "{ errors { code } } }")
        # The best one (20 % = 80) is added; the 500-off one drives the total to 0 too, but
        # the limit of one redeemable keeps it out.
        data = (await tenant.api(VALIDATE, i={"redeemables": [], "order": small,
                                              "autoApply": AUTO}))["validateStack"]
        assert [(r["status"], r["autoApplied"]) for r in data["redeemables"]] == [
            ("APPLICABLE", True)]
        assert data["order"]["totalAmount"] == 0

    async def test_nothing_sent_and_nothing_to_add(self, tenant, db) -> None:
        data = (await tenant.api(VALIDATE, i={"redeemables": [], "order": CART,
                                              "autoApply": AUTO}))["validateStack"]
        assert data == {"valid": True, "redeemables": [], "order": {
            "amount": 5000, "totalDiscountAmount": 0, "totalAmount": 5000}}

    async def test_limits(self, tenant, db) -> None:
        t = await arrange(tenant, db)
        await tenant.api("mutation { updateStackingRules(input: "
                         "{applicableRedeemablesLimit: 2}) { errors { code } } }")
        data = (await tenant.api(VALIDATE, i={
            "redeemables": [{"object": "VOUCHER", "id": "COUPON"}], "order": CART,
            "autoApply": AUTO}))["validateStack"]
        assert shown(data) == [("COUPON", "APPLICABLE", False), (t["best"], "APPLICABLE", True)]
        assert data["order"]["totalAmount"] == 3760
        await tenant.api("mutation { updateStackingRules(input: {applicableRedeemablesLimit: 5,"
                         " redeemablesLimit: 1}) { errors { code } } }")
        data = (await tenant.api(VALIDATE, i={
            "redeemables": [{"object": "VOUCHER", "id": "COUPON"}], "order": CART,
            "autoApply": AUTO}))["validateStack"]
        assert shown(data) == [("COUPON", "APPLICABLE", False)]

    async def test_exclusive_category(self, tenant, db) -> None:
        t = await arrange(tenant, db)
        created = await tenant.api(
            'mutation { createCategory(input: {name: "Solo", hierarchy: 1, '
            'stackingRulesType: EXCLUSIVE}) { category { id } } }')
        solo = created["createCategory"]["category"]["id"]
        camp = await f.campaign(db, tenant.project_id, campaign_type="PROMOTION")
        never = await f.tier(db, tenant.project_id, camp.id, category_id=solo,
                             discount={"type": "AMOUNT", "amount_off": 2500})
        # Sent coupon: the never-stackable tier would push it out, so it is not added.
        data = (await tenant.api(VALIDATE, i={
            "redeemables": [{"object": "VOUCHER", "id": "COUPON"}], "order": CART,
            "autoApply": AUTO}))["validateStack"]
        assert shown(data) == [("COUPON", "APPLICABLE", False),
                               (t["best"], "APPLICABLE", True), (t["flat"], "APPLICABLE", True)]
        # Nothing sent: it is the best deal and stands alone.
        data = (await tenant.api(VALIDATE, i={"redeemables": [], "order": CART,
                                              "autoApply": AUTO}))["validateStack"]
        assert shown(data) == [(never.id, "APPLICABLE", True)]
        assert data["order"]["totalAmount"] == 2500

    async def test_customer_audience(self, tenant, db) -> None:
        await arrange(tenant, db)
        camp = await f.campaign(db, tenant.project_id, campaign_type="PROMOTION")
        vip = await f.tier(db, tenant.project_id, camp.id,
                           discount={"type": "AMOUNT", "amount_off": 2000})
        await f.rule(db, tenant.project_id, vip.id, "promotion_tier",
                     {"1": {"name": "customer.metadata", "property": "tier",
                            "conditions": {"$is": ["gold"]}}, "logic": "1"})
        for metadata, added in (({"tier": "gold"}, True), ({"tier": "tin"}, False)):
            data = (await tenant.api(VALIDATE, i={
                "redeemables": [], "order": CART, "autoApply": AUTO,
                "customer": {"sourceId": "c1", "metadata": metadata}}))["validateStack"]
            assert (vip.id in [r["id"] for r in data["redeemables"]]) is added

    async def test_publishable_key(self, tenant, db) -> None:
        t = await arrange(tenant, db)
        data = (await tenant.client_api(VALIDATE, i={
            "redeemables": [{"object": "VOUCHER", "id": "COUPON"}], "order": CART,
            "autoApply": AUTO}))["validateStack"]
        assert [r["autoApplied"] for r in data["redeemables"]] == [False, True, True]
        assert data["redeemables"][1]["id"] == t["best"]

    async def test_a_promotion_stack_gets_nothing_added(self, tenant, db) -> None:
        from app.db.campaigns import PromotionStack
        from app.db.ids import new_id

        t = await arrange(tenant, db)
        camp = await f.campaign(db, tenant.project_id, campaign_type="PROMOTION")
        stack = PromotionStack(id=new_id("stack"), project_id=tenant.project_id,
                               campaign_id=camp.id, name="s", tier_ids=[t["flat"]])
        async with db.write() as s:
            s.add(stack)
        data = (await tenant.api(VALIDATE, i={
            "redeemables": [{"object": "PROMOTION_STACK", "id": stack.id}], "order": CART,
            "autoApply": AUTO}))["validateStack"]
        assert shown(data) == [(t["flat"], "APPLICABLE", False)]

    async def test_bad_input(self, tenant, db) -> None:
        await arrange(tenant, db)
        errors = await tenant.api.errors(VALIDATE, i={"redeemables": [], "autoApply": AUTO})
        assert errors[0]["extensions"]["code"] == "invalid_payload"
        errors = await tenant.api.errors(VALIDATE, i={"redeemables": [], "order": CART})
        assert errors[0]["extensions"]["code"] == "invalid_payload"
        errors = await tenant.api.errors(VALIDATE, i={
            "redeemables": [], "autoApply": AUTO,
            "order": {"items": [{"sourceId": "x", "quantity": 0, "price": 1}]}})
        assert errors[0]["extensions"]["code"] == "invalid_payload"
        errors = await tenant.api.errors(VALIDATE, i={
            "redeemables": [], "order": CART, "autoApply": {"promotions": None}})
        assert errors  # a Boolean! given null: refused by GraphQL


async def tier_counts(db: Any, tier_id: str) -> tuple[int, int]:
    async with db.read() as s:
        row = await s.get(PromotionTier, tier_id)
        return row.redeemed_quantity, row.discounted_amount


class TestRedeem:
    async def test_added_tiers_are_spent_and_rolled_back_with_the_rest(self, tenant, db) -> None:
        t = await arrange(tenant, db)
        i = {"redeemables": [{"object": "VOUCHER", "id": "COUPON"}], "order": CART,
             "autoApply": AUTO, "idempotencyKey": "auto-1"}
        data = (await tenant.api(REDEEM, i=i))["redeemStack"]
        assert data["errors"] == []
        assert data["redemption"]["amount"] == 1740
        assert [(c["voucherId"] is not None, c["promotionTierId"], c["amount"])
                for c in data["redemption"]["children"]] == [
            (True, None, 300), (False, t["best"], 940), (False, t["flat"], 500)]
        assert [(r["id"], r["autoApplied"]) for r in data["validation"]["redeemables"]] == [
            ("COUPON", False), (t["best"], True), (t["flat"], True)]
        assert await tier_counts(db, t["best"]) == (1, 940)
        assert await tier_counts(db, t["flat"]) == (1, 500)

        replay = (await tenant.api(REDEEM, i=i))["redeemStack"]
        assert replay == data
        assert await tier_counts(db, t["best"]) == (1, 940)

        rolled = (await tenant.api(ROLLBACK, i={"redemptionId": data["redemption"]["id"]}))
        assert rolled["rollbackRedemption"]["errors"] == []
        # the parent's rollback, then each child's
        assert [r["amount"] for r in rolled["rollbackRedemption"]["rollbacks"]] == [
            -1740, -300, -940, -500]
        assert await tier_counts(db, t["best"]) == (0, 0)
        assert await tier_counts(db, t["flat"]) == (0, 0)

    async def test_nothing_sent(self, tenant, db) -> None:
        t = await arrange(tenant, db)
        data = (await tenant.api(REDEEM, i={"redeemables": [], "order": CART,
                                            "autoApply": AUTO}))["redeemStack"]
        assert data["errors"] == []
        assert [c["promotionTierId"] for c in data["redemption"]["children"]] == [
            t["best"], t["flat"]]
        assert data["validation"]["order"]["totalAmount"] == 3500

    async def test_nothing_to_spend(self, tenant, db) -> None:
        errors = await tenant.api.errors(REDEEM, i={"redeemables": [], "order": CART,
                                                    "autoApply": AUTO})
        assert errors[0]["extensions"]["code"] == "no_applicable_redeemables"
