"""Vouchers: create (alone or in a campaign), update, enable/disable, delete, read, list."""

from __future__ import annotations

from factories import create_category, create_customer, error_codes, mutate
from promo_factories import (
    AMOUNT_10,
    CREATE_VOUCHER,
    DELETE_VOUCHER,
    DISABLE_VOUCHER,
    ENABLE_VOUCHER,
    UPDATE_VOUCHER,
    VOUCHER,
    create_campaign,
    create_promotion,
    create_rule,
    create_voucher,
)

VOUCHER_QUERY = f"query($code: String!) {{ voucher(code: $code) {{ {VOUCHER} }} }}"


class TestCreateVoucher:
    async def test_standalone_with_code(self, api):
        category = await create_category(api)
        rule = await create_rule(api)

        voucher = await create_voucher(
            api, code="SAVE10", discount={"type": "AMOUNT", "amountOff": 1000,
                                          "effect": "APPLY_TO_ORDER"},
            redemption={"quantity": 3}, categoryId=category["id"],
            validationRuleIds=[rule["id"]], metadata={"k": "v"},
            expirationDate="2030-01-01T00:00:00+00:00",
        )

        assert voucher["id"].startswith("v_")
        assert (voucher["code"], voucher["type"], voucher["campaignId"], voucher["active"]) == (
            "SAVE10", "DISCOUNT_VOUCHER", None, True
        )
        assert voucher["discount"]["amountOff"] == 1000
        assert voucher["discount"]["effect"] == "APPLY_TO_ORDER"
        assert voucher["redemption"] == {"quantity": 3, "redeemedQuantity": 0,
                                         "redeemedAmount": 0}
        assert (voucher["categoryId"], voucher["metadata"], voucher["gift"]) == (
            category["id"], {"k": "v"}, None
        )
        assert voucher["validationRules"] == [{"id": rule["id"]}]
        assert (await api(VOUCHER_QUERY, code="SAVE10"))["voucher"] == voucher
        assert (await api(VOUCHER_QUERY, code=voucher["id"]))["voucher"] == voucher

    async def test_generated_code_in_campaign_takes_template(self, api):
        campaign = await create_campaign(api, type="STATIC", vouchersCount=0, voucher={
            "type": "DISCOUNT_VOUCHER", "discount": {"type": "PERCENT", "percentOff": 5},
            "codeConfig": {"pattern": "PR-####", "charset": "XYZ"},
            "redemption": {"quantity": 1},
        })

        voucher = await create_voucher(api, campaignId=campaign["id"])

        assert voucher["code"].startswith("PR-") and set(voucher["code"][3:]) <= set("XYZ")
        assert voucher["discount"]["percentOff"] == 5.0
        assert voucher["redemption"]["quantity"] == 1
        data = await api("query($id: ID!) { campaign(id: $id) { vouchersCount } }",
                         id=campaign["id"])
        assert data["campaign"]["vouchersCount"] == 1

    async def test_refusals(self, api):
        await create_voucher(api, code="TAKEN")
        promotion = await create_promotion(api)
        standalone = await create_campaign(api, name="One")
        cases = [
            ({"code": "TAKEN"}, [("duplicate_code", ["code"])]),
            ({"code": "has space"}, [("invalid_code", ["code"])]),
            ({"code": "X1", "discount": None}, [("invalid_discount", ["discount"])]),
            ({"code": "X2", "type": "GIFT_VOUCHER", "discount": None, "gift": {"amount": -5}},
             [("invalid_balance", ["gift", "amount"])]),
            ({"campaignId": promotion["id"]}, [("invalid_campaign", ["campaignId"])]),
            ({"campaignId": standalone["id"]}, [("invalid_campaign", ["campaignId"])]),
            ({"campaignId": "camp_01J00000000000000000000000"}, [("not_found", ["campaignId"])]),
            ({"validationRuleIds": ["val_01J00000000000000000000000"]},
             [("not_found", ["validationRuleIds", "0"])]),
        ]
        for fields, expected in cases:
            input_ = {"discount": AMOUNT_10, **fields}
            if "campaignId" in fields:
                input_.pop("discount")
            payload = await mutate(api, CREATE_VOUCHER, **input_)
            assert error_codes(payload) == expected, (fields, payload["errors"])
        assert (await api("{ vouchers { totalCount } }"))["vouchers"]["totalCount"] == 2


class TestUpdateVoucher:
    async def test_changes_given_fields(self, api):
        await create_voucher(api, code="UPD", metadata={"a": 1})

        payload = await mutate(api, UPDATE_VOUCHER, code="UPD", redemption={"quantity": 9},
                               discount={"type": "PERCENT", "percentOff": 50})

        voucher = payload["voucher"]
        assert payload["errors"] == []
        assert (voucher["redemption"]["quantity"], voucher["discount"]["percentOff"],
                voucher["metadata"]) == (9, 50.0, {"a": 1})

    async def test_enable_disable_delete(self, api):
        voucher = await create_voucher(api, code="ONOFF")

        off = await mutate(api, DISABLE_VOUCHER, code="ONOFF")
        on = await mutate(api, ENABLE_VOUCHER, code=voucher["id"])
        deleted = await mutate(api, DELETE_VOUCHER, code="ONOFF")

        assert off["voucher"] == {"code": "ONOFF", "active": False}
        assert on["voucher"] == {"code": "ONOFF", "active": True}
        assert deleted == {"deletedId": voucher["id"], "errors": []}
        assert (await api(VOUCHER_QUERY, code="ONOFF"))["voucher"] is None

    async def test_unknown_code(self, api):
        payload = await mutate(api, DISABLE_VOUCHER, code="NOPE")
        assert error_codes(payload) == [("not_found", ["code"])]


class TestListVouchers:
    async def test_filters(self, api):
        campaign = await create_campaign(api, type="STATIC", vouchersCount=2)
        await create_voucher(api, code="LONE", active=False)
        customer = await create_customer(api, sourceId="c1")

        by_campaign = await api("query($id: ID!) { vouchers(filter: {campaignId: $id}) "
                                "{ totalCount } }", id=campaign["id"])
        inactive = await api("{ vouchers(filter: {active: false}) { edges { node { code } } } }")
        held = await api("query($id: ID!) { vouchers(filter: {holderId: $id}) { totalCount } }",
                         id=customer["id"])

        assert by_campaign["vouchers"]["totalCount"] == 2
        assert inactive["vouchers"]["edges"] == [{"node": {"code": "LONE"}}]
        assert held["vouchers"]["totalCount"] == 0


class TestVoucherTenancy:
    async def test_other_project_cannot_see_or_change(self, api, make_tenant):
        voucher = await create_voucher(api, code="MINE")
        other = (await make_tenant("Other")).api

        assert (await other(VOUCHER_QUERY, code="MINE"))["voucher"] is None
        assert (await other(VOUCHER_QUERY, code=voucher["id"]))["voucher"] is None
        for mutation in (DISABLE_VOUCHER, DELETE_VOUCHER):
            assert error_codes(await mutate(other, mutation, code="MINE")) == [
                ("not_found", ["code"])
            ]
        # Codes are unique per project, not globally.
        await create_voucher(other, code="MINE")
        assert (await api(VOUCHER_QUERY, code="MINE"))["voucher"]["active"] is True

    async def test_publishable_key_is_forbidden(self, tenant):
        errors = await tenant.client_api.errors(CREATE_VOUCHER, input={"code": "X"})
        assert errors[0]["extensions"]["code"] == "FORBIDDEN"


class TestVoucherCounters:
    async def test_campaign_count_follows_creates_and_deletes(self, api):
        campaign = await create_campaign(api, type="STATIC", vouchersCount=2)
        await create_voucher(api, campaignId=campaign["id"], code="EXTRA")

        await mutate(api, DELETE_VOUCHER, code="EXTRA")
        first = (await api("query($id: ID!) { vouchers(first: 1, filter: {campaignId: $id}) "
                           "{ edges { node { code } } } }", id=campaign["id"]))
        await mutate(api, DELETE_VOUCHER, code=first["vouchers"]["edges"][0]["node"]["code"])

        data = await api("query($id: ID!) { campaign(id: $id) { vouchersCount } }",
                         id=campaign["id"])
        assert data["campaign"]["vouchersCount"] == 1

    async def test_gift_effect_changes_but_not_the_amount(self, api):
        await create_voucher(api, code="GC", type="GIFT_VOUCHER", gift={"amount": 100})

        payload = await mutate(api, UPDATE_VOUCHER, code="GC", gift={"effect": "APPLY_TO_ITEMS"})
        amount = await api("{ __type(name: \"GiftUpdateInput\") { inputFields { name } } }")

        assert payload["errors"] == []
        assert payload["voucher"]["gift"] == {"amount": 100, "balance": 100,
                                              "effect": "APPLY_TO_ITEMS"}
        assert [f["name"] for f in amount["__type"]["inputFields"]] == ["effect"]
