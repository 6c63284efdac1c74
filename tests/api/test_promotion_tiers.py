"""Promotion tiers and promotion stacks."""

from __future__ import annotations

from factories import create_category, error_codes, mutate
from promo_factories import (
    AMOUNT_10,
    CREATE_STACK,
    CREATE_TIER,
    DELETE_STACK,
    DELETE_TIER,
    DISABLE_CAMPAIGN,
    DISABLE_TIER,
    ENABLE_TIER,
    TIER,
    UPDATE_STACK,
    UPDATE_TIER,
    create_campaign,
    create_promotion,
    create_tier,
)

TIER_QUERY = f"query($id: ID!) {{ promotionTier(id: $id) {{ {TIER} }} }}"
CLIENT_TIERS = (
    "{ promotionTiers { totalCount edges { node { id name banner active "
    "action { discount { type amountOff } } } } } }"
)
TIER_INTERNALS = (
    "{ promotionTiers { edges { node { id metadata redeemedQuantity discountedAmount "
    "ordersAmount campaign { id } validationRules { id } } } } }"
)


class TestPromotionTiers:
    async def test_create_read_update(self, api):
        promotion = await create_promotion(api)
        category = await create_category(api)

        tier = await create_tier(api, promotion["id"], banner="Save", categoryId=category["id"],
                                 metadata={"a": 1}, startDate="2026-01-01T00:00:00+00:00")
        second = await create_tier(api, promotion["id"], name="Second")
        payload = await mutate(api, UPDATE_TIER, id=tier["id"], name="Renamed",
                               action={"discount": {"type": "PERCENT", "percentOff": 30}})

        assert tier["id"].startswith("promo_")
        assert (tier["campaignId"], tier["hierarchy"], second["hierarchy"]) == (
            promotion["id"], 1, 2
        )
        assert (tier["banner"], tier["categoryId"], tier["metadata"]) == (
            "Save", category["id"], {"a": 1}
        )
        assert (tier["redeemedQuantity"], tier["discountedAmount"], tier["ordersAmount"]) == (
            0, 0, 0
        )
        assert payload["errors"] == []
        updated = (await api(TIER_QUERY, id=tier["id"]))["promotionTier"]
        assert (updated["name"], updated["action"]["discount"]["percentOff"]) == ("Renamed", 30.0)
        assert updated["startDate"] == "2026-01-01T00:00:00+00:00"

    async def test_refusals(self, api):
        coupons = await create_campaign(api)
        promotion = await create_promotion(api)

        wrong = await mutate(api, CREATE_TIER, campaignId=coupons["id"], name="X",
                             action={"discount": AMOUNT_10})
        bad = await mutate(api, CREATE_TIER, campaignId=promotion["id"], name="X",
                           action={"discount": {"type": "FIXED"}})
        missing = await mutate(api, CREATE_TIER, name="X", action={"discount": AMOUNT_10})

        assert error_codes(wrong) == [("invalid_campaign", ["campaignId"])]
        assert error_codes(bad) == [("invalid_discount", ["action", "discount", "fixedAmount"])]
        assert error_codes(missing) == [("required", ["campaignId"])]

    async def test_enable_disable_delete(self, api):
        promotion = await create_promotion(api)
        tier = await create_tier(api, promotion["id"])

        off = await mutate(api, DISABLE_TIER, id=tier["id"])
        on = await mutate(api, ENABLE_TIER, id=tier["id"])
        deleted = await mutate(api, DELETE_TIER, id=tier["id"])

        assert (off["promotionTier"]["active"], on["promotionTier"]["active"]) == (False, True)
        assert deleted == {"deletedId": tier["id"], "errors": []}

    async def test_publishable_key_sees_only_active_tiers_without_internals(self, tenant):
        api = tenant.api
        promotion = await create_promotion(api)
        shown = await create_tier(api, promotion["id"], name="Shown", banner="B",
                                  metadata={"secret": 1})
        hidden = await create_tier(api, promotion["id"], name="Hidden")
        await mutate(api, DISABLE_TIER, id=hidden["id"])
        other = await create_promotion(api, name="Off")
        await create_tier(api, other["id"], name="Campaign off")
        await mutate(api, DISABLE_CAMPAIGN, id=other["id"])

        data = await tenant.client_api(CLIENT_TIERS)

        assert data["promotionTiers"]["totalCount"] == 1
        assert data["promotionTiers"]["edges"] == [{"node": {
            "id": shown["id"], "name": "Shown", "banner": "B", "active": True,
            "action": {"discount": {"type": "AMOUNT", "amountOff": 1000}},
        }}]
        secret = await api(CLIENT_TIERS)
        assert secret["promotionTiers"]["totalCount"] == 3
        (refused,) = await tenant.client_api.errors(TIER_INTERNALS)
        assert refused["extensions"]["code"] == "FORBIDDEN"
        assert refused["extensions"]["fields"] == [
            "PromotionTier.campaign", "PromotionTier.discountedAmount", "PromotionTier.metadata",
            "PromotionTier.ordersAmount", "PromotionTier.redeemedQuantity",
            "PromotionTier.validationRules", "ValidationRule.id",
        ]

    async def test_publishable_key_cannot_manage(self, tenant):
        errors = await tenant.client_api.errors(DISABLE_TIER, input={"id": "promo_x"})
        assert errors[0]["extensions"]["code"] == "FORBIDDEN"

    async def test_tenancy(self, api, make_tenant):
        promotion = await create_promotion(api)
        tier = await create_tier(api, promotion["id"])
        other = (await make_tenant("Other")).api

        assert (await other(TIER_QUERY, id=tier["id"]))["promotionTier"] is None
        assert error_codes(await mutate(other, DISABLE_TIER, id=tier["id"])) == [
            ("not_found", ["id"])
        ]
        assert error_codes(await mutate(other, CREATE_TIER, campaignId=promotion["id"],
                                        name="X", action={"discount": AMOUNT_10})) == [
            ("not_found", ["campaignId"])
        ]


class TestPromotionStacks:
    async def test_create_update_delete(self, api):
        promotion = await create_promotion(api)
        a = await create_tier(api, promotion["id"], name="A")
        b = await create_tier(api, promotion["id"], name="B")

        created = await mutate(api, CREATE_STACK, name="Both", campaignId=promotion["id"],
                               tierIds=[b["id"], a["id"]])
        stack = created["promotionStack"]
        updated = await mutate(api, UPDATE_STACK, id=stack["id"], tierIds=[a["id"]])
        in_use = await mutate(api, DELETE_TIER, id=a["id"])
        deleted = await mutate(api, DELETE_STACK, id=stack["id"])

        assert created["errors"] == [] and stack["id"].startswith("stack_")
        assert stack["tierIds"] == [b["id"], a["id"]]
        assert stack["tiers"] == [{"id": b["id"]}, {"id": a["id"]}]
        assert updated["promotionStack"]["tierIds"] == [a["id"]]
        assert error_codes(in_use) == [("resource_in_use", ["id"])]
        assert deleted == {"deletedId": stack["id"], "errors": []}
        assert (await api("{ promotionStacks { totalCount } }"))["promotionStacks"][
            "totalCount"] == 0

    async def test_refusals(self, api):
        promotion = await create_promotion(api)
        other = await create_promotion(api, name="Other")
        tier = await create_tier(api, promotion["id"])
        foreign = await create_tier(api, other["id"])

        cases = [
            ({"tierIds": []}, [("invalid_promotion_stack", ["tierIds"])]),
            ({"tierIds": [tier["id"], tier["id"]]}, [("invalid_promotion_stack", ["tierIds"])]),
            ({"tierIds": [tier["id"], foreign["id"]]},
             [("invalid_promotion_stack", ["tierIds", "1"])]),
            ({"tierIds": ["promo_01J00000000000000000000000"]},
             [("not_found", ["tierIds", "0"])]),
        ]
        for fields, expected in cases:
            payload = await mutate(api, CREATE_STACK, name="S", campaignId=promotion["id"],
                                   **fields)
            assert error_codes(payload) == expected, fields


class TestStackTenancy:
    async def test_other_project_cannot_see_or_change(self, api, make_tenant):
        promotion = await create_promotion(api)
        tier = await create_tier(api, promotion["id"])
        stack = (await mutate(api, CREATE_STACK, name="S", campaignId=promotion["id"],
                              tierIds=[tier["id"]]))["promotionStack"]
        other = (await make_tenant("Other")).api

        assert (await other("query($id: ID!) { promotionStack(id: $id) { id } }",
                            id=stack["id"]))["promotionStack"] is None
        assert error_codes(await mutate(other, UPDATE_STACK, id=stack["id"], name="X")) == [
            ("not_found", ["id"])
        ]
        assert error_codes(await mutate(other, DELETE_STACK, id=stack["id"])) == [
            ("not_found", ["id"])
        ]
