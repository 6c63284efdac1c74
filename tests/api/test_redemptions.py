"""Redemption records as the contract names them: voucher, promotionTier, loyaltyCard objects
resolved through per-request dataloaders (issue 12, item 19)."""

from __future__ import annotations

from promo_factories import AMOUNT_10, create_campaign, create_promotion, create_tier

REDEEM = """mutation($i: RedeemStackInput!) { redeemStack(input: $i) {
  redemption { id } errors { code } } }"""
FIELDS = """id result status createdAt amount gift { amount } loyaltyCard { points }
  failureCode failureMessage metadata customer { sourceId } order { id }
  voucher { id code campaignId } promotionTier { id name campaignId }
  parent { id } children { id } rollbacks { id }"""
LIST = f"{{ redemptions(first: 50) {{ totalCount edges {{ node {{ {FIELDS} }} }} }} }}"
CART = {"items": [{"sourceId": "tee", "quantity": 1, "price": 5000}]}


async def redeem_pairs(api, count: int) -> tuple[list[str], str]:
    """`count` redemptions of a code and a promotion tier together; returns codes, tier id."""
    coupons = await create_campaign(api, "Coupons", type="STATIC", vouchersCount=count)
    promo = await create_promotion(api, "Deals")
    tier = await create_tier(api, promo["id"], name="Five off",
                             action={"discount": {"type": "AMOUNT", "amountOff": 500}})
    data = await api("query($id: ID!) { vouchers(filter: {campaignId: $id}) "
                     "{ edges { node { code } } } }", id=coupons["id"])
    codes = [e["node"]["code"] for e in data["vouchers"]["edges"]]
    for n, code in enumerate(codes):
        done = await api(REDEEM, i={
            "redeemables": [{"object": "VOUCHER", "id": code},
                            {"object": "PROMOTION_TIER", "id": tier["id"]}],
            "order": CART, "customer": {"sourceId": f"c{n}"},
        })
        assert done["redeemStack"]["errors"] == []
    return codes, tier["id"]


class TestRedemptionObjects:
    async def test_children_name_their_voucher_and_tier(self, api):
        codes, tier_id = await redeem_pairs(api, 1)

        data = await api(LIST)

        nodes = [e["node"] for e in data["redemptions"]["edges"]]
        parent = next(n for n in nodes if n["children"])
        by_kind = {("voucher" if n["voucher"] else "tier"): n for n in nodes if n["parent"]}
        assert data["redemptions"]["totalCount"] == 3
        assert (parent["voucher"], parent["promotionTier"], parent["loyaltyCard"]) == (
            None, None, None
        )
        assert by_kind["voucher"]["voucher"]["code"] == codes[0]
        assert by_kind["voucher"]["promotionTier"] is None
        assert by_kind["voucher"]["amount"] == AMOUNT_10["amountOff"]
        assert by_kind["tier"]["promotionTier"]["id"] == tier_id
        assert by_kind["tier"]["promotionTier"]["name"] == "Five off"
        assert by_kind["tier"]["voucher"] is None and by_kind["tier"]["amount"] == 500
        assert by_kind["tier"]["parent"] == {"id": parent["id"]}

    async def test_listing_is_not_n_plus_1(self, make_tenant, sql_statements):
        small, large = await make_tenant("Small"), await make_tenant("Large")
        await redeem_pairs(small.api, 1)
        await redeem_pairs(large.api, 8)

        sql_statements.clear()
        one = await small.api(LIST)
        for_one = list(sql_statements)
        sql_statements.clear()
        many = await large.api(LIST)
        for_many = list(sql_statements)

        assert (one["redemptions"]["totalCount"], many["redemptions"]["totalCount"]) == (3, 24)
        assert sum(1 for e in many["redemptions"]["edges"] if e["node"]["voucher"]) == 8
        assert sum(1 for e in many["redemptions"]["edges"] if e["node"]["promotionTier"]) == 8
        for table in ("FROM vouchers", "FROM promotion_tiers"):
            assert sum(table in s for s in for_many) == 1, (table, for_many)
        assert len(for_many) == len(for_one), for_many
