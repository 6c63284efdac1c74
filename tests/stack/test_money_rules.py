"""Money rules through the API: bundle limits, shipping, category kinds, context-only lines
without a price, unknown promotion stacks."""

from __future__ import annotations

from typing import Any

import pytest

from tests.stack import factories as f

VALIDATE = """query($i: StackInput!) { validateStack(input: $i) {
  valid
  redeemables { object id status reason { code message details }
    discount { type unitOff unitType appliedAmount } }
  order { amount discountAmount itemsDiscountAmount totalDiscountAmount totalAmount
    items { index productId sourceId quantity price amount discountAmount
      discountQuantity subtotalAmount } }
} }"""

REDEEM = """mutation($i: RedeemStackInput!) { redeemStack(input: $i) {
  redemption { id result failureCode amount }
  order { id amount totalDiscountAmount totalAmount
    items { index productId sourceId relatedObject quantity price amount discountAmount } }
  errors { code message field }
} }"""

QUALIFY = """query($i: QualificationInput!) { qualifications(input: $i) {
  totalCount edges { node { id order { totalAmount totalAppliedDiscountAmount } } }
} }"""

REDEMPTION_COUNT = "{ redemptions { totalCount } }"
SHIPPING = "prod_5h1pp1ng"
FREE_SHIPPING = {"type": "UNIT", "unit_off": 1, "unit_type": SHIPPING,
                 "effect": "ADD_MISSING_ITEMS"}
TEES = {"sourceId": "tee", "quantity": 2, "price": 2000}


def voucher_ref(code: str) -> dict[str, Any]:
    return {"object": "VOUCHER", "id": code}


async def product(api: Any, name: str, price: int) -> str:
    data = await api(
        "mutation($i: CreateProductInput!) { createProduct(input: $i) "
        "{ product { id } errors { code } } }",
        i={"name": name, "sourceId": name.lower(), "price": price},
    )
    return str(data["createProduct"]["product"]["id"])


class TestBundleLimits:
    async def test_quantity_limit_multiplied_by_bundles(self, tenant, db) -> None:
        # Bundle Laptop + Bag (limit 2); cart 2 laptops, 2 bags, 3 mice; 2000 off each mouse,
        # quantityLimit 1: two complete bundles discount two mice.
        api = tenant.api
        laptop = await product(api, "Laptop", 300000)
        bag = await product(api, "Bag", 10000)
        mouse = await product(api, "Mouse", 5000)
        v = await f.voucher(db, tenant.project_id, "MICE", discount={
            "type": "AMOUNT", "amount_off": 2000, "effect": "APPLY_TO_ITEMS_BY_QUANTITY"})
        await f.rule(
            db, tenant.project_id, v.id, "voucher", {},
            applicable_to={"included": [{"object": "product", "id": mouse, "quantity_limit": 1}]},
            bundle_rules={"items": [{"object": "product", "id": laptop, "quantity": 1},
                                    {"object": "product", "id": bag, "quantity": 1}],
                          "limit": 2},
        )
        cart = {"items": [{"productId": laptop, "quantity": 2},
                          {"productId": bag, "quantity": 2},
                          {"productId": mouse, "quantity": 3}]}
        result = (await api(VALIDATE, i={"redeemables": [voucher_ref("MICE")], "order": cart}))[
            "validateStack"]
        assert result["redeemables"][0]["discount"]["appliedAmount"] == 4000
        assert [i["discountAmount"] for i in result["order"]["items"]] == [0, 0, 4000]
        assert result["order"]["items"][2]["discountQuantity"] == 2
        assert result["order"]["totalAmount"] == 620000 + 15000 - 4000
        one = {"items": [cart["items"][0] | {"quantity": 1}, *cart["items"][1:]]}
        single = (await api(VALIDATE, i={"redeemables": [voucher_ref("MICE")], "order": one}))[
            "validateStack"]
        assert single["redeemables"][0]["discount"]["appliedAmount"] == 2000


class TestShipping:
    async def test_free_shipping_on_the_shipping_line(self, tenant, db) -> None:
        await f.voucher(db, tenant.project_id, "SHIPFREE", discount=FREE_SHIPPING)
        order = {"items": [TEES, {"productId": SHIPPING, "quantity": 1, "price": 700}]}
        result = (await tenant.api(VALIDATE, i={
            "redeemables": [voucher_ref("SHIPFREE")], "order": order}))["validateStack"]
        assert result["valid"] is True
        assert result["redeemables"][0]["discount"] == {
            "type": "UNIT", "unitOff": 1, "unitType": SHIPPING, "appliedAmount": 700}
        ship = result["order"]["items"][1]
        assert (ship["productId"], ship["sourceId"], ship["price"], ship["discountAmount"],
                ship["subtotalAmount"]) == (SHIPPING, "5h1pp1ng", 700, 700, 0)
        assert (result["order"]["amount"], result["order"]["itemsDiscountAmount"],
                result["order"]["totalAmount"]) == (4700, 700, 4000)

    async def test_shipping_discount_type_created_through_the_api(self, tenant) -> None:
        created = await tenant.api(
            "mutation($i: CreateVoucherInput!) { createVoucher(input: $i) "
            "{ voucher { code discount { type unitOff unitType } } errors { code field } } }",
            i={"code": "SHIPIT", "discount": {"type": "SHIPPING"}},
        )
        assert created["createVoucher"]["errors"] == []
        order = {"items": [TEES, {"sourceId": "5h1pp1ng", "quantity": 1, "price": 990}]}
        result = (await tenant.api(VALIDATE, i={
            "redeemables": [voucher_ref("SHIPIT")], "order": order}))["validateStack"]
        assert result["redeemables"][0]["discount"] == {
            "type": "SHIPPING", "unitOff": 1, "unitType": SHIPPING, "appliedAmount": 990}
        assert result["order"]["items"][1]["productId"] == SHIPPING
        assert result["order"]["totalAmount"] == 4000

    async def test_redeem_stores_the_shipping_line_and_it_stays_free(self, tenant, db) -> None:
        await f.voucher(db, tenant.project_id, "SHIP1", discount=FREE_SHIPPING)
        await f.voucher(db, tenant.project_id, "SHIP2", discount={"type": "SHIPPING"})
        await f.voucher(db, tenant.project_id, "TEN", discount={"type": "AMOUNT",
                                                                "amount_off": 1000})
        order = {"items": [TEES, {"productId": SHIPPING, "quantity": 1, "price": 700}]}
        first = (await tenant.api(REDEEM, i={
            "redeemables": [voucher_ref("TEN"), voucher_ref("SHIP1")], "order": order}))[
            "redeemStack"]
        assert first["errors"] == []
        assert first["redemption"]["amount"] == 1700
        ship = first["order"]["items"][1]
        assert (ship["productId"], ship["relatedObject"], ship["price"],
                ship["discountAmount"]) == (SHIPPING, "shipping", 700, 700)
        assert first["order"]["totalAmount"] == 3000
        stored = (await tenant.api(
            'query($id: ID!) { order(id: $id) { totalAmount items { productId relatedObject '
            "discountAmount } } }", id=first["order"]["id"]))["order"]
        assert stored["items"][1] == {"productId": SHIPPING, "relatedObject": "shipping",
                                      "discountAmount": 700}
        # the stored shipping line is already free: another free-shipping code adds nothing
        again = (await tenant.api(VALIDATE, i={
            "redeemables": [voucher_ref("SHIP2")], "order": {"id": first["order"]["id"]}}))[
            "validateStack"]
        assert again["redeemables"][0]["discount"]["appliedAmount"] == 0
        assert again["order"]["totalAmount"] == 3000

    async def test_order_without_shipping_line_gets_none_added(self, tenant, db) -> None:
        await f.voucher(db, tenant.project_id, "SHIP", discount=FREE_SHIPPING)
        result = (await tenant.api(VALIDATE, i={
            "redeemables": [voucher_ref("SHIP")], "order": {"items": [TEES]}}))["validateStack"]
        assert result["redeemables"][0]["discount"]["appliedAmount"] == 0
        assert len(result["order"]["items"]) == 1 and result["order"]["totalAmount"] == 4000

    async def test_shipping_line_needs_its_price(self, tenant, db) -> None:
        await f.voucher(db, tenant.project_id, "SHIP", discount=FREE_SHIPPING)
        ask = {"redeemables": [voucher_ref("SHIP")],
               "order": {"items": [TEES, {"productId": SHIPPING, "quantity": 1}]}}
        for doc in (VALIDATE, REDEEM):
            errors = await tenant.api.errors(doc, i=ask)
            assert errors[0]["extensions"]["code"] == "missing_item_price"
            assert errors[0]["extensions"]["field"] == ["order", "items", "1", "price"]

    async def test_create_order_with_a_shipping_line(self, tenant) -> None:
        data = await tenant.api(
            "mutation($i: CreateOrderInput!) { createOrder(input: $i) { order { amount "
            "items { productId relatedObject price amount } } errors { code field } } }",
            i={"items": [TEES, {"productId": SHIPPING, "quantity": 1, "price": 500}]},
        )
        payload = data["createOrder"]
        assert payload["errors"] == []
        assert payload["order"]["amount"] == 4500
        assert payload["order"]["items"][1] == {
            "productId": SHIPPING, "relatedObject": "shipping", "price": 500, "amount": 500}

    async def test_qualifications_show_free_shipping(self, tenant, db) -> None:
        promo = await f.campaign(db, tenant.project_id, campaign_type="PROMOTION")
        tier = await f.tier(db, tenant.project_id, promo.id, discount=FREE_SHIPPING)
        order = {"items": [TEES, {"productId": SHIPPING, "quantity": 1, "price": 650}]}
        data = (await tenant.api(QUALIFY, i={"order": order}))["qualifications"]
        assert [(e["node"]["id"], e["node"]["order"]) for e in data["edges"]] == [
            (tier.id, {"totalAmount": 4000, "totalAppliedDiscountAmount": 650})]


KINDS = {"common": None, "joint": "JOINT", "exclusive": "EXCLUSIVE"}


class TestCategoryKinds:
    @pytest.mark.parametrize(
        ("first", "second", "expected"),
        [
            ("common", "common", ["APPLICABLE", "APPLICABLE"]),
            ("common", "joint", ["APPLICABLE", "APPLICABLE"]),
            ("common", "exclusive", ["SKIPPED:exclusion_rules_not_met", "APPLICABLE"]),
            ("exclusive", "common", ["APPLICABLE", "SKIPPED:exclusion_rules_not_met"]),
            ("joint", "exclusive", ["APPLICABLE", "APPLICABLE"]),
            ("exclusive", "exclusive",
             ["APPLICABLE", "SKIPPED:applicable_exclusive_redeemables_limit_exceeded"]),
        ],
    )
    async def test_pairs(self, tenant, db, first: str, second: str, expected: list[str]) -> None:
        codes = []
        for position, kind in enumerate((first, second)):
            fields: dict[str, Any] = {"name": f"{kind}-{position}"}
            if KINDS[kind] is not None:
                fields["stackingRulesType"] = KINDS[kind]
            created = (await tenant.api(
                "mutation($i: CreateCategoryInput!) { createCategory(input: $i) "
                "{ category { id stackingRulesType } } }", i=fields))["createCategory"]["category"]
            assert created["stackingRulesType"] == KINDS[kind]
            code = f"{kind.upper()}{position}"
            await f.voucher(db, tenant.project_id, code, category_id=created["id"],
                            discount={"type": "AMOUNT", "amount_off": 100})
            codes.append(code)
        result = (await tenant.api(VALIDATE, i={
            "redeemables": [voucher_ref(c) for c in codes], "order": {"amount": 10000}}))[
            "validateStack"]
        assert [r["status"] + (f":{r['reason']['code']}" if r["reason"] else "")
                for r in result["redeemables"]] == expected
        applied = sum(1 for s in expected if s == "APPLICABLE")
        assert result["order"]["totalAmount"] == 10000 - 100 * applied


class TestContextOnlyLines:
    async def test_unknown_source_id_with_a_price_is_a_context_line(self, tenant, db) -> None:
        await f.voucher(db, tenant.project_id, "TEN", discount={"type": "PERCENT",
                                                                "percent_off": 10})
        result = (await tenant.api(VALIDATE, i={
            "redeemables": [voucher_ref("TEN")],
            "order": {"items": [{"sourceId": "ghost", "quantity": 2, "price": 1500},
                                {"sourceId": "ghost-2", "quantity": 1, "amount": 1000}]}}))[
            "validateStack"]
        assert result["valid"] is True
        assert (result["order"]["amount"], result["order"]["totalAmount"]) == (4000, 3600)

    async def test_unknown_source_id_without_price_is_not_found_everywhere(self, tenant,
                                                                           db) -> None:
        await f.voucher(db, tenant.project_id, "TEN", discount={"type": "AMOUNT",
                                                                "amount_off": 100})
        order = {"items": [TEES, {"sourceId": "ghost", "quantity": 1}]}
        path = ["order", "items", "1", "sourceId"]
        for doc in (VALIDATE, REDEEM):
            errors = await tenant.api.errors(doc, i={"redeemables": [voucher_ref("TEN")],
                                                     "order": order})
            assert errors[0]["extensions"]["code"] == "not_found"
            assert errors[0]["extensions"]["field"] == path
            assert "ghost" in errors[0]["message"]
        errors = await tenant.api.errors(QUALIFY, i={"order": order})
        assert errors[0]["extensions"]["reason"] == "not_found"
        assert errors[0]["extensions"]["field"] == path
        # an order amount does not make the line priced either
        errors = await tenant.api.errors(VALIDATE, i={
            "redeemables": [voucher_ref("TEN")], "order": {**order, "amount": 9000}})
        assert errors[0]["extensions"]["code"] == "not_found"
        assert (await tenant.api(REDEMPTION_COUNT))["redemptions"]["totalCount"] == 0

    async def test_catalog_source_id_without_price_takes_the_catalog_price(self, tenant,
                                                                          db) -> None:
        await product(tenant.api, "Known", 2500)
        await f.voucher(db, tenant.project_id, "TEN", discount={"type": "AMOUNT",
                                                                "amount_off": 100})
        result = (await tenant.api(VALIDATE, i={
            "redeemables": [voucher_ref("TEN")],
            "order": {"items": [{"sourceId": "known", "quantity": 2}]}}))["validateStack"]
        assert (result["order"]["amount"], result["order"]["totalAmount"]) == (5000, 4900)


class TestUnknownPromotionStack:
    async def test_validate_reports_not_found(self, tenant) -> None:
        result = (await tenant.api(VALIDATE, i={
            "redeemables": [{"object": "PROMOTION_STACK", "id": "stack_nope"}],
            "order": {"amount": 5000}}))["validateStack"]
        assert result["valid"] is False
        assert [(r["object"], r["id"], r["status"], r["reason"]["code"], r["reason"]["details"])
                for r in result["redeemables"]] == [
            ("PROMOTION_STACK", "stack_nope", "INAPPLICABLE", "not_found",
             "Cannot find promotion stack with id stack_nope")]
        assert result["order"]["totalAmount"] == 5000

    async def test_redeem_fails_like_an_unknown_code(self, tenant) -> None:
        ask = {"order": {"amount": 5000}}
        stack = (await tenant.api(REDEEM, i={
            "redeemables": [{"object": "PROMOTION_STACK", "id": "stack_nope"}], **ask}))[
            "redeemStack"]
        code = (await tenant.api(REDEEM, i={"redeemables": [voucher_ref("NOPE")], **ask}))[
            "redeemStack"]
        for payload in (stack, code):
            assert [e["code"] for e in payload["errors"]] == ["not_found"]
            assert payload["redemption"]["result"] == "FAILURE"
            assert payload["redemption"]["failureCode"] == "not_found"
            assert payload["order"] is None
        listed = await tenant.api('{ redemptions(filter: {result: FAILURE}) { totalCount } }')
        assert listed["redemptions"]["totalCount"] == 2
