"""Campaigns: create (coupon / promotion / gift), update, enable, disable, delete, list."""

from __future__ import annotations

from factories import create_category, error_codes, mutate
from promo_factories import (
    AMOUNT_10,
    CAMPAIGN,
    CREATE_CAMPAIGN,
    DELETE_CAMPAIGN,
    DISABLE_CAMPAIGN,
    ENABLE_CAMPAIGN,
    UPDATE_CAMPAIGN,
    campaign_codes,
    create_campaign,
    create_gift_campaign,
    create_promotion,
)

CAMPAIGN_QUERY = f"query($id: ID!) {{ campaign(id: $id) {{ {CAMPAIGN} }} }}"
VOUCHER_BY_CODE = "query($code: String!) { voucher(code: $code) { id code campaignId } }"


class TestCreateCampaign:
    async def test_standalone_with_given_code(self, api):
        category = await create_category(api)
        campaign = await create_campaign(
            api, name=" Welcome ", type="STANDALONE", description="first order",
            voucher={"type": "DISCOUNT_VOUCHER", "discount": {"type": "PERCENT",
                     "percentOff": 15, "amountLimit": 2000}, "code": "WELCOME15",
                     "redemption": {"quantity": 100}},
            startDate="2026-01-01T00:00:00+00:00", expirationDate="2026-12-31T00:00:00+00:00",
            categoryId=category["id"], metadata={"channel": "web"},
        )

        assert campaign["id"].startswith("camp_")
        assert (campaign["name"], campaign["type"], campaign["vouchersCount"]) == (
            "Welcome", "STANDALONE", 1
        )
        assert campaign["joinOnce"] is False
        assert campaign["voucher"]["discount"] == {
            "type": "PERCENT", "effect": None, "amountOff": None, "percentOff": 15.0,
            "amountLimit": 2000, "aggregatedAmountLimit": None, "fixedAmount": None,
            "unitOff": None, "unitType": None,
        }
        assert campaign["voucher"]["redemption"] == {"quantity": 100}
        assert (campaign["categoryId"], campaign["metadata"], campaign["creationStatus"]) == (
            category["id"], {"channel": "web"}, "DONE"
        )
        assert campaign["startDate"] == "2026-01-01T00:00:00+00:00"
        voucher = (await api(VOUCHER_BY_CODE, code="WELCOME15"))["voucher"]
        assert voucher["campaignId"] == campaign["id"]
        assert (await api(CAMPAIGN_QUERY, id=campaign["id"]))["campaign"] == campaign

    async def test_standalone_generates_its_code(self, api):
        campaign = await create_campaign(api, voucher={
            "type": "DISCOUNT_VOUCHER", "discount": AMOUNT_10,
            "codeConfig": {"prefix": "HI-", "pattern": "####", "charset": "ABC"},
        })

        (code,) = await campaign_codes(api, campaign["id"])
        assert campaign["type"] == "STANDALONE"
        assert code.startswith("HI-") and len(code) == 7 and set(code[3:]) <= set("ABC")

    async def test_static_makes_unique_codes(self, api):
        campaign = await create_campaign(api, type="STATIC", vouchersCount=250, voucher={
            "type": "DISCOUNT_VOUCHER", "discount": AMOUNT_10,
            "codeConfig": {"length": 6, "charset": "numbers", "postfix": "-X"},
        })

        codes = await campaign_codes(api, campaign["id"])
        assert campaign["vouchersCount"] == 250
        assert len(codes) == 250 and len(set(codes)) == 250
        assert all(len(c) == 8 and c[:6].isdigit() and c.endswith("-X") for c in codes)
        assert campaign["voucher"]["codeConfig"] == {
            "length": 6, "charset": "0123456789", "prefix": "", "postfix": "-X",
            "pattern": "######",
        }

    async def test_promotion_with_tiers(self, api):
        campaign = await create_promotion(api, promotion={"tiers": [
            {"name": "5 off over 50", "action": {"discount": {"type": "AMOUNT", "amountOff": 500}}},
            {"name": "10%", "action": {"discount": {"type": "PERCENT", "percentOff": 10}},
             "banner": "Ten!"},
        ]})
        data = await api(
            "query($id: ID!) { campaign(id: $id) { promotionTiers { totalCount edges { node "
            "{ name banner hierarchy campaignId } } } } }", id=campaign["id"],
        )

        tiers = [e["node"] for e in data["campaign"]["promotionTiers"]["edges"]]
        assert data["campaign"]["promotionTiers"]["totalCount"] == 2
        assert sorted((t["name"], t["banner"], t["hierarchy"]) for t in tiers) == [
            ("10%", "Ten!", 2), ("5 off over 50", None, 1)
        ]
        assert campaign["voucher"] is None and campaign["vouchersCount"] == 0

    async def test_gift_campaign_cards_start_with_the_amount(self, api):
        campaign = await create_gift_campaign(api, amount=2500, vouchersCount=3)

        data = await api(
            "query($id: ID!) { vouchers(filter: {campaignId: $id}) { edges { node { type "
            "gift { amount balance effect } } } } }", id=campaign["id"],
        )
        assert [e["node"] for e in data["vouchers"]["edges"]] == [
            {"type": "GIFT_VOUCHER", "gift": {"amount": 2500, "balance": 2500,
                                              "effect": "APPLY_TO_ORDER"}}
        ] * 3

    async def test_refusals(self, api):
        await create_campaign(api, name="Taken")
        cases = [
            ({"name": "Taken"}, [("duplicate_name", ["name"])]),
            ({"startDate": "2026-02-01T00:00:00+00:00",
              "expirationDate": "2026-01-01T00:00:00+00:00"},
             [("invalid_expiration_date", ["expirationDate"])]),
            ({"voucher": {"type": "GIFT_VOUCHER", "gift": {"amount": 1}}},
             [("invalid_campaign", ["voucher", "type"]),
              ("invalid_campaign", ["voucher", "gift"]),
              ("invalid_campaign", ["voucher", "discount"])]),
            ({"voucher": {"type": "DISCOUNT_VOUCHER",
                          "discount": {"type": "PERCENT", "percentOff": 120}}},
             [("invalid_discount", ["voucher", "discount", "percentOff"])]),
            ({"voucher": {"type": "DISCOUNT_VOUCHER",
                          "discount": {"type": "AMOUNT", "amountOffFormula": "1 +"}},
              }, [("invalid_discount", ["voucher", "discount", "amountOff"])]),
            ({"campaignType": "GIFT_VOUCHERS",
              "voucher": {"type": "GIFT_VOUCHER", "gift": {"amount": 0}}},
             [("invalid_balance", ["voucher", "gift", "amount"])]),
            ({"campaignType": "PROMOTION", "voucher": None},
             []),
            ({"categoryId": "cat_01J00000000000000000000000"},
             [("not_found", ["categoryId"])]),
            ({"validityDayOfWeek": [1, 9]}, [("invalid_validity", ["validityDayOfWeek"])]),
            ({"validityTimeframe": {"duration": "PT1H", "interval": "P1D"}},
             [("invalid_validity", ["startDate"])]),
            ({"validityTimeframe": {"duration": "soon", "interval": "P1D"},
              "startDate": "2026-01-01T00:00:00+00:00"},
             [("invalid_validity", ["validityTimeframe", "duration"])]),
            ({"validityHours": {"daily": [
                {"startTime": "10:00", "expirationTime": "12:00", "daysOfWeek": [1]},
                {"startTime": "11:00", "expirationTime": "13:00", "daysOfWeek": [1]}]}},
             [("invalid_validity", ["validityHours", "daily", "1"])]),
            ({"type": "STATIC", "vouchersCount": 1_000_001},
             [("invalid_campaign", ["vouchersCount"])]),
            ({"type": "STANDALONE", "vouchersCount": 5},
             [("invalid_campaign", ["vouchersCount"])]),
        ]
        for fields, expected in cases:
            input_ = {"name": "New", "campaignType": "DISCOUNT_COUPONS",
                      "voucher": {"type": "DISCOUNT_VOUCHER", "discount": AMOUNT_10}, **fields}
            if input_["voucher"] is None:
                del input_["voucher"]
            payload = await mutate(api, CREATE_CAMPAIGN, **input_)
            assert error_codes(payload) == expected, (fields, payload["errors"])
            if expected:
                assert payload["campaign"] is None
            else:
                await mutate(api, DELETE_CAMPAIGN, id=payload["campaign"]["id"])
        data = await api("{ campaigns { totalCount } vouchers { totalCount } }")
        assert data == {"campaigns": {"totalCount": 1}, "vouchers": {"totalCount": 1}}


class TestUpdateCampaign:
    async def test_changes_given_fields(self, api):
        campaign = await create_campaign(api, description="old", metadata={"a": 1})

        payload = await mutate(api, UPDATE_CAMPAIGN, id=campaign["id"], name="Renamed",
                               expirationDate="2030-01-01T00:00:00+00:00", active=False)

        updated = payload["campaign"]
        assert payload["errors"] == []
        assert (updated["name"], updated["description"], updated["metadata"]) == (
            "Renamed", "old", {"a": 1}
        )
        assert (updated["expirationDate"], updated["active"]) == (
            "2030-01-01T00:00:00+00:00", False
        )

    async def test_checks_dates_against_stored(self, api):
        campaign = await create_campaign(api, startDate="2026-06-01T00:00:00+00:00")

        payload = await mutate(api, UPDATE_CAMPAIGN, id=campaign["id"],
                               expirationDate="2026-05-01T00:00:00+00:00")

        assert error_codes(payload) == [("invalid_expiration_date", ["expirationDate"])]

    async def test_enable_disable(self, api):
        campaign = await create_campaign(api)

        off = await mutate(api, DISABLE_CAMPAIGN, id=campaign["id"])
        on = await mutate(api, ENABLE_CAMPAIGN, id=campaign["id"])

        assert off["campaign"]["active"] is False and on["campaign"]["active"] is True
        filtered = await api('{ campaigns(filter: {active: false}) { totalCount } }')
        assert filtered["campaigns"]["totalCount"] == 0


class TestDeleteCampaign:
    async def test_cascades_vouchers_and_tiers(self, api):
        coupons = await create_campaign(api, type="STATIC", vouchersCount=5)
        promotion = await create_promotion(api, promotion={"tiers": [
            {"name": "T", "action": {"discount": AMOUNT_10}}]})

        for campaign in (coupons, promotion):
            payload = await mutate(api, DELETE_CAMPAIGN, id=campaign["id"])
            assert payload == {"deletedId": campaign["id"], "errors": []}

        data = await api("{ campaigns { totalCount } vouchers { totalCount } "
                         "promotionTiers { totalCount } }")
        assert data == {"campaigns": {"totalCount": 0}, "vouchers": {"totalCount": 0},
                        "promotionTiers": {"totalCount": 0}}


class TestListCampaigns:
    async def test_filter_by_type(self, api):
        await create_campaign(api, name="A")
        gifts = await create_gift_campaign(api, name="B")

        data = await api('{ campaigns(filter: {campaignType: GIFT_VOUCHERS}) { totalCount '
                         'edges { node { id } } } }')

        assert data["campaigns"]["totalCount"] == 1
        assert data["campaigns"]["edges"] == [{"node": {"id": gifts["id"]}}]


class TestCampaignTenancy:
    async def test_other_project_cannot_see_or_change(self, api, make_tenant):
        campaign = await create_campaign(api)
        other = (await make_tenant("Other")).api

        assert (await other(CAMPAIGN_QUERY, id=campaign["id"]))["campaign"] is None
        assert (await other("query($id: ID!) { node(id: $id) { id } }",
                            id=campaign["id"]))["node"] is None
        for mutation in (DISABLE_CAMPAIGN, DELETE_CAMPAIGN):
            assert error_codes(await mutate(other, mutation, id=campaign["id"])) == [
                ("not_found", ["id"])
            ]
        assert error_codes(await mutate(other, UPDATE_CAMPAIGN, id=campaign["id"],
                                        name="x")) == [("not_found", ["id"])]
        # The same name is free in another project.
        await create_campaign(other, name=campaign["name"])

    async def test_publishable_key_is_forbidden(self, tenant):
        errors = await tenant.client_api.errors(
            CREATE_CAMPAIGN, input={"name": "X", "campaignType": "PROMOTION"}
        )
        assert errors[0]["extensions"]["code"] == "FORBIDDEN"


class TestCampaignKinds:
    async def test_referral_codes_are_marked(self, api):
        campaign = await create_campaign(api, campaignType="REFERRAL_PROGRAM", type="STATIC",
                                         vouchersCount=2)

        data = await api("query($id: ID!) { vouchers(filter: {campaignId: $id}) { edges "
                         "{ node { isReferralCode } } } }", id=campaign["id"])
        assert campaign["voucher"]["isReferralCode"] is True
        assert [e["node"]["isReferralCode"] for e in data["vouchers"]["edges"]] == [True, True]

    async def test_unsupported_kinds_and_taken_code(self, api):
        await create_campaign(api, name="First", voucher={
            "type": "DISCOUNT_VOUCHER", "discount": AMOUNT_10, "code": "SAME"})

        loyalty = await mutate(api, CREATE_CAMPAIGN, name="L", campaignType="LOYALTY_PROGRAM")
        taken = await mutate(api, CREATE_CAMPAIGN, name="Second",
                             campaignType="DISCOUNT_COUPONS", voucher={
                                 "type": "DISCOUNT_VOUCHER", "discount": AMOUNT_10,
                                 "code": "SAME"})

        assert error_codes(loyalty) == [("invalid_campaign", ["campaignType"])]
        assert error_codes(taken) == [("duplicate_code", ["voucher", "code"])]
        assert (await api("{ campaigns { totalCount } }"))["campaigns"]["totalCount"] == 1

    async def test_nested_tier_errors_name_the_tier(self, api):
        payload = await mutate(api, CREATE_CAMPAIGN, name="P", campaignType="PROMOTION",
                               promotion={"tiers": [
                                   {"name": "ok", "action": {"discount": AMOUNT_10}},
                                   {"name": "bad", "action": {"discount": AMOUNT_10},
                                    "startDate": "2026-02-01T00:00:00+00:00",
                                    "expirationDate": "2026-01-01T00:00:00+00:00"},
                               ]})

        assert error_codes(payload) == [
            ("invalid_expiration_date", ["promotion", "tiers", "1", "expirationDate"])
        ]

    async def test_node_resolves_new_types(self, api):
        campaign = await create_promotion(api, promotion={"tiers": [
            {"name": "T", "action": {"discount": AMOUNT_10}}]})
        coupon = await create_campaign(api, name="C", voucher={
            "type": "DISCOUNT_VOUCHER", "discount": AMOUNT_10, "code": "NODE1"})
        voucher = (await api(VOUCHER_BY_CODE, code="NODE1"))["voucher"]
        tiers = await api("{ promotionTiers { edges { node { id } } } }")
        tier_id = tiers["promotionTiers"]["edges"][0]["node"]["id"]

        for id_, typename in ((campaign["id"], "Campaign"), (coupon["id"], "Campaign"),
                              (voucher["id"], "Voucher"), (tier_id, "PromotionTier")):
            data = await api("query($id: ID!) { node(id: $id) { __typename id } }", id=id_)
            assert data["node"] == {"__typename": typename, "id": id_}


class TestNothingIsDroppedSilently:
    """Input the server would not act on is refused, never stored and ignored (issue 12,
    item 12)."""

    async def test_referral_program_is_not_supported_yet(self, api):
        payload = await mutate(
            api, CREATE_CAMPAIGN, name="Refer", campaignType="REFERRAL_PROGRAM",
            voucher={"type": "DISCOUNT_VOUCHER", "discount": AMOUNT_10}, type="STATIC",
            vouchersCount=2, referralProgram={"conversionEventType": "REDEMPTION"},
        )

        assert error_codes(payload) == [("not_supported", ["referralProgram"])]
        data = await api("{ campaigns { totalCount } vouchers { totalCount } }")
        assert data == {"campaigns": {"totalCount": 0}, "vouchers": {"totalCount": 0}}

    async def test_auto_join_belongs_to_loyalty_programs(self, api):
        created = await mutate(api, CREATE_CAMPAIGN, name="Auto", campaignType="DISCOUNT_COUPONS",
                               voucher={"type": "DISCOUNT_VOUCHER", "discount": AMOUNT_10},
                               autoJoin=True)
        campaign = await create_campaign(api, autoJoin=False)
        updated = await mutate(api, UPDATE_CAMPAIGN, id=campaign["id"], autoJoin=True)

        assert error_codes(created) == [("not_supported", ["autoJoin"])]
        assert error_codes(updated) == [("not_supported", ["autoJoin"])]
        stored = (await api(CAMPAIGN_QUERY, id=campaign["id"]))["campaign"]
        assert stored["autoJoin"] is False

    async def test_join_once_cannot_apply_to_a_generic_code(self, api):
        created = await mutate(api, CREATE_CAMPAIGN, name="Gen", campaignType="DISCOUNT_COUPONS",
                               voucher={"type": "DISCOUNT_VOUCHER", "discount": AMOUNT_10},
                               joinOnce=True)
        generic = await create_campaign(api, name="Generic")
        updated = await mutate(api, UPDATE_CAMPAIGN, id=generic["id"], joinOnce=True)
        bulk = await create_campaign(api, name="Bulk", type="STATIC", vouchersCount=2,
                                     joinOnce=True)

        assert error_codes(created) == [("invalid_campaign", ["joinOnce"])]
        assert error_codes(updated) == [("invalid_campaign", ["joinOnce"])]
        assert bulk["joinOnce"] is True

    async def test_promotion_type_and_nested_tier_campaign_id(self, api):
        typed = await mutate(api, CREATE_CAMPAIGN, name="P1", campaignType="PROMOTION",
                             type="AUTO_UPDATE")
        nested = await mutate(api, CREATE_CAMPAIGN, name="P2", campaignType="PROMOTION",
                              promotion={"tiers": [{"name": "T", "campaignId": "camp_x",
                                                    "action": {"discount": AMOUNT_10}}]})

        assert error_codes(typed) == [("invalid_campaign", ["type"])]
        assert error_codes(nested) == [
            ("invalid_campaign", ["promotion", "tiers", "0", "campaignId"])
        ]
        assert (await api("{ campaigns { totalCount } }"))["campaigns"]["totalCount"] == 0

    async def test_discount_fields_of_another_discount_type(self, api):
        payload = await mutate(api, CREATE_CAMPAIGN, name="Mixed",
                               campaignType="DISCOUNT_COUPONS", voucher={
                                   "type": "DISCOUNT_VOUCHER",
                                   "discount": {"type": "AMOUNT", "amountOff": 1000,
                                                "percentOff": 20, "unitType": "prod_x"}})

        assert error_codes(payload) == [
            ("invalid_discount", ["voucher", "discount", "percentOff"]),
            ("invalid_discount", ["voucher", "discount", "unitType"]),
        ]

    async def test_a_standalone_loyalty_card_input_is_refused(self, api):
        payload = await mutate(api, "mutation($input: CreateVoucherInput!) { createVoucher("
                               "input: $input) { voucher { id } errors { code message field } } }",
                               code="LOYAL", discount=AMOUNT_10, loyaltyCard={"points": 100})

        assert error_codes(payload) == [("not_supported", ["loyaltyCard"])]
        assert (await api("{ vouchers { totalCount } }"))["vouchers"]["totalCount"] == 0
