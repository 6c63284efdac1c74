"""Redemptions on an existing order: earlier discounts accumulate, the new ones get what is
left, and rolling back one stack reverts only its share."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.stack import factories as f

REDEEM = """mutation($i: RedeemStackInput!) { redeemStack(input: $i) {
  redemption { id result status amount children { id amount status } }
  order { id status amount discountAmount itemsDiscountAmount totalDiscountAmount totalAmount
    items { index productId quantity amount discountAmount discountQuantity addedQuantity } }
  validation { valid
    redeemables { id status reason { code }
      order { discountAmount appliedDiscountAmount totalAmount } }
    order { amount discountAmount appliedDiscountAmount itemsDiscountAmount
      itemsAppliedDiscountAmount totalDiscountAmount totalAppliedDiscountAmount totalAmount
      items { index discountAmount appliedDiscountAmount subtotalAmount discountQuantity
        appliedDiscountQuantity } } }
  errors { code message field }
} }"""

VALIDATE = """query($i: StackInput!) { validateStack(input: $i) {
  valid
  redeemables { id status discount { appliedAmount } }
  order { amount discountAmount appliedDiscountAmount totalDiscountAmount
    totalAppliedDiscountAmount totalAmount
    items { index discountAmount appliedDiscountAmount subtotalAmount } }
} }"""

ROLLBACK = """mutation($i: RollbackInput!) { rollbackRedemption(input: $i) {
  order { id status amount discountAmount itemsDiscountAmount totalDiscountAmount totalAmount
    items { index quantity amount discountAmount discountQuantity addedQuantity } }
  errors { code }
} }"""

ORDER = """query($id: ID!) { order(id: $id) {
  status amount discountAmount itemsDiscountAmount totalDiscountAmount totalAmount
  items { index productId quantity amount discountAmount discountQuantity addedQuantity }
  redemptions { id result status parentId amount }
} }"""

CART = {"items": [{"sourceId": "desk", "quantity": 1, "price": 10000}]}


def coupon(code: str) -> dict[str, Any]:
    return {"object": "VOUCHER", "id": code}


async def amount_voucher(tenant: Any, db: Any, code: str, off: int, **discount: Any) -> Any:
    return await f.voucher(db, tenant.project_id, code,
                           discount={"type": "AMOUNT", "amount_off": off, **discount})


async def redeem(tenant: Any, *codes: str, **order: Any) -> dict[str, Any]:
    data = await tenant.api(REDEEM, i={"redeemables": [coupon(c) for c in codes],
                                       "order": order})
    return data["redeemStack"]


async def stored_order(tenant: Any, order_id: str) -> dict[str, Any]:
    return (await tenant.api(ORDER, id=order_id))["order"]


class TestAccumulate:
    async def test_issue_reproducer_second_coupon_gets_what_is_left(self, tenant, db) -> None:
        await amount_voucher(tenant, db, "BIG", 9200)
        await amount_voucher(tenant, db, "SMALL", 1000)
        first = await redeem(tenant, "BIG", **CART)
        assert first["errors"] == []
        order_id = first["order"]["id"]

        check = (await tenant.api(VALIDATE, i={"redeemables": [coupon("SMALL")],
                                              "order": {"id": order_id}}))["validateStack"]
        assert check["valid"] is True
        assert check["redeemables"][0]["discount"]["appliedAmount"] == 800
        assert {k: check["order"][k] for k in (
            "amount", "discountAmount", "appliedDiscountAmount", "totalDiscountAmount",
            "totalAppliedDiscountAmount", "totalAmount")} == {
            "amount": 10000, "discountAmount": 10000, "appliedDiscountAmount": 800,
            "totalDiscountAmount": 10000, "totalAppliedDiscountAmount": 800, "totalAmount": 0}

        second = await redeem(tenant, "SMALL", id=order_id)
        assert second["errors"] == []
        assert second["redemption"]["amount"] == 800
        assert [c["amount"] for c in second["redemption"]["children"]] == [800]
        calc = second["validation"]["order"]
        assert (calc["discountAmount"], calc["appliedDiscountAmount"], calc["totalAmount"]) == (
            10000, 800, 0)
        assert second["validation"]["redeemables"][0]["order"] == {
            "discountAmount": 10000, "appliedDiscountAmount": 800, "totalAmount": 0}
        assert (second["order"]["discountAmount"], second["order"]["totalAmount"]) == (10000, 0)

        stored = await stored_order(tenant, order_id)
        assert (stored["amount"], stored["discountAmount"], stored["totalDiscountAmount"],
                stored["totalAmount"], stored["status"]) == (10000, 10000, 10000, 0, "PAID")
        parents = [r for r in stored["redemptions"] if r["parentId"] is None]
        children = [r for r in stored["redemptions"] if r["parentId"] is not None]
        assert sorted(r["amount"] for r in parents) == [800, 9200]
        assert sorted(r["amount"] for r in children) == [800, 9200]
        assert {r["result"] for r in stored["redemptions"]} == {"SUCCESS"}

    async def test_by_source_id_and_the_same_cart_again(self, tenant, db) -> None:
        await amount_voucher(tenant, db, "A", 6000)
        await amount_voucher(tenant, db, "B", 6000)
        first = await redeem(tenant, "A", sourceId="web-1", **CART)
        assert first["errors"] == []
        # the storefront sends its whole cart again with the order's source id: same cart
        again = await redeem(tenant, "B", sourceId="web-1", **CART)
        assert again["errors"] == [] and again["redemption"]["amount"] == 4000
        assert again["order"]["id"] == first["order"]["id"]
        assert (again["order"]["discountAmount"], again["order"]["totalAmount"]) == (10000, 0)

    async def test_a_changed_cart_on_a_discounted_order_is_refused(self, tenant, db) -> None:
        await amount_voucher(tenant, db, "A", 1000)
        await amount_voucher(tenant, db, "B", 1000)
        first = await redeem(tenant, "A", sourceId="web-2", **CART)
        order_id = first["order"]["id"]
        changed = {"items": [{"sourceId": "desk", "quantity": 2, "price": 10000}]}
        errors = await tenant.api.errors(REDEEM, i={
            "redeemables": [coupon("B")], "order": {"sourceId": "web-2", **changed}})
        assert errors[0]["extensions"]["code"] == "invalid_order"
        assert errors[0]["extensions"]["field"] == ["order", "items"]
        errors = await tenant.api.errors(VALIDATE, i={
            "redeemables": [coupon("B")], "order": {"id": order_id, "amount": 20000}})
        assert errors[0]["extensions"]["code"] == "invalid_order"
        assert errors[0]["extensions"]["field"] == ["order", "amount"]
        stored = await stored_order(tenant, order_id)
        assert (stored["amount"], stored["discountAmount"], len(stored["redemptions"])) == (
            10000, 1000, 2)

    async def test_item_discounts_accumulate_per_line(self, tenant, db) -> None:
        product = (await tenant.api(
            'mutation { createProduct(input: {name: "Desk", sourceId: "desk-p", price: 10000})'
            " { product { id } } }"))["createProduct"]["product"]
        for code, off in (("ITEM7", 7000), ("ITEM5", 5000)):
            v = await amount_voucher(tenant, db, code, off, effect="APPLY_TO_ITEMS")
            await f.rule(db, tenant.project_id, v.id, "voucher", {}, applicable_to={
                "included": [{"object": "product", "id": product["id"]}]})
        cart = {"items": [{"productId": product["id"], "quantity": 1},
                          {"sourceId": "lamp", "quantity": 1, "price": 3000}]}
        first = await redeem(tenant, "ITEM7", **cart)
        assert first["errors"] == []
        second = await redeem(tenant, "ITEM5", id=first["order"]["id"])
        assert second["errors"] == []
        line = second["validation"]["order"]["items"][0]
        assert (line["discountAmount"], line["appliedDiscountAmount"], line["subtotalAmount"],
                line["discountQuantity"], line["appliedDiscountQuantity"]) == (
            10000, 3000, 0, 2, 1)
        calc = second["validation"]["order"]
        assert (calc["itemsDiscountAmount"], calc["itemsAppliedDiscountAmount"],
                calc["totalAmount"]) == (10000, 3000, 3000)
        stored = await stored_order(tenant, first["order"]["id"])
        assert [(i["discountAmount"], i["discountQuantity"]) for i in stored["items"]] == [
            (10000, 2), (0, 0)]
        assert (stored["itemsDiscountAmount"], stored["totalAmount"]) == (10000, 3000)

    async def test_concurrent_redemptions_on_one_order_never_exceed_it(self, tenant, db) -> None:
        codes = [f"C{i}" for i in range(6)]
        for code in codes:
            await amount_voucher(tenant, db, code, 3000)
        await amount_voucher(tenant, db, "OPEN", 1)
        order_id = (await redeem(tenant, "OPEN", **CART))["order"]["id"]
        results = await asyncio.gather(*(redeem(tenant, c, id=order_id) for c in codes))
        applied = sorted(r["redemption"]["amount"] for r in results if not r["errors"])
        assert sum(applied) == 9999  # 10000 - 1 already off: never more than the order
        assert applied[-3:] == [3000, 3000, 3000]
        stored = await stored_order(tenant, order_id)
        assert (stored["discountAmount"], stored["totalAmount"]) == (10000, 0)


class TestRollbackOnASharedOrder:
    async def _two_stacks(self, tenant: Any, db: Any) -> tuple[str, str, str]:
        await amount_voucher(tenant, db, "FIRST", 9200)
        await amount_voucher(tenant, db, "SECOND", 1000)
        first = await redeem(tenant, "FIRST", **CART)
        second = await redeem(tenant, "SECOND", id=first["order"]["id"])
        assert second["errors"] == []
        return first["order"]["id"], first["redemption"]["id"], second["redemption"]["id"]

    async def test_rolling_back_one_stack_keeps_the_others_share(self, tenant, db) -> None:
        order_id, first, second = await self._two_stacks(tenant, db)
        data = (await tenant.api(ROLLBACK, i={"redemptionId": first}))["rollbackRedemption"]
        assert data["errors"] == []
        # WITH_ORDER (default) with a live redemption left: its 800 stays, status stays PAID
        assert (data["order"]["status"], data["order"]["discountAmount"],
                data["order"]["totalDiscountAmount"], data["order"]["totalAmount"]) == (
            "PAID", 800, 800, 9200)
        stored = await stored_order(tenant, order_id)
        assert (stored["status"], stored["discountAmount"], stored["totalAmount"]) == (
            "PAID", 800, 9200)
        # the last live stack rolled back: the order is canceled and carries no discount
        last = (await tenant.api(ROLLBACK, i={"redemptionId": second}))["rollbackRedemption"]
        assert (last["order"]["status"], last["order"]["discountAmount"],
                last["order"]["totalAmount"]) == ("CANCELED", 0, 10000)

    async def test_later_stack_rolled_back_first(self, tenant, db) -> None:
        order_id, _, second = await self._two_stacks(tenant, db)
        data = (await tenant.api(ROLLBACK, i={"redemptionId": second}))["rollbackRedemption"]
        assert (data["order"]["status"], data["order"]["discountAmount"],
                data["order"]["totalAmount"]) == ("PAID", 9200, 800)
        # and the freed 800 can be discounted again
        await amount_voucher(tenant, db, "THIRD", 500)
        third = await redeem(tenant, "THIRD", id=order_id)
        assert third["redemption"]["amount"] == 500
        assert third["order"]["totalAmount"] == 300

    async def test_without_order_mode_keeps_the_order(self, tenant, db) -> None:
        await tenant.api("mutation { updateStackingRules(input: "
                         "{redeemablesRollbackOrderMode: WITHOUT_ORDER}) { errors { code } } }")
        order_id, first, _ = await self._two_stacks(tenant, db)
        data = (await tenant.api(ROLLBACK, i={"redemptionId": first}))["rollbackRedemption"]
        assert (data["order"]["status"], data["order"]["discountAmount"],
                data["order"]["totalAmount"]) == ("PAID", 10000, 0)

    async def test_item_share_and_added_units_are_reverted(self, tenant, db) -> None:
        mug = (await tenant.api(
            'mutation { createProduct(input: {name: "Mug", sourceId: "mug", price: 1500}) '
            "{ product { id } } }"))["createProduct"]["product"]["id"]
        await f.voucher(db, tenant.project_id, "MUG", discount={
            "type": "UNIT", "effect": "ADD_NEW_ITEMS",
            "units": [{"unit_off": 1, "unit_type": mug, "price": 1500}]})
        await amount_voucher(tenant, db, "TEN", 1000)
        first = await redeem(tenant, "TEN", **CART)
        order_id = first["order"]["id"]
        gift = await redeem(tenant, "MUG", id=order_id)
        assert gift["errors"] == []
        assert (gift["order"]["amount"], gift["order"]["totalAmount"]) == (11500, 9000)
        mug_line = gift["order"]["items"][1]
        assert (mug_line["productId"], mug_line["quantity"], mug_line["addedQuantity"],
                mug_line["discountAmount"]) == (mug, 1, 1, 1500)

        data = (await tenant.api(ROLLBACK, i={"redemptionId": gift["redemption"]["id"]}))[
            "rollbackRedemption"]
        order = data["order"]
        assert (order["status"], order["amount"], order["discountAmount"],
                order["itemsDiscountAmount"], order["totalAmount"]) == ("PAID", 10000, 1000, 0,
                                                                         9000)
        assert [(i["quantity"], i["amount"], i["discountAmount"], i["addedQuantity"])
                for i in order["items"]] == [(1, 10000, 0, 0), (0, 0, 0, 0)]
