"""redeemStack / rollbackRedemption through the HTTP API: atomic, exact, idempotent."""

from __future__ import annotations

import asyncio

from tests.stack import factories as f

REDEEM = """mutation($i: RedeemStackInput!) { redeemStack(input: $i) {
  redemption { id result status amount failureCode customerId orderId
    children { id voucherId promotionTierId amount gift { amount } status } }
  redemptions { id voucherId amount }
  order { id status amount totalAmount customerId }
  validation { valid order { totalAmount discountAmount } }
  errors { code message field }
} }"""

ROLLBACK = """mutation($i: RollbackInput!) { rollbackRedemption(input: $i) {
  redemption { id status children { status } }
  rollbacks { amount giftCredits }
  order { id status totalAmount }
  errors { code }
} }"""

VOUCHER_STATE = """query($id: ID!) { redemptions(filter: {voucherId: $id}) { totalCount } }"""

CART = {"items": [{"sourceId": "tee", "quantity": 2, "price": 2000},
                  {"sourceId": "cap", "quantity": 1, "price": 1000}]}


async def voucher_row(db, voucher_id):  # type: ignore[no-untyped-def]
    from app.db.vouchers import Voucher

    async with db.read() as s:
        return await s.get(Voucher, voucher_id)


class TestRedeemStack:
    async def test_redeem_writes_parent_children_order_and_counters(self, tenant, db) -> None:
        camp = await f.campaign(db, tenant.project_id)
        v = await f.voucher(db, tenant.project_id, "SAVE5", campaign_id=camp.id, quantity=3,
                            discount={"type": "AMOUNT", "amount_off": 500})
        g = await f.voucher(db, tenant.project_id, "CARD", gift=2000)
        data = (await tenant.api(REDEEM, i={
            "redeemables": [{"object": "VOUCHER", "id": "SAVE5"},
                            {"object": "VOUCHER", "id": "CARD", "gift": {"credits": 1500}}],
            "order": {**CART, "sourceId": "order-1"},
            "customer": {"sourceId": "alice", "email": "alice@example.com"},
        }))["redeemStack"]
        assert data["errors"] == []
        parent = data["redemption"]
        assert parent["result"] == "SUCCESS" and parent["amount"] == 2000
        assert [(c["voucherId"], c["amount"], c["gift"]) for c in parent["children"]] == [
            (v.id, 500, None), (g.id, 1500, {"amount": 1500}),
        ]
        assert data["order"]["status"] == "PAID"
        assert data["order"]["amount"] == 5000 and data["order"]["totalAmount"] == 3000
        assert data["order"]["customerId"] == parent["customerId"]

        assert (await voucher_row(db, v.id)).redeemed_quantity == 1
        card = await voucher_row(db, g.id)
        assert card.gift_balance == 500
        customer = await tenant.api('{ customer(sourceId: "alice") { id email } }')
        assert customer["customer"]["email"] == "alice@example.com"
        order = await tenant.api('{ order(sourceId: "order-1") { id amount } }')
        assert order["order"]["id"] == data["order"]["id"]

    async def test_nothing_applicable_stores_a_failure(self, tenant, db) -> None:
        await f.voucher(db, tenant.project_id, "OFF", active=False,
                        discount={"type": "AMOUNT", "amount_off": 100})
        data = (await tenant.api(REDEEM, i={
            "redeemables": [{"object": "VOUCHER", "id": "OFF"}], "order": CART,
        }))["redeemStack"]
        assert data["errors"][0]["code"] == "voucher_disabled"
        assert data["redemption"]["result"] == "FAILURE"
        assert data["redemption"]["failureCode"] == "voucher_disabled"
        assert data["redemptions"] == []
        listed = await tenant.api('{ redemptions(filter: {result: FAILURE}) { totalCount } }')
        assert listed["redemptions"]["totalCount"] == 1

    async def test_all_mode_spends_nothing_when_one_fails(self, tenant, db) -> None:
        v = await f.voucher(db, tenant.project_id, "GOOD",
                            discount={"type": "AMOUNT", "amount_off": 100})
        data = (await tenant.api(REDEEM, i={
            "redeemables": [{"object": "VOUCHER", "id": "GOOD"},
                            {"object": "VOUCHER", "id": "MISSING"}],
            "order": CART,
        }))["redeemStack"]
        assert data["errors"][0]["code"] == "not_found"
        assert data["validation"]["valid"] is False
        assert (await voucher_row(db, v.id)).redeemed_quantity == 0

    async def test_idempotent_replay_and_reuse(self, tenant, db) -> None:
        v = await f.voucher(db, tenant.project_id, "ONCE", quantity=10,
                            discount={"type": "AMOUNT", "amount_off": 100})
        ask = {"redeemables": [{"object": "VOUCHER", "id": "ONCE"}], "order": CART,
               "idempotencyKey": "checkout-1"}
        first = await tenant.api(REDEEM, i=ask)
        again = await tenant.api(REDEEM, i=ask)
        assert first == again
        assert (await voucher_row(db, v.id)).redeemed_quantity == 1
        other = await tenant.api(REDEEM, i={**ask, "metadata": {"x": 1}})
        assert other["redeemStack"]["errors"][0]["code"] == "idempotency_key_reused"

    async def test_publishable_key_needs_client_redeem(self, tenant, db) -> None:
        await f.voucher(db, tenant.project_id, "PUB", discount={"type": "AMOUNT", "amount_off": 1})
        ask = {"redeemables": [{"object": "VOUCHER", "id": "PUB"}], "order": CART}
        errors = await tenant.client_api.errors(REDEEM, i=ask)
        assert errors[0]["extensions"]["code"] == "FORBIDDEN"
        await tenant.api("mutation { updateProject(input: {clientRedeemEnabled: true}) "
                         "{ errors { code } } }")
        data = await tenant.client_api(REDEEM, i=ask)
        assert data["redeemStack"]["errors"] == []


class TestRollback:
    async def test_rollback_restores_counters_credits_and_cancels_order(self, tenant, db) -> None:
        v = await f.voucher(db, tenant.project_id, "R1", quantity=1,
                            discount={"type": "AMOUNT", "amount_off": 700})
        g = await f.voucher(db, tenant.project_id, "RG", gift=1000)
        redeemed = (await tenant.api(REDEEM, i={
            "redeemables": [{"object": "VOUCHER", "id": "R1"},
                            {"object": "VOUCHER", "id": "RG", "gift": {"credits": 1000}}],
            "order": CART,
        }))["redeemStack"]
        parent_id = redeemed["redemption"]["id"]
        data = (await tenant.api(ROLLBACK, i={"redemptionId": parent_id, "reason": "refund"}))[
            "rollbackRedemption"]
        assert data["errors"] == []
        assert data["redemption"]["status"] == "ROLLED_BACK"
        assert [c["status"] for c in data["redemption"]["children"]] == ["ROLLED_BACK"] * 2
        assert sorted(r["amount"] for r in data["rollbacks"]) == [-1700, -1000, -700]
        assert data["order"]["status"] == "CANCELED" and data["order"]["totalAmount"] == 5000
        assert (await voucher_row(db, v.id)).redeemed_quantity == 0
        assert (await voucher_row(db, g.id)).gift_balance == 1000

        again = (await tenant.api(ROLLBACK, i={"redemptionId": parent_id}))["rollbackRedemption"]
        assert again["errors"] == [{"code": "already_rolled_back"}]
        child = redeemed["redemption"]["children"][0]["id"]
        assert (await tenant.api(ROLLBACK, i={"redemptionId": child}))["rollbackRedemption"][
            "errors"] == [{"code": "invalid_redemption_parent"}]
        # the code is usable again after the rollback freed its only use
        reuse = (await tenant.api(REDEEM, i={
            "redeemables": [{"object": "VOUCHER", "id": "R1"}], "order": CART,
        }))["redeemStack"]
        assert reuse["errors"] == []


class TestConcurrency:
    async def test_200_concurrent_redemptions_of_a_code_limited_to_50(self, tenant, db) -> None:
        v = await f.voucher(db, tenant.project_id, "HOT", quantity=50,
                            discount={"type": "AMOUNT", "amount_off": 100})
        ask = {"redeemables": [{"object": "VOUCHER", "id": "HOT"}], "order": CART}
        results = await asyncio.gather(*(tenant.api(REDEEM, i=ask) for _ in range(200)))
        payloads = [r["redeemStack"] for r in results]
        wins = [p for p in payloads if not p["errors"]]
        losses = [p for p in payloads if p["errors"]]
        assert len(wins) == 50
        assert {p["errors"][0]["code"] for p in losses} == {"quantity_exceeded"}
        assert len(losses) == 150
        assert (await voucher_row(db, v.id)).redeemed_quantity == 50
        children = await tenant.api(
            "query($v: ID!) { redemptions(filter: {voucherId: $v, result: SUCCESS}) "
            "{ totalCount } }", v=v.id,
        )
        assert children["redemptions"]["totalCount"] == 50

    async def test_50_concurrent_replays_of_one_key_make_one_redemption(self, tenant, db) -> None:
        v = await f.voucher(db, tenant.project_id, "REPLAY",
                            discount={"type": "AMOUNT", "amount_off": 100})
        ask = {"redeemables": [{"object": "VOUCHER", "id": "REPLAY"}], "order": CART,
               "idempotencyKey": "same"}
        results = await asyncio.gather(*(tenant.api(REDEEM, i=ask) for _ in range(50)))
        assert all(r == results[0] for r in results)
        assert (await voucher_row(db, v.id)).redeemed_quantity == 1

    async def test_concurrent_gift_spends_never_overdraw(self, tenant, db) -> None:
        g = await f.voucher(db, tenant.project_id, "SHARED", gift=5000)
        ask = {"redeemables": [{"object": "VOUCHER", "id": "SHARED", "gift": {"credits": 700}}],
               "order": CART}
        results = await asyncio.gather(*(tenant.api(REDEEM, i=ask) for _ in range(20)))
        wins = [r for r in results if not r["redeemStack"]["errors"]]
        assert len(wins) == 7  # 7 × 700 = 4900 ≤ 5000 < 8 × 700
        card = await voucher_row(db, g.id)
        assert card.gift_balance == 100
        import sqlalchemy as sa

        from app.db.vouchers import VoucherTransaction

        async with db.read() as s:
            total = (await s.execute(sa.select(sa.func.sum(VoucherTransaction.amount)).where(
                VoucherTransaction.voucher_id == g.id))).scalar_one()
        assert total == card.gift_balance
