"""Amounts past 2^31 - 1 (IDR, VND, KRW carts) work end to end; amounts past 2^53 - 1 are
refused with `amount_too_large` and its field BEFORE anything is written, on every path that
takes an order (validateStack, redeemStack, qualifications)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.db.campaigns import Campaign
from app.db.customers import Customer
from app.db.events import Event
from app.db.orders import Order, OrderItem
from app.db.redemptions import Redemption, SessionReservation
from app.db.vouchers import Voucher, VoucherTransaction
from tests.stack import factories as f

MAX = 2**53 - 1

REDEEM = """mutation($i: RedeemStackInput!) { redeemStack(input: $i) {
  redemption { id result amount order { id amount totalAmount } }
  order { id amount totalDiscountAmount totalAmount items { price quantity amount } }
  validation { order { amount totalAmount } }
  errors { code field }
} }"""

VALIDATE = """query($i: StackInput!) { validateStack(input: $i) {
  valid order { amount totalAmount items { amount } } session { key } } }"""

QUALIFY = """query($i: QualificationInput!) { qualifications(input: $i) {
  totalCount edges { node { id order { amount totalAmount } } } } }"""

READ_ORDER = """query($id: ID!) { order(id: $id) {
  amount discountAmount totalDiscountAmount totalAmount
  items { price quantity amount discountAmount } } }"""

TABLES = {
    "redemptions": Redemption, "orders": Order, "order_items": OrderItem, "events": Event,
    "ledger": VoucherTransaction, "customers": Customer, "reservations": SessionReservation,
}


async def counts(db: Any, project_id: str) -> dict[str, int]:
    async with db.read() as s:
        return {
            name: (await s.execute(
                sa.select(sa.func.count()).select_from(model)
                .where(model.project_id == project_id)
            )).scalar_one()
            for name, model in TABLES.items()
        }


async def set_row(db: Any, model: Any, row_id: str, **values: Any) -> None:
    async with db.write() as s:
        await s.execute(sa.update(model).where(model.id == row_id).values(**values))


def one_line(price: int, quantity: int = 1, **extra: Any) -> dict[str, Any]:
    return {"items": [{"sourceId": "x", "price": price, "quantity": quantity, **extra}]}


def refused(errors: list[dict[str, Any]]) -> tuple[str, Any]:
    assert len(errors) == 1, errors
    return errors[0]["extensions"]["code"], errors[0]["extensions"].get("field")


class TestBeyond32Bits:
    async def test_redeem_of_a_4_billion_order_commits_and_reads_back(self, tenant, db) -> None:
        # Issue 12 item 4: this committed and then answered "Int cannot represent …".
        await f.voucher(db, tenant.project_id, "OFF500",
                        discount={"type": "AMOUNT", "amount_off": 500})
        data = (await tenant.api(REDEEM, i={
            "redeemables": [{"object": "VOUCHER", "id": "OFF500"}],
            "order": one_line(2_000_000_000, 2),
        }))["redeemStack"]

        assert data["errors"] == []
        assert data["order"]["amount"] == 4_000_000_000
        assert data["order"]["totalAmount"] == 3_999_999_500
        assert data["order"]["items"] == [
            {"price": 2_000_000_000, "quantity": 2, "amount": 4_000_000_000}
        ]
        assert data["redemption"]["order"] == {
            "id": data["order"]["id"], "amount": 4_000_000_000, "totalAmount": 3_999_999_500,
        }
        stored = (await tenant.api(READ_ORDER, id=data["order"]["id"]))["order"]
        assert stored == {
            "amount": 4_000_000_000, "discountAmount": 500, "totalDiscountAmount": 500,
            "totalAmount": 3_999_999_500,
            "items": [{"price": 2_000_000_000, "quantity": 2, "amount": 4_000_000_000,
                       "discountAmount": 0}],
        }

    async def test_percent_of_an_amount_near_the_limit_is_exact(self, tenant, db) -> None:
        await f.voucher(db, tenant.project_id, "TEN",
                        discount={"type": "PERCENT", "percent_off": 10})
        data = (await tenant.api(VALIDATE, i={
            "redeemables": [{"object": "VOUCHER", "id": "TEN"}], "order": one_line(MAX),
        }))["validateStack"]
        assert data["order"]["amount"] == MAX
        # 10% of 9,007,199,254,740,991 = 900,719,925,474,099.1 → 900,719,925,474,099
        assert data["order"]["totalAmount"] == MAX - 900_719_925_474_099


class TestRefusedBeforeWriting:
    async def test_redeem_beyond_the_limit_writes_nothing(self, tenant, db) -> None:
        await f.voucher(db, tenant.project_id, "OFF500",
                        discount={"type": "AMOUNT", "amount_off": 500})
        product = (await tenant.api(
            'mutation { createProduct(input: {name: "Big", sourceId: "big", '
            'price: 4503599627370496}) { product { id } } }'))["createProduct"]["product"]
        before = await counts(db, tenant.project_id)
        cases = [
            (one_line(2**52, 2), ["order", "items", "0"]),  # price × quantity
            ({"items": [{"sourceId": "a", "price": 2**52, "quantity": 1},
                        {"sourceId": "b", "price": 2**52, "quantity": 1}]},
             ["order", "items"]),  # the sum of the lines
            ({"items": [{"productId": product["id"], "quantity": 2}]},
             ["order", "items", "0"]),  # a catalog price × quantity
            ({"amount": 10, "items": [{"sourceId": "a", "quantity": 1, "amount": MAX},
                                      {"sourceId": "b", "quantity": 1, "amount": 1}]},
             ["order", "items"]),  # lines must add up even when the amount is given
        ]
        for order, field in cases:
            errors = await tenant.api.errors(REDEEM, i={
                "redeemables": [{"object": "VOUCHER", "id": "OFF500"}], "order": order,
                "customer": {"sourceId": "c1"},
            })
            assert refused(errors) == ("amount_too_large", field), order
            assert errors[0]["message"].endswith(
                "is beyond the largest amount, 9,007,199,254,740,991 minor units (2^53 - 1)")
        assert await counts(db, tenant.project_id) == before

    async def test_validate_and_lock_session_refuse_too(self, tenant, db) -> None:
        await f.voucher(db, tenant.project_id, "OFF500",
                        discount={"type": "AMOUNT", "amount_off": 500})
        before = await counts(db, tenant.project_id)
        for session in (None, {"key": "ssn_big"}):
            errors = await tenant.api.errors(VALIDATE, i={
                "redeemables": [{"object": "VOUCHER", "id": "OFF500"}],
                "order": one_line(2**52, 3), "session": session,
            })
            assert refused(errors) == ("amount_too_large", ["order", "items", "0"])
        assert await counts(db, tenant.project_id) == before

    async def test_free_units_that_push_the_order_past_the_limit(self, tenant, db) -> None:
        big = (await tenant.api(
            'mutation { createProduct(input: {name: "Big", sourceId: "big", '
            'price: 4503599627370496}) { product { id } } }'))["createProduct"]["product"]["id"]
        await f.voucher(db, tenant.project_id, "FREEBIG", discount={
            "type": "UNIT", "effect": "ADD_NEW_ITEMS", "unit_off": 1, "unit_type": big,
        })
        order = {"items": [{"productId": big, "quantity": 1},
                           {"sourceId": "x", "price": 2**52 - 1, "quantity": 1}]}
        # the cart alone is exactly the largest amount: fine
        alone = await tenant.api(VALIDATE, i={
            "redeemables": [{"object": "VOUCHER", "id": "NOPE"}], "order": order})
        assert alone["validateStack"]["order"]["amount"] == MAX
        before = await counts(db, tenant.project_id)
        for query in (VALIDATE, REDEEM):
            errors = await tenant.api.errors(query, i={
                "redeemables": [{"object": "VOUCHER", "id": "FREEBIG"}], "order": order})
            assert refused(errors) == ("amount_too_large", ["order", "items", "0"])
        errors = await tenant.api.errors(QUALIFY, i={"order": order})  # priced alone there
        assert refused(errors) == ("amount_too_large", ["order", "items", "0"])
        assert await counts(db, tenant.project_id) == before

    async def test_qualifications_refuse_oversize_orders(self, tenant, db) -> None:
        await f.voucher(db, tenant.project_id, "OFF500",
                        discount={"type": "AMOUNT", "amount_off": 500})
        ok = await tenant.api(QUALIFY, i={"order": one_line(2_000_000_000, 2)})
        assert ok["qualifications"]["edges"][0]["node"]["order"] == {
            "amount": 4_000_000_000, "totalAmount": 3_999_999_500}
        for order, field in [
            (one_line(2**52, 2), ["order", "items", "0"]),
            ({"items": [{"sourceId": "a", "quantity": 1, "amount": MAX},
                        {"sourceId": "b", "quantity": 1, "amount": 1}]},
             ["order", "items"]),
        ]:
            errors = await tenant.api.errors(QUALIFY, i={"order": order})
            assert refused(errors) == ("amount_too_large", field)


class TestRunningTotals:
    """Counters a redemption adds to: refused when one would pass the limit."""

    async def _redeem(self, tenant: Any, code: str, **extra: Any) -> list[dict[str, Any]]:
        return await tenant.api.errors(REDEEM, i={
            "redeemables": [{"object": "VOUCHER", "id": code}], "order": one_line(10_000),
            **extra,
        })

    async def test_campaign_discounted_and_orders_amounts(self, tenant, db) -> None:
        camp = await f.campaign(db, tenant.project_id)
        await f.voucher(db, tenant.project_id, "C1", campaign_id=camp.id,
                        discount={"type": "AMOUNT", "amount_off": 500})
        before = await counts(db, tenant.project_id)
        await set_row(db, Campaign, camp.id, discounted_amount=MAX - 499)
        assert refused(await self._redeem(tenant, "C1")) == (
            "amount_too_large", ["redeemables", "0"])
        await set_row(db, Campaign, camp.id, discounted_amount=0, orders_amount=MAX - 9_999)
        assert refused(await self._redeem(tenant, "C1")) == (
            "amount_too_large", ["redeemables", "0"])
        assert await counts(db, tenant.project_id) == before
        await set_row(db, Campaign, camp.id, orders_amount=MAX - 10_000)  # exactly fits
        data = (await tenant.api(REDEEM, i={
            "redeemables": [{"object": "VOUCHER", "id": "C1"}], "order": one_line(10_000),
        }))["redeemStack"]
        assert data["errors"] == []
        stored = await tenant.api("query($id: ID!) { campaign(id: $id) { ordersAmount } }",
                                  id=camp.id)
        assert stored["campaign"]["ordersAmount"] == MAX

    async def test_code_redeemed_amount(self, tenant, db) -> None:
        v = await f.voucher(db, tenant.project_id, "V1",
                            discount={"type": "AMOUNT", "amount_off": 500})
        await set_row(db, Voucher, v.id, redeemed_amount=MAX - 499)
        before = await counts(db, tenant.project_id)
        assert refused(await self._redeem(tenant, "V1")) == (
            "amount_too_large", ["redeemables", "0"])
        assert await counts(db, tenant.project_id) == before
        assert (await tenant.api(
            '{ voucher(code: "V1") { redemption { redeemedQuantity redeemedAmount } } }'
        ))["voucher"]["redemption"] == {"redeemedQuantity": 0, "redeemedAmount": MAX - 499}

    async def test_tier_totals(self, tenant, db) -> None:
        camp = await f.campaign(db, tenant.project_id, campaign_type="PROMOTION")
        tier = await f.tier(db, tenant.project_id, camp.id,
                            discount={"type": "AMOUNT", "amount_off": 500})
        from app.db.campaigns import PromotionTier

        await set_row(db, PromotionTier, tier.id, orders_amount=MAX)
        before = await counts(db, tenant.project_id)
        errors = await tenant.api.errors(REDEEM, i={
            "redeemables": [{"object": "PROMOTION_TIER", "id": tier.id}],
            "order": one_line(10_000),
        })
        assert refused(errors) == ("amount_too_large", ["redeemables", "0"])
        assert await counts(db, tenant.project_id) == before

    async def test_customer_orders_amount(self, tenant, db) -> None:
        await f.voucher(db, tenant.project_id, "K1",
                        discount={"type": "AMOUNT", "amount_off": 500})
        created = await tenant.api(
            'mutation { createCustomer(input: {sourceId: "whale"}) { customer { id } } }')
        customer_id = created["createCustomer"]["customer"]["id"]
        await set_row(db, Customer, customer_id, orders_amount=MAX - 9_999)
        before = await counts(db, tenant.project_id)
        errors = await self._redeem(tenant, "K1", customer={"sourceId": "whale"})
        assert refused(errors) == ("amount_too_large", ["order", "amount"])
        assert await counts(db, tenant.project_id) == before
