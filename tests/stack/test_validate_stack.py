"""validateStack through the HTTP API: exact amounts, reasons, and no side effects."""

from __future__ import annotations

from tests.stack import factories as f

VALIDATE = """query($i: StackInput!) { validateStack(input: $i) {
  valid
  redeemables { object id status reason { code message validationRuleId }
    discount { type appliedAmount } gift { credits balance }
    order { discountAmount totalDiscountAmount totalAmount appliedDiscountAmount } }
  order { amount initialAmount discountAmount itemsDiscountAmount totalDiscountAmount
    totalAmount appliedDiscountAmount totalAppliedDiscountAmount
    items { index quantity amount discountAmount subtotalAmount } }
  session { key ttlSeconds }
} }"""

CART = {"items": [
    {"sourceId": "tee", "quantity": 2, "price": 2000},
    {"sourceId": "cap", "quantity": 1, "price": 1000},
]}


class TestValidateStack:
    async def test_percent_coupon_and_gift_card_stack(self, tenant, db) -> None:
        await f.voucher(
            db, tenant.project_id, "TEN", discount={"type": "PERCENT", "percent_off": 10}
        )
        await f.voucher(db, tenant.project_id, "GIFT", gift=3000)
        data = await tenant.api(VALIDATE, i={
            "redeemables": [
                {"object": "VOUCHER", "id": "TEN"},
                {"object": "VOUCHER", "id": "GIFT", "gift": {"credits": 2000}},
            ],
            "order": CART,
        })
        result = data["validateStack"]
        assert result["valid"] is True
        ten, gift = result["redeemables"]
        assert ten["status"] == "APPLICABLE" and ten["discount"]["appliedAmount"] == 500
        assert ten["order"]["totalAmount"] == 4500
        assert gift["gift"] == {"credits": 2000, "balance": 3000}
        assert result["order"]["amount"] == 5000
        assert result["order"]["discountAmount"] == 2500
        assert result["order"]["totalAmount"] == 2500
        assert result["session"] is None

    async def test_unknown_code_is_inapplicable_not_an_error(self, tenant) -> None:
        data = await tenant.api(VALIDATE, i={
            "redeemables": [{"object": "VOUCHER", "id": "NOPE"}], "order": CART,
        })
        result = data["validateStack"]
        assert result["valid"] is False
        assert result["redeemables"][0]["status"] == "INAPPLICABLE"
        assert result["redeemables"][0]["reason"]["code"] == "not_found"
        assert result["order"]["totalAmount"] == 5000

    async def test_order_rule_failure_names_the_rule(self, tenant, db) -> None:
        v = await f.voucher(
            db, tenant.project_id, "BIG", discount={"type": "AMOUNT", "amount_off": 700}
        )
        rule = await f.rule(db, tenant.project_id, v.id, "voucher", {
            "1": {"name": "order.amount", "conditions": {"$more_than": [10000]}},
            "logic": "1",
        }, error_message="Spend over 100")
        data = await tenant.api(VALIDATE, i={
            "redeemables": [{"object": "VOUCHER", "id": "BIG"}], "order": CART,
        })
        reason = data["validateStack"]["redeemables"][0]["reason"]
        assert reason == {"code": "order_rules_violated", "message": "Spend over 100",
                          "validationRuleId": rule.id}

    async def test_foreign_project_code_is_not_found(self, make_tenant, db) -> None:
        a, b = await make_tenant("A"), await make_tenant("B")
        await f.voucher(db, a.project_id, "MINE", discount={"type": "AMOUNT", "amount_off": 100})
        data = await b.api(VALIDATE, i={"redeemables": [{"object": "VOUCHER", "id": "MINE"}],
                                        "order": CART})
        assert data["validateStack"]["redeemables"][0]["reason"]["code"] == "not_found"

    async def test_publishable_key_may_validate(self, tenant, db) -> None:
        await f.voucher(db, tenant.project_id, "PK", discount={"type": "AMOUNT", "amount_off": 100})
        data = await tenant.client_api(VALIDATE, i={
            "redeemables": [{"object": "VOUCHER", "id": "PK"}], "order": CART,
        })
        assert data["validateStack"]["order"]["totalAmount"] == 4900


class TestRequestErrors:
    async def test_duplicates_empty_and_negative_credits(self, tenant) -> None:
        cases = [
            ([{"object": "VOUCHER", "id": "A"}, {"object": "VOUCHER", "id": "A"}],
             "duplicated_redeemables"),
            ([], "invalid_payload"),
            ([{"object": "VOUCHER", "id": "G", "gift": {"credits": -1}}], "invalid_payload"),
            ([{"object": "PROMOTION_STACK", "id": "stack_x"}, {"object": "VOUCHER", "id": "A"}],
             "invalid_redeemables"),
        ]
        for redeemables, code in cases:
            errors = await tenant.api.errors(
                VALIDATE, i={"redeemables": redeemables, "order": CART}
            )
            assert errors[0]["extensions"]["code"] == code, (redeemables, errors)

    async def test_negative_quantity_is_invalid_payload(self, tenant) -> None:
        errors = await tenant.api.errors(VALIDATE, i={
            "redeemables": [{"object": "VOUCHER", "id": "A"}],
            "order": {"items": [{"sourceId": "x", "quantity": -1, "price": 100}]},
        })
        assert errors[0]["extensions"]["code"] == "invalid_payload"
        assert errors[0]["extensions"]["field"] == ["order", "items", "0", "quantity"]


class TestRewardsAreNotSupportedYet:
    """An AMOUNT coupon sent with a reward was APPLICABLE and the reward dropped (issue 12,
    item 12): a reward is refused until loyalty gives it meaning."""

    async def test_validate_and_redeem_refuse_a_reward(self, tenant, db) -> None:
        await f.voucher(db, tenant.project_id, "TEN",
                        discount={"type": "AMOUNT", "amount_off": 1000})
        ask = {"redeemables": [{"object": "VOUCHER", "id": "TEN",
                                "reward": {"id": "rew_x", "points": 10}}], "order": CART}
        redeem = """mutation($i: RedeemStackInput!) { redeemStack(input: $i) {
          redemption { id } errors { code } } }"""

        for query in (VALIDATE, redeem):
            (error,) = await tenant.api.errors(query, i=ask)
            assert error["extensions"]["code"] == "not_supported", error
            assert error["extensions"]["field"] == ["redeemables", "0", "reward"]
        data = await tenant.api("{ redemptions { totalCount } orders { totalCount } }")
        assert data == {"redemptions": {"totalCount": 0}, "orders": {"totalCount": 0}}


class TestResultLinks:
    async def test_campaign_and_categories_resolve(self, tenant, db) -> None:
        created = await tenant.api(
            'mutation { createCategory(input: {name: "Weekly", hierarchy: 2}) '
            '{ category { id } } }')
        category = created["createCategory"]["category"]["id"]
        camp = await f.campaign(db, tenant.project_id, name="Autumn", category_id=category)
        await f.voucher(db, tenant.project_id, "LINKED", campaign_id=camp.id,
                        discount={"type": "AMOUNT", "amount_off": 250})
        data = await tenant.api("""query($i: StackInput!) { validateStack(input: $i) {
            redeemables { campaign { id name } categories { id name hierarchy }
              discount { type amountOff appliedAmount isDynamic itemIndices } } } }""", i={
            "redeemables": [{"object": "VOUCHER", "id": "LINKED"}], "order": CART})
        result = data["validateStack"]["redeemables"][0]
        assert result["campaign"] == {"id": camp.id, "name": "Autumn"}
        assert result["categories"] == [{"id": category, "name": "Weekly", "hierarchy": 2}]
        assert result["discount"] == {"type": "AMOUNT", "amountOff": 250, "appliedAmount": 250,
                                      "isDynamic": False, "itemIndices": []}
